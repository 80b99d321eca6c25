import { deepEqual, equal, ok } from "node:assert/strict";
import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
import { signCheckpoint } from "./checkpoint.ts";
import { lineNumberAt, readWitnessTail } from "./_witness_file.ts";
import { witnessedLog } from "./_witnessed.ts";
import { appendWitness, parseWitness, signWitnessLine, verifyWitnessLine } from "./witness.ts";

const signer = signerFromSeed(generateSeed());
const other = signerFromSeed(generateSeed());
const LOG = "aa".repeat(32);
const line = async (size: number, log = LOG, by = signer) =>
  await signWitnessLine(
    by,
    log,
    await signCheckpoint(by, size, size.toString(16).padStart(64, "0"), size),
  );

Deno.test("verifyWitnessLine() checks shape, then key, then signature", async () => {
  const good = await line(5);
  equal(verifyWitnessLine(good, signer.publicKey), null);
  equal(verifyWitnessLine({ ...good, size: 6 }, signer.publicKey)?.code, "BAD_CHECKPOINT");
  equal(
    verifyWitnessLine({ ...good, log: "bb".repeat(32) }, signer.publicKey)?.code,
    "BAD_CHECKPOINT",
  );
  equal(verifyWitnessLine({ ...good, sig: "%%" }, signer.publicKey)?.code, "BAD_CHECKPOINT");
  equal(verifyWitnessLine(await line(5, LOG, other), signer.publicKey)?.code, "WRONG_KEY");
  for (const bad of [null, [], { ...good, extra: 1 }, { ...good, size: 0 }, { ...good, v: 2 }]) {
    equal(verifyWitnessLine(bad, signer.publicKey)?.code, "MALFORMED");
  }
});

Deno.test("appendWitness() creates a 0600 file in a 0700 folder and only ever appends", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/new/folder/witness.jsonl`;
    await appendWitness(path, [await line(1)]);
    await appendWitness(path, [await line(2), await line(3)]);
    await appendWitness(path, []);
    equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    equal((await Deno.stat(`${dir}/new/folder`)).mode! & 0o777, 0o700);
    const parsed = parseWitness(await Deno.readTextFile(path));
    deepEqual(parsed.lines.map((l) => (l.value as { size: number }).size), [1, 2, 3]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseWitness() lists junk and leaves out a last line without its newline", async () => {
  const text = `${JSON.stringify(await line(1))}\n\n\0\0\0\n{"v":1,"log":"x"}\n${
    JSON.stringify(await line(2)).slice(0, 40)
  }`;
  const parsed = parseWitness(text);
  deepEqual(parsed.lines.map((l) => l.line), [1, 4]);
  deepEqual(parsed.unreadable, [3]);
  equal(parsed.partialTail, true);
});

Deno.test("readWitnessTail() returns complete lines newest first across chunk boundaries", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/w.jsonl`;
    equal(readWitnessTail(path, () => true), null);
    const lines = await Promise.all(Array.from({ length: 40 }, (_, i) => line(i + 1)));
    const junk = "x".repeat(200_000); // longer than any witness line: skipped, never kept
    const text = lines.slice(0, 10).map((l) => JSON.stringify(l) + "\n").join("") + junk + "\n" +
      lines.slice(10).map((l) => JSON.stringify(l) + "\n").join("") + '{"partial":';
    await Deno.writeTextFile(path, text);
    for (const chunk of [50, 333, 4096, 1 << 20]) {
      const all = readWitnessTail(path, () => false, chunk);
      deepEqual(
        all!.map((l) => (l.value as { size: number }).size),
        lines.map((_, i) => 40 - i),
        `chunk ${chunk}`,
      );
      for (const l of all!) {
        equal(
          text.slice(l.offset).startsWith(JSON.stringify(l.value)),
          true,
          `offset at chunk ${chunk}`,
        );
      }
      const some = readWitnessTail(path, (got) => got.length > 0, chunk);
      ok(
        some!.length >= 1 && (chunk > text.length || some!.length < 40),
        `stops at chunk ${chunk}`,
      );
    }
    const all = readWitnessTail(path, () => false)!;
    equal(await lineNumberAt(path, all.at(-1)!.offset), 1);
    equal(await lineNumberAt(path, all[0]!.offset), 41); // 10 lines, the junk line, 30 more
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("witnessedLog() takes the largest valid size of the log, in any line order", async () => {
  const lines = [
    await line(14),
    await line(7),
    await line(28),
    await line(21),
    await line(5, "bb".repeat(32)),
    await line(99, "cc".repeat(32), other),
  ]
    .map((value, i) => ({ line: i + 1, value }));
  const every = witnessedLog(lines, LOG, signer.publicKey, { every: true });
  deepEqual([every.newest?.size, every.newest?.line, every.bad], [28, 3, null]);
  deepEqual([...every.otherLogs.keys()], ["bb".repeat(32)]);
  const newest = witnessedLog(lines, LOG, signer.publicKey, { every: false });
  deepEqual([newest.newest?.size, newest.checkpoints.length], [28, 1]);
});

Deno.test("witnessedLog() reports a tampered line of the log instead of trusting it", async () => {
  const forged = { ...(await line(50)), size: 60 };
  const lines = [await line(14), forged, await line(7, LOG, other)].map((value, i) => ({
    line: i + 1,
    value,
  }));
  const every = witnessedLog(lines, LOG, signer.publicKey, { every: true });
  deepEqual([every.bad?.code, every.bad?.line, every.newest?.size], ["BAD_CHECKPOINT", 2, 14]);
  const newest = witnessedLog(lines, LOG, signer.publicKey, { every: false });
  deepEqual([newest.bad?.code, newest.bad?.line], ["BAD_CHECKPOINT", 2]);
  const foreign = witnessedLog(
    [{ line: 1, value: await line(7, LOG, other) }],
    LOG,
    signer.publicKey,
    { every: true },
  );
  deepEqual([foreign.bad?.code, foreign.bad?.line], ["WRONG_KEY", 1]);
  const relabelled = { ...(await line(9, "bb".repeat(32))), log: "dd".repeat(32) };
  const hidden = witnessedLog([{ line: 1, value: relabelled }], LOG, signer.publicKey, {
    every: true,
  });
  equal(hidden.bad?.code, "BAD_CHECKPOINT", "a line of this key whose log was changed is caught");
});
