/**
 * Capability tokens on the hot path (the budget has its own suite: budget_bench.ts). Target: `findCovering()` ≤ 5 µs median with
 * 1,000 tokens stored for other resources.
 *
 * Run: `deno bench -A bench/tokens_bench.ts`
 *
 * @module
 */
import { signerFromSeed, toHex } from "../runtime/crypto/mod.ts";
import { openStore } from "../runtime/storage/mod.ts";
import { TokenStore } from "../runtime/security/token_store.ts";
import { attenuate, mintToken, verifyTokenSignature } from "../runtime/security/tokens.ts";

const signer = signerFromSeed(new Uint8Array(32).fill(9));
const trusted = new Set([toHex(signer.publicKey)]);
const base = {
  resource: "file:///home/u/proj/**",
  permissions: ["read" as const, "write" as const],
  scope: "session" as const,
  subject: "session-1",
  auditId: 1,
};
const token = mintToken(signer, base);

const kv = await openStore(":memory:");
const store = await TokenStore.open(kv, { trustedIssuers: trusted });
// 1,000 tokens for other resources under the same subject, 1,000 for other subjects.
for (let i = 0; i < 1000; i++) {
  await store.add(mintToken(signer, { ...base, resource: `file:///home/u/other${i}/**` }));
  await store.add(mintToken(signer, { ...base, subject: `session-${i + 2}` }));
  if (i % 10 === 0) {
    await store.add(mintToken(signer, {
      ...base,
      resource: `exec://npm run task${i}*`,
      permissions: ["execute"],
    }));
  }
}
await store.add(token);

Deno.bench("mintToken()", { group: "token" }, () => {
  mintToken(signer, base);
});

Deno.bench("verifyTokenSignature()", { group: "token" }, () => {
  if (!verifyTokenSignature(token, trusted, Date.now()).ok) throw new Error("unexpected");
});

Deno.bench("attenuate()", { group: "token" }, () => {
  attenuate(token, signer, { resource: "file:///home/u/proj/src/**", permissions: ["read"] });
});

Deno.bench("findCovering() hit, 3,100 tokens held", { group: "find", baseline: true }, () => {
  const found = store.findCovering(
    ["file:///home/u/proj/src/deep/file.ts"],
    "read",
    ["session-1"],
  );
  if (found === null) throw new Error("unexpected");
});

Deno.bench("findCovering() miss, 3,100 tokens held", { group: "find" }, () => {
  const found = store.findCovering(["file:///home/u/elsewhere/a.ts"], "read", ["session-1"]);
  if (found !== null) throw new Error("unexpected");
});

Deno.bench("findCovering() command miss, 2 subjects", { group: "find" }, () => {
  const found = store.findCovering(
    ["exec://npm run build --watch --verbose"],
    "execute",
    ["session-1", "ws-1"],
  );
  if (found !== null) throw new Error("unexpected");
});
