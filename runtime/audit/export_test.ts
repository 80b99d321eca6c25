import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { fromHex, generateSeed, signerFromSeed, toHex } from "../crypto/mod.ts";
import { openStore } from "../storage/mod.ts";
import { buildFixture, FIXTURE_SEED } from "./_fixture.ts";
import { AuditLog, parseExport, verifyExport, verifyStore, writeExport } from "./mod.ts";

const signer = signerFromSeed(generateSeed());

async function sample(): Promise<string> {
  using store = await openStore(":memory:");
  const log = await AuditLog.open(store, signer, { checkpointEvery: 2, checkpointSeconds: 0 });
  for (let i = 0; i < 3; i++) {
    await log.append({
      sessionId: "s",
      action: { kind: "k", resource: "r://x", summary: `step ${i}`, detail: { i, s: "é\u2028" } },
      decision: "allowed",
      proof: "p",
    });
  }
  await log.close();
  let text = "";
  await writeExport(store, signer.publicKey, (l) => void (text += l + "\n"));
  return text;
}

Deno.test("writeExport() then parseExport() round-trips entries and checkpoints", async () => {
  using store = await openStore(":memory:");
  const log = await AuditLog.open(store, signer, { checkpointEvery: 2, checkpointSeconds: 0 });
  for (let i = 0; i < 5; i++) await log.endSession(`s${i}`);
  const entries = await log.list();
  const checkpoints = await log.checkpoints();
  await log.close();
  let text = "";
  deepEqual(await writeExport(store, signer.publicKey, (l) => void (text += l + "\n")), {
    entries: 5,
    checkpoints: 5,
  });
  const parsed = parseExport(text);
  deepEqual(parsed.publicKey, signer.publicKey);
  deepEqual(parsed.entries, entries);
  deepEqual(parsed.checkpoints, checkpoints);
  ok((await verifyStore(store, signer.publicKey)).ok);
});

Deno.test("writeExport() writes bytes to a WritableStream and closes it", async () => {
  const text = await sample();
  using store = await openStore(":memory:");
  const chunks: Uint8Array[] = [];
  let closed = false;
  const stream = new WritableStream<Uint8Array>({
    write: (c) => void chunks.push(c),
    close: () => void (closed = true),
  });
  const log = await AuditLog.open(store, signer, { checkpointSeconds: 0 });
  await log.endSession("s");
  await log.close();
  await writeExport(store, signer.publicKey, stream);
  const out = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  equal(out.split("\n").length, 4); // header, entry, checkpoint, trailing ""
  ok(closed);
  ok(verifyExport(text, signer.publicKey).ok);
});

Deno.test("parseExport() names the line of malformed input", () => {
  const good = async () => (await sample()).trimEnd().split("\n");
  return good().then((lines) => {
    const cases: [string, RegExp][] = [
      ["", /empty/],
      [lines.slice(1).join("\n"), /line 1 must be the header/],
      [[lines[0], "{bad json"].join("\n"), /line 2 is not JSON/],
      [[lines[0], "[1,2]"].join("\n"), /line 2 is not a JSON object/],
      [[lines[0], '{"type":"other"}'].join("\n"), /line 2 has unknown type/],
      [[lines[0], "", lines[1]].join("\n"), /line 2 is not JSON/],
      [[lines[0], lines.at(-1), lines[1]].join("\n"), /line 3 is an entry after a checkpoint/],
      [
        [lines[0], lines[1]!.replace('"seq":1', '"seq":-1')].join("\n"),
        /line 2 is a malformed entry/,
      ],
      [
        [lines[0], lines.at(-1)!.replace('"v":1', '"v":9')].join("\n"),
        /line 2 is a malformed checkpoint/,
      ],
      [lines[0]!.replace('"fingerprint":"b3:', '"fingerprint":"b3:x'), /fingerprint/],
      [lines[0]!.replace(/"publicKey":"[0-9a-f]+"/, '"publicKey":"zz"'), /publicKey/],
      [lines[0]!.replace('"v":1', '"v":2'), /line 1 is not an astrid-audit-export v1 header/],
    ];
    for (const [text, message] of cases) throws(() => parseExport(text), message);
    for (const [text] of cases) equal(verifyExport(text).firstBad?.code, "MALFORMED");
  });
});

Deno.test("parseExport() tolerates CRLF line ends and a missing final newline", async () => {
  const text = await sample();
  const crlf = text.replaceAll("\n", "\r\n");
  deepEqual(parseExport(crlf), parseExport(text));
  deepEqual(parseExport(text.trimEnd()), parseExport(text));
  ok(verifyExport(crlf, signer.publicKey).ok);
});

Deno.test("testdata/audit_chain_v1.jsonl is reproduced byte for byte and verifies", async () => {
  const stored = await Deno.readTextFile(
    new URL("../../testdata/audit_chain_v1.jsonl", import.meta.url),
  );
  equal(await buildFixture(), stored);
  const key = signerFromSeed(FIXTURE_SEED.slice()).publicKey;
  equal(toHex(parseExport(stored).publicKey), toHex(key));
  deepEqual(verifyExport(stored, key), { ok: true, entries: 8, checkpoints: 3 });
  equal(verifyExport(stored, fromHex("00".repeat(32))).firstBad?.code, "WRONG_KEY");
});
