/**
 * When an action is deferred while a daemon runs, the terminal shows a one-time approval link
 * per deferred id (`approvals.link`), with a QR code a phone can scan, and rings the bell.
 * With no daemon nothing extra is printed. Everything goes to stderr: stdout keeps only the
 * ids, as scripts expect.
 *
 * QR codes are drawn only on a terminal: with colour (`qrcode`'s `terminal` renderer, small)
 * unless NO_COLOR is set, then with plain block characters (`utf8`). Piped output gets the
 * link alone.
 *
 * @module
 */
import type { CliIo } from "./context.ts";

/** How long connecting to the daemon may take before the links are skipped. */
const CONNECT_TIMEOUT_MS = 2000;

/**
 * Draws `url` as a QR code for a terminal (`color`: ANSI colours allowed).
 *
 * @example Without colour, plain block characters
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { qrFor } from "./_deferral_link.ts";
 * ok(!(await qrFor("http://127.0.0.1:1/a/x", false)).includes("\x1b"));
 * ```
 */
export async function qrFor(url: string, color: boolean): Promise<string> {
  const { default: QRCode } = await import("qrcode");
  return await QRCode.toString(
    url,
    color ? { type: "terminal", small: true } : { type: "utf8", margin: 2 },
  ) as string;
}

function clock(at: number): string {
  return new Date(at).toTimeString().slice(0, 5);
}

/**
 * Prints a one-time approval link (and its QR code on a terminal) for each of `ids` when the
 * daemon of `home` runs; prints nothing when none runs or it cannot be reached.
 */
export async function announceDeferrals(
  io: CliIo,
  home: string,
  ids: readonly string[],
): Promise<void> {
  if (ids.length === 0) return;
  const { connectDaemon } = await import("../daemon/client.ts");
  const client = await connectDaemon(home, "cli:deferral", {
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
  }).catch(() => null);
  if (client === null) return;
  try {
    const color = io.env.NO_COLOR === undefined || io.env.NO_COLOR === "";
    for (const id of ids) {
      let link: { url: string; expiresAt: number };
      try {
        link = await client.call<{ url: string; expiresAt: number }>("approvals.link", { id });
      } catch (err) {
        io.stderr(`warning: no approval link for ${id}: ${(err as Error).message}\n`);
        continue;
      }
      io.stderr(
        `approve ${id} from a browser or phone (one use, until ${clock(link.expiresAt)}):\n` +
          `  ${link.url}\n`,
      );
      if (io.isTty) io.stderr(await qrFor(link.url, color));
    }
    if (io.isTty) io.stderr("\x07");
  } finally {
    client.close();
  }
}
