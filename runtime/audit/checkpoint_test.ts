import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { canonicalBytes, generateSeed, signerFromSeed, toBase64Url } from "../crypto/mod.ts";
import {
  type Checkpoint,
  checkpointBytes,
  signCheckpoint,
  verifyCheckpoint,
} from "./checkpoint.ts";

const signer = signerFromSeed(generateSeed());
const head = "cd".repeat(32);

Deno.test("signCheckpoint() output verifies and names the signer's key", async () => {
  const cp = await signCheckpoint(signer, 7, head, 1234);
  deepEqual([cp.v, cp.size, cp.head, cp.ts], [1, 7, head, 1234]);
  equal(cp.key.length, 64);
  equal(verifyCheckpoint(cp, signer.publicKey), null);
});

Deno.test("verifyCheckpoint() rejects every tampered field as BAD_CHECKPOINT", async () => {
  const cp = await signCheckpoint(signer, 7, head, 1234);
  const tampered: Checkpoint[] = [
    { ...cp, size: 8 },
    { ...cp, head: "ce".repeat(32) },
    { ...cp, ts: 1235 },
    { ...cp, sig: toBase64Url(new Uint8Array(64)) },
    { ...cp, sig: "!!" },
    { ...cp, sig: cp.sig.slice(0, -4) },
  ];
  for (const t of tampered) equal(verifyCheckpoint(t, signer.publicKey)?.code, "BAD_CHECKPOINT");
});

Deno.test("verifyCheckpoint() refuses a signature made for another domain", () => {
  const body = { v: 1 as const, size: 7, head, ts: 1, key: signerKeyHex() };
  const sig = toBase64Url(signer.sign(canonicalBytes("token", body)));
  equal(verifyCheckpoint({ ...body, sig }, signer.publicKey)?.code, "BAD_CHECKPOINT");
  const good = toBase64Url(signer.sign(checkpointBytes(body)));
  equal(verifyCheckpoint({ ...body, sig: good }, signer.publicKey), null);
});

Deno.test("verifyCheckpoint() checks the key before the signature", async () => {
  const other = signerFromSeed(generateSeed());
  const cp = await signCheckpoint(other, 1, head, 0);
  equal(verifyCheckpoint(cp, signer.publicKey)?.code, "WRONG_KEY");
  // Claiming the trusted key does not help when the signature is someone else's.
  equal(verifyCheckpoint({ ...cp, key: signerKeyHex() }, signer.publicKey)?.code, "BAD_CHECKPOINT");
});

Deno.test("verifyCheckpoint() reports malformed shapes without throwing", async () => {
  const cp = await signCheckpoint(signer, 1, head, 0);
  const bad: unknown[] = [
    null,
    [],
    "cp",
    { ...cp, v: 2 },
    { ...cp, size: 0 },
    { ...cp, size: 1.5 },
    { ...cp, head: "XY".repeat(32) },
    { ...cp, ts: "now" },
    { ...cp, key: "00" },
    { ...cp, sig: 5 },
    { ...cp, extra: true },
  ];
  for (const b of bad) equal(verifyCheckpoint(b, signer.publicKey)?.code, "MALFORMED");
});

Deno.test("signCheckpoint() refuses a bad size or head", async () => {
  await rejects(signCheckpoint(signer, 0, head, 0), RangeError);
  await rejects(signCheckpoint(signer, 1, "abc", 0), TypeError);
  ok(await signCheckpoint(signer, Number.MAX_SAFE_INTEGER, head, 0));
});

function signerKeyHex(): string {
  return Array.from(signer.publicKey, (b) => b.toString(16).padStart(2, "0")).join("");
}
