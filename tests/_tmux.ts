/**
 * The terminal harness of the REPL tests: a detached tmux session on its own server socket,
 * typed into with `tmux send-keys` and read with `tmux capture-pane`.
 */
import { equal, fail } from "node:assert/strict";

/** The CLI entry the panes run. */
export const MAIN = new URL("../runtime/cli/main.ts", import.meta.url).pathname;
/** The repository's deno.json. */
export const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/** Runs one tmux command; fails the test with a hint when tmux is not installed. */
export async function tmux(...args: string[]): Promise<{ code: number; out: string }> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("tmux", { args, stdout: "piped", stderr: "piped" }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      fail(
        "Cannot run the chat REPL test: tmux is not installed (apt-get install tmux); " +
          "the interactive chat is tested in a real terminal under tmux",
      );
    }
    throw err;
  }
  const dec = new TextDecoder();
  return { code: output.code, out: dec.decode(output.stdout) + dec.decode(output.stderr) };
}

/** Quotes `s` for a POSIX shell. */
export const shq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** A tmux session running one command, with its own server socket so tests never collide. */
export class Pane {
  readonly socket: string;
  readonly name = "astrid";
  constructor(socket: string) {
    this.socket = socket;
  }
  async start(command: string, cwd: string): Promise<void> {
    const r = await tmux(
      "-S",
      this.socket,
      "new-session",
      "-d",
      "-x",
      "120",
      "-y",
      "40",
      "-s",
      this.name,
      "-c",
      cwd,
      command,
    );
    equal(r.code, 0, r.out);
  }
  /**
   * Starts `astrid chat` in `ws` with the home `home` and the replayed model at `modelUrl`, in an
   * empty environment; the shell keeps the pane open after astrid exits so `EXITED:<code>` can
   * be read. Returns once the prompt shows.
   */
  async startChat(home: string, ws: string, modelUrl: string): Promise<string> {
    const env = {
      ASTRID_HOME: home,
      HOME: home,
      ASTRID_SYSTEM_CONFIG: `${home}/none.toml`,
      ANTHROPIC_API_KEY: "test",
      ANTHROPIC_BASE_URL: modelUrl,
      NO_COLOR: "1",
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME") ?? "/root"}/.cache/deno`,
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    };
    const exports = Object.entries(env).map(([k, v]) => `${k}=${shq(v)}`).join(" ");
    const deno = `${shq(Deno.execPath())} run -A --quiet --config ${shq(CONFIG)} ${shq(MAIN)} chat`;
    await this.start(`env -i ${exports} ${deno}; echo "EXITED:$?"; sleep 60`, ws);
    return await this.waitFor(/› /);
  }
  /** Sends keys; `literal` text is typed as is, otherwise tmux key names (C-c, Enter). */
  async keys(keys: string, literal = false): Promise<void> {
    const r = await tmux(
      "-S",
      this.socket,
      "send-keys",
      "-t",
      this.name,
      ...(literal ? ["-l", keys] : [keys]),
    );
    equal(r.code, 0, r.out);
  }
  async type(line: string): Promise<void> {
    await this.keys(line, true);
    await this.keys("Enter");
  }
  async screen(): Promise<string> {
    const r = await tmux(
      "-S",
      this.socket,
      "capture-pane",
      "-p",
      "-J",
      "-S",
      "-200",
      "-t",
      this.name,
    );
    return r.out.replace(/\n+$/, ""); // the pane's unused rows are blank lines
  }
  /** Polls the screen until `pattern` shows up after `from` (bounded: fails after ~60 s). */
  async waitFor(pattern: RegExp, from = 0): Promise<string> {
    let last = "";
    for (let i = 0; i < 600; i++) {
      last = await this.screen();
      if (pattern.test(last.slice(from))) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    fail(`the screen never showed ${pattern}; it shows:\n${last}`);
  }
  async kill(): Promise<void> {
    await tmux("-S", this.socket, "kill-server");
  }
}
