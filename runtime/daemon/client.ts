/**
 * A JSON-RPC client of the home's daemon, over `ws://…/rpc` with the bearer token: what the CLI
 * uses for `daemon status/stop/open` and to attach `chat` and friends to a running daemon.
 *
 * @module
 */
import { type DaemonInfo, findDaemon } from "./state.ts";
import { RpcError } from "./types.ts";

/** How long connecting may take. */
export const CONNECT_TIMEOUT_MS = 5000;
/** How long a call may take unless the caller says otherwise. */
export const CALL_TIMEOUT_MS = 30_000;

/** A connection to the daemon. */
export interface DaemonClient {
  readonly info: DaemonInfo;
  /** Calls `method`; rejects with {@link RpcError} for an error reply, or on timeout/close. */
  call<T = unknown>(method: string, params?: unknown, opts?: { timeoutMs?: number }): Promise<T>;
  /** Calls `fn` for every notification; returns the function that stops it. */
  onNotification(fn: (method: string, params: unknown) => void): () => void;
  /** Calls `fn` once when the connection closes (by either side). */
  onClose(fn: () => void): void;
  close(): void;
}

/**
 * Opens a WebSocket client on `url` (`http://…` or `ws://…`) with `token`.
 *
 * @example
 * ```ts ignore
 * const client = await openClient(info, token, "cli:test");
 * console.log(await client.call("status"));
 * client.close();
 * ```
 */
export async function openClient(
  info: DaemonInfo,
  token: string,
  clientName: string,
  opts: { readonly connectTimeoutMs?: number } = {},
): Promise<DaemonClient> {
  const wsUrl = `${info.url.replace(/^http/, "ws")}/rpc`;
  // Deno's WebSocket takes `{ headers }` (the DOM typings in deno.json's lib do not know it).
  const wsOptions = {
    headers: { Authorization: `Bearer ${token}`, "X-Astrid-Client": clientName },
  };
  const ws = new WebSocket(wsUrl, wsOptions as unknown as string[]);
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const listeners = new Set<(method: string, params: unknown) => void>();
  const closeListeners: (() => void)[] = [];
  let nextId = 1;
  let closed = false;

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.close();
      reject(
        new Deno.errors.TimedOut(
          `Cannot connect to the daemon at ${wsUrl}: no answer within ${
            opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS
          } ms`,
        ),
      );
    }, opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
    ws.onopen = () => {
      clearTimeout(timer);
      resolve();
    };
    ws.onerror = (e) => {
      clearTimeout(timer);
      const why = (e as ErrorEvent).message || "connection failed";
      reject(
        new Deno.errors.ConnectionRefused(`Cannot connect to the daemon at ${wsUrl}: ${why}`),
      );
    };
  });

  const failAll = (why: string) => {
    for (const p of pending.values()) p.reject(new Error(why));
    pending.clear();
  };
  ws.onerror = () => {};
  ws.onclose = () => {
    closed = true;
    failAll("Cannot finish the call: the daemon closed the connection");
    for (const fn of closeListeners.splice(0)) fn();
  };
  ws.onmessage = (e) => {
    if (typeof e.data !== "string") return;
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(e.data);
    } catch {
      return;
    }
    for (const one of Array.isArray(msg) ? msg : [msg]) {
      if (typeof one.method === "string" && one.id === undefined) {
        for (const fn of listeners) fn(one.method, one.params);
        continue;
      }
      const p = pending.get(one.id as number);
      if (!p) continue;
      pending.delete(one.id as number);
      if (one.error) {
        const err = one.error as { code: number; message: string; data?: unknown };
        p.reject(new RpcError(err.code, err.message, err.data));
      } else p.resolve(one.result);
    }
  };

  return {
    info,
    call<T>(method: string, params: unknown = {}, callOpts: { timeoutMs?: number } = {}) {
      if (closed) {
        return Promise.reject(new Error(`Cannot call ${method}: the connection is closed`));
      }
      const id = nextId++;
      const timeoutMs = callOpts.timeoutMs ?? CALL_TIMEOUT_MS;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(
            new Deno.errors.TimedOut(
              `Cannot finish ${method}: the daemon did not answer within ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
        pending.set(id, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v as T);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
      });
    },
    onNotification(fn) {
      listeners.add(fn);
      return () => void listeners.delete(fn);
    },
    onClose(fn) {
      if (closed) fn();
      else closeListeners.push(fn);
    },
    close() {
      if (!closed) ws.close(1000);
    },
  };
}

/**
 * Connects to the daemon of `home`, or returns null when none is running.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { connectDaemon } from "./client.ts";
 * equal(await connectDaemon(await Deno.makeTempDir(), "cli:test"), null);
 * ```
 */
export async function connectDaemon(
  home: string,
  clientName: string,
  opts: { readonly connectTimeoutMs?: number } = {},
): Promise<DaemonClient | null> {
  const found = await findDaemon(home);
  if (found === null) return null;
  return await openClient(found.info, found.token, clientName, opts);
}
