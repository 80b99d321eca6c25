/**
 * Helpers the daemon tests share: whether a daemon process still runs, one JSON-RPC call to the
 * daemon of a home, and polling until the daemon's background work shows.
 *
 * @module
 */
import { connectDaemon } from "../runtime/daemon/client.ts";

/** True while `pid` runs (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /s.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}

/** One call of `method` to the daemon of `home`, on a connection opened and closed for it. */
export async function daemonCall<T>(
  home: string,
  method: string,
  params: unknown = {},
): Promise<T> {
  const client = await connectDaemon(home, "test");
  if (!client) throw new Error("no daemon");
  try {
    return await client.call<T>(method, params);
  } finally {
    client.close();
  }
}

/**
 * Polls `read` until `done` holds (the daemon works in the background) and returns the last value;
 * throws naming `what` after `ms` (a deadline for a hung test, not a timing assertion).
 */
export async function until<T>(
  what: string,
  read: () => Promise<T>,
  done: (v: T) => boolean,
  ms = 60_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
