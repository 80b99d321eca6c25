/**
 * An MCP {@link Transport} over a child process's stdin/stdout, spawned with `Deno.Command`:
 * no shell, a cleared environment (the caller passes the whole allowlisted env), stderr drained
 * into a bounded tail (a flooding server never blocks and never grows our memory), and a cap on
 * the length of one stdout line.
 *
 * @module
 */
import { type JSONRPCMessage, JSONRPCMessageSchema, type Transport } from "./_sdk.ts";
import { LineDecoder, TailBuffer } from "./_framing.ts";
import { McpError } from "./errors.ts";
import type { LaunchSpec } from "./spawn.ts";

/** Limits of one stdio connection. */
export interface StdioLimits {
  /** Longest accepted stdout line (default 16 MiB). */
  readonly maxLineBytes?: number;
  /** How much of stderr to keep for error messages (default 8 KiB). */
  readonly stderrTailBytes?: number;
  /** How long `close()` waits after closing stdin before SIGTERM, then SIGKILL (default 2 s). */
  readonly graceMs?: number;
}

/**
 * Speaks newline-delimited JSON-RPC to a child process.
 *
 * @example Talk to a process that exits at once
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { StdioProcessTransport } from "./stdio_transport.ts";
 * const t = new StdioProcessTransport({ executable: "/bin/sh", args: ["-c", "echo oops >&2"], env: {} });
 * const closed = new Promise<void>((r) => (t.onclose = r));
 * await t.start();
 * await closed;
 * ok(t.stderrTail().includes("oops"));
 * ```
 */
export class StdioProcessTransport implements Transport {
  /** Called when the process exits or the transport is closed. */
  onclose?: (() => void) | undefined;
  /** Called on a framing or parse error. */
  onerror?: ((error: Error) => void) | undefined;
  /** Called for every well-formed message. */
  onmessage?: ((message: JSONRPCMessage) => void) | undefined;

  #spec: LaunchSpec;
  #limits: Required<StdioLimits>;
  #child: Deno.ChildProcess | null = null;
  #writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  #stderr: TailBuffer;
  #status: Deno.CommandStatus | null = null;
  #exited: Promise<Deno.CommandStatus> | null = null;
  #closed = false;
  #encoder = new TextEncoder();

  /** Prepares (does not spawn) the process. */
  constructor(spec: LaunchSpec, limits: StdioLimits = {}) {
    this.#spec = spec;
    this.#limits = {
      maxLineBytes: limits.maxLineBytes ?? 16 * 1024 * 1024,
      stderrTailBytes: limits.stderrTailBytes ?? 8192,
      graceMs: limits.graceMs ?? 2000,
    };
    this.#stderr = new TailBuffer(this.#limits.stderrTailBytes);
  }

  /** The child's pid once started. */
  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  /** The exit status once the process has exited. */
  get exitStatus(): Deno.CommandStatus | null {
    return this.#status;
  }

  /** The last bytes the process wrote to stderr. */
  stderrTail(): string {
    return this.#stderr.text();
  }

  /** Spawns the process and starts reading its output. */
  start(): Promise<void> {
    if (this.#child) throw new Error("Cannot start the transport: it is already started");
    try {
      this.#child = new Deno.Command(this.#spec.executable, {
        args: [...this.#spec.args],
        env: this.#spec.env,
        clearEnv: true,
        ...(this.#spec.cwd !== undefined ? { cwd: this.#spec.cwd } : {}),
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (err) {
      throw new McpError(
        "START_FAILED",
        `Cannot start ${this.#spec.executable}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const child = this.#child;
    this.#writer = child.stdin.getWriter();
    this.#writer.closed.catch(() => {}); // a dead child's stdin rejects; reported via onclose
    const stdout = this.#readStdout(child.stdout);
    const stderr = this.#drain(child.stderr);
    this.#exited = child.status.then(async (status) => {
      this.#status = status;
      await Promise.allSettled([stdout, stderr]);
      this.#closed = true;
      this.onclose?.();
      return status;
    });
    return Promise.resolve();
  }

  async #readStdout(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new LineDecoder(this.#limits.maxLineBytes);
    try {
      for await (const chunk of stream) {
        let lines: string[];
        try {
          lines = decoder.push(chunk);
        } catch (err) {
          this.onerror?.(new McpError("PROTOCOL", (err as Error).message));
          this.#kill("SIGKILL");
          return;
        }
        for (const line of lines) this.#deliver(line);
      }
    } catch {
      // the pipe broke: the process is gone, and status reports it
    }
  }

  #deliver(line: string): void {
    if (line.trim() === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      this.onerror?.(
        new McpError(
          "PROTOCOL",
          `Cannot parse a line from the server as JSON: ${line.slice(0, 80)}`,
        ),
      );
      return;
    }
    const message = JSONRPCMessageSchema.safeParse(parsed);
    if (!message.success) {
      this.onerror?.(new McpError("PROTOCOL", "Cannot use a line from the server: not JSON-RPC"));
      return;
    }
    this.onmessage?.(message.data);
  }

  async #drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    try {
      for await (const chunk of stream) this.#stderr.push(chunk);
    } catch {
      // the pipe broke with the process
    }
  }

  /** Writes one message as a line to the child's stdin. */
  async send(message: JSONRPCMessage): Promise<void> {
    if (!this.#writer || this.#closed) {
      throw new McpError("SERVER_EXITED", "Cannot send to the server: its process has exited");
    }
    await this.#writer.write(this.#encoder.encode(JSON.stringify(message) + "\n"));
  }

  #kill(signal: Deno.Signal): void {
    try {
      this.#child?.kill(signal);
    } catch {
      // already gone
    }
  }

  /** Closes stdin, waits `graceMs`, then SIGTERM and finally SIGKILL; resolves once it exited. */
  async close(): Promise<void> {
    if (!this.#child || !this.#exited) return;
    if (this.#status) {
      await this.#exited;
      return;
    }
    await this.#writer?.close().catch(() => {});
    const exited = this.#exited;
    const waited = (ms: number) =>
      Promise.race([
        exited.then(() => true),
        new Promise<false>((r) => {
          const id = setTimeout(() => r(false), ms);
          exited.finally(() => clearTimeout(id));
        }),
      ]);
    if (await waited(this.#limits.graceMs)) return;
    this.#kill("SIGTERM");
    if (await waited(this.#limits.graceMs)) return;
    this.#kill("SIGKILL");
    await exited;
  }
}
