import { equal, ok } from "node:assert/strict";
import { signerFromSeed } from "../crypto/ed25519.ts";
import { matchResource } from "./resource.ts";
import { mintToken } from "./tokens.ts";
import { bucketOf, TokenIndex } from "./_token_index.ts";
import type { CapabilityToken } from "./_token_codec.ts";

const signer = signerFromSeed(new Uint8Array(32).fill(5));
const NOW = 1_767_225_600_000;

function token(resource: string, subject = "s"): CapabilityToken {
  return mintToken(signer, {
    resource,
    permissions: ["execute", "read"],
    scope: "session",
    subject,
    auditId: null,
    now: NOW,
  });
}

Deno.test("bucketOf() cuts the literal prefix after its last separator", () => {
  equal(bucketOf("file:///ws/**"), "file:///ws/");
  equal(bucketOf("file:///ws/a*.ts"), "file:///ws/");
  equal(bucketOf("file:///ws/a.ts"), "file:///ws/");
  equal(bucketOf("exec://npm run test*"), "exec://npm run ");
  equal(bucketOf("exec://git status"), "exec://git ");
});

// A differential check: the index must agree with matching every pattern one by one.
Deno.test("TokenIndex.find() agrees with brute-force matchResource() on random inputs", () => {
  const segments = ["ws", "a", "b", ".env", "a b", "*", "**", "?", "a*", "*.ts", "x.ts"];
  const words = ["git", "status", "push", "npm", "run", "test", "*", "t*", "--force"];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
  const path = (n: number) => Array.from({ length: n }, () => pick(segments)).join("/");
  const argv = (n: number) => Array.from({ length: n }, () => pick(words)).join(" ");
  const randomPattern = () =>
    Math.random() < 0.3
      ? `exec://${argv(1 + Math.floor(Math.random() * 3))}`
      : `file:///${path(1 + Math.floor(Math.random() * 3))}`;
  const randomResource = () =>
    (Math.random() < 0.3
      ? `exec://${argv(1 + Math.floor(Math.random() * 4))}`
      : `file:///${path(1 + Math.floor(Math.random() * 4))}`).replaceAll("*", "z").replaceAll(
        "?",
        "q",
      );
  let hits = 0;
  for (let round = 0; round < 40; round++) {
    const index = new TokenIndex();
    const tokens = Array.from({ length: 25 }, () => token(randomPattern()));
    for (const t of tokens) index.insert(t);
    for (let i = 0; i < 200; i++) {
      const resource = Math.random() < 0.2
        ? pick(tokens).resource.replace(/\/\*\*$/, "")
        : randomResource();
      const expected = tokens.some((t) => matchResource(t.resource, resource));
      const found = index.find([resource], "read", ["s"], NOW, () => true);
      equal(found !== null, expected, `${resource} in ${tokens.map((t) => t.resource)}`);
      if (found) {
        ok(matchResource(found.resource, resource));
        hits++;
      }
    }
  }
  ok(hits > 100, `only ${hits} hits: the generator is too sparse`);
});

Deno.test("TokenIndex.remove() drops a token from lookups", () => {
  const index = new TokenIndex();
  const a = token("file:///ws/**");
  const b = token("file:///ws/**", "other");
  index.insert(a);
  index.insert(b);
  equal(index.find(["file:///ws/x"], "read", ["s"], NOW, () => true)?.id, a.id);
  index.remove(a.id);
  equal(index.find(["file:///ws/x"], "read", ["s"], NOW, () => true), null);
  equal(index.find(["file:///ws/x"], "read", ["other"], NOW, () => true)?.id, b.id);
  equal(index.tokens().length, 1);
  equal(index.find(["file:///ws/x"], "write", ["other"], NOW, () => true), null);
  equal(index.find(["file:///ws/x"], "read", ["other"], NOW, () => false), null);
});
