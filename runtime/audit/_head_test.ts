import { deepEqual, equal, rejects } from "node:assert/strict";
import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
import { checkHead, headBytes, signHead } from "./_head.ts";

const signer = signerFromSeed(generateSeed());
const other = signerFromSeed(generateSeed());
const log = "11".repeat(32);
const hash = "22".repeat(32);

Deno.test("checkHead() accepts a head signed by the trusted key", async () => {
  const head = await signHead(signer, log, 7, hash, 1_000);
  deepEqual(checkHead(head, signer.publicKey), { kind: "signed", head });
  equal(new TextDecoder().decode(headBytes(head)).split("\n")[0], "astrid-ace/1/audit-head");
});

Deno.test("checkHead() refuses a head whose fields were changed after signing", async () => {
  const head = await signHead(signer, log, 7, hash, 1_000);
  for (
    const forged of [{ ...head, seq: 6 }, { ...head, hash: "33".repeat(32) }, {
      ...head,
      log: hash,
    }, { ...head, ts: 2 }]
  ) {
    const state = checkHead(forged, signer.publicKey);
    equal(state.kind === "bad" && state.code, "BAD_HEAD");
  }
  const state = checkHead({ ...head, sig: "not base64url!" }, signer.publicKey);
  equal(state.kind === "bad" && state.code, "BAD_HEAD");
});

Deno.test("checkHead() refuses a head signed by another key, even a valid signature", async () => {
  const state = checkHead(await signHead(other, log, 7, hash, 1_000), signer.publicKey);
  equal(state.kind === "bad" && state.code, "WRONG_KEY");
});

Deno.test("checkHead() tells a previous-format head from a malformed one", async () => {
  deepEqual(checkHead({ seq: 3, hash }, signer.publicKey), { kind: "legacy", seq: 3, hash });
  const cases: unknown[] = [
    null,
    [],
    "head",
    { seq: -1, hash },
    { seq: 3, hash: "XY" },
    { seq: 3, hash, extra: 1 },
    { ...(await signHead(signer, log, 7, hash, 1_000)), extra: 1 },
    { ...(await signHead(signer, log, 7, hash, 1_000)), v: 2 },
  ];
  for (const value of cases) {
    const state = checkHead(value, signer.publicKey);
    equal(state.kind === "bad" && state.code, "MALFORMED", JSON.stringify(value));
  }
});

Deno.test("signHead() refuses what cannot be a head", async () => {
  for (const [l, s, h] of [["x", 1, hash], [log, 0, hash], [log, 1, "x"]] as const) {
    await rejects(signHead(signer, l, s, h, 0), TypeError);
  }
});
