import { equal, match, ok } from "node:assert/strict";
import type { CliIo } from "./context.ts";
import { announceDeferrals, qrFor } from "./_deferral_link.ts";

function captured(isTty: boolean): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    env: {},
    cwd: "/",
    isTty,
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    out,
    err,
  };
}

Deno.test("announceDeferrals() prints nothing when no daemon runs for the home", async () => {
  const home = await Deno.makeTempDir();
  try {
    const io = captured(true);
    await announceDeferrals(io, home, ["a1", "a2"]);
    equal(io.out.join("") + io.err.join(""), "");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("announceDeferrals() does nothing for no ids", async () => {
  const io = captured(true);
  await announceDeferrals(io, "/nonexistent", []);
  equal(io.err.length, 0);
});

Deno.test("qrFor() draws with ANSI colours only when colour is allowed", async () => {
  const url = "http://127.0.0.1:4000/a/" + "x".repeat(43);
  const color = await qrFor(url, true);
  ok(color.includes("\x1b["), "ANSI colours");
  match(color, /[▀▄█]/);
  const plain = await qrFor(url, false);
  ok(!plain.includes("\x1b"), "no escape sequences under NO_COLOR");
  match(plain, /[▀▄█]/);
});
