import { deepEqual, equal, ok, throws } from "node:assert/strict";
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import { canonicalBytes } from "../crypto/canonical.ts";
import { type Signer, signerFromSeed } from "../crypto/ed25519.ts";
import { fromBase64Url, fromHex, toBase64Url, toHex } from "../crypto/encoding.ts";
import {
  attenuate,
  type CapabilityToken,
  checkNarrowing,
  isNarrowerResource,
  type MintOptions,
  mintToken,
  TokenError,
  verifyTokenSignature,
} from "./tokens.ts";

ed.hashes.sha512 = sha512;

const SEED = new Uint8Array(32).fill(1);
const signer = signerFromSeed(SEED);
const stranger = signerFromSeed(new Uint8Array(32).fill(2));
const TRUSTED = new Set([toHex(signer.publicKey)]);
const T0 = 1_767_225_600_000;

function mint(overrides: Partial<MintOptions> = {}, by: Signer = signer): CapabilityToken {
  return mintToken(by, {
    resource: "file:///ws/**",
    permissions: ["read", "write"],
    scope: "persistent",
    subject: "ws-1",
    auditId: 1,
    now: T0,
    ...overrides,
  });
}

function code(check: ReturnType<typeof verifyTokenSignature>): string {
  return check.ok ? "ok" : check.code;
}

/** Signs an arbitrary body the way mintToken does, bypassing every option check. */
function signRaw(body: Record<string, unknown>, by: Signer = signer): CapabilityToken {
  const sig = toBase64Url(by.sign(canonicalBytes("token", body)));
  return { ...body, sig } as unknown as CapabilityToken;
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Same 64 bytes, but the last character's 4 unused bits set: a second spelling of one sig. */
function nonCanonicalTail(sig: string): string {
  const last = B64URL.indexOf(sig.at(-1)!);
  return sig.slice(0, -1) + B64URL[(last & ~15) | 1];
}

function bodyOf(token: CapabilityToken): Record<string, unknown> {
  const { sig: _sig, ...body } = token;
  return body;
}

Deno.test("verifyTokenSignature() matches every case of testdata/tokens_v1.json", async () => {
  const fixture = JSON.parse(
    await Deno.readTextFile(new URL("../../testdata/tokens_v1.json", import.meta.url)),
  ) as {
    seed: string;
    trustedIssuer: string;
    cases: { name: string; token: unknown; now: number; expect: string; signedText?: string }[];
  };
  const trusted = new Set([fixture.trustedIssuer]);
  equal(toHex(signerFromSeed(fromHex(fixture.seed)).publicKey), fixture.trustedIssuer);
  ok(fixture.cases.length >= 15);
  for (const c of fixture.cases) {
    equal(code(verifyTokenSignature(c.token, trusted, c.now)), c.expect, c.name);
    if (c.signedText !== undefined) {
      const body = bodyOf(c.token as CapabilityToken);
      equal(new TextDecoder().decode(canonicalBytes("token", body)), c.signedText);
    }
  }
});

Deno.test("mintToken() and attenuate() reproduce the fixture tokens byte for byte", async () => {
  const fixture = JSON.parse(
    await Deno.readTextFile(new URL("../../testdata/tokens_v1.json", import.meta.url)),
  ) as { seed: string; cases: { name: string; token: CapabilityToken }[] };
  const fixed = signerFromSeed(fromHex(fixture.seed));
  const byName = new Map(fixture.cases.map((c) => [c.name, c.token]));
  const root = mintToken(fixed, {
    id: "0b5c1f5e-8d3a-4c47-9a61-2f4f0f6d1a01",
    resource: "file:///ws/**",
    permissions: ["write", "read"],
    scope: "persistent",
    subject: "ws-demo",
    auditId: 42,
    now: T0,
  });
  deepEqual(root, byName.get("root token"));
  const child = attenuate(root, fixed, {
    id: "0b5c1f5e-8d3a-4c47-9a61-2f4f0f6d1a02",
    resource: "file:///ws/src/**",
    permissions: ["read"],
    ttlMs: 600_000,
    subject: "agent-7",
    now: T0 + 1000,
  });
  deepEqual(child, byName.get("attenuated child"));
});

Deno.test("mintToken() sorts and de-duplicates permissions and defaults to one hour", () => {
  const token = mint({ permissions: ["write", "read", "write"] });
  deepEqual(token.permissions, ["read", "write"]);
  equal(token.expiresAt - token.issuedAt, 3_600_000);
  equal(token.parent, null);
  equal(token.singleUse, false);
  equal(token.issuer, toHex(signer.publicKey));
  ok(Object.isFrozen(token) && Object.isFrozen(token.permissions));
  equal(code(verifyTokenSignature(token, TRUSTED, T0)), "ok");
});

Deno.test("mintToken() refuses bad options with TypeError or RangeError", () => {
  throws(() => mint({ permissions: [] }), TypeError);
  throws(() => mint({ permissions: ["root" as "read"] }), TypeError);
  throws(() => mint({ resource: "file:///ws/../etc/**" }), TypeError);
  throws(() => mint({ resource: "file:///ws/./x" }), TypeError);
  throws(() => mint({ resource: "https://a.example/%2E%2e/x" }), TypeError);
  throws(() => mint({ resource: "exec://cat ../secret" }), TypeError);
  throws(() => mint({ resource: "/ws/**" }), TypeError);
  throws(() => mint({ resource: "FILE:///ws" }), TypeError);
  throws(() => mint({ resource: "file:///ws/\0" }), TypeError);
  throws(() => mint({ resource: `file:///${"a".repeat(5000)}` }), TypeError);
  throws(() => mint({ subject: "" }), TypeError);
  throws(() => mint({ subject: "x".repeat(257) }), TypeError);
  throws(() => mint({ subject: "a\nb" }), TypeError);
  throws(() => mint({ id: "not-a-uuid" }), TypeError);
  throws(() => mint({ ttlMs: 0 }), RangeError);
  throws(() => mint({ ttlMs: 1.5 }), RangeError);
  throws(() => mint({ ttlMs: Number.MAX_SAFE_INTEGER }), RangeError);
  throws(() => mint({ now: Number.NaN }), RangeError);
  throws(() => mint({ auditId: -1 }), TypeError);
});

Deno.test("verifyTokenSignature() returns FORGED for any field edited after signing", () => {
  const token = mint();
  const edits: Partial<Record<keyof CapabilityToken, unknown>>[] = [
    { resource: "file:///**" },
    { expiresAt: token.expiresAt + 60_000 },
    { issuedAt: token.issuedAt - 1 },
    { permissions: ["delete", "read", "write"] },
    { subject: "someone-else" },
    { scope: "session" },
    { singleUse: true },
    { auditId: 2 },
    { parent: crypto.randomUUID() },
    { id: crypto.randomUUID() },
  ];
  for (const edit of edits) {
    equal(code(verifyTokenSignature({ ...token, ...edit }, TRUSTED, T0)), "FORGED");
  }
  const randomSig = toBase64Url(crypto.getRandomValues(new Uint8Array(64)));
  equal(code(verifyTokenSignature({ ...token, sig: randomSig }, TRUSTED, T0)), "FORGED");
  const zeroSig = toBase64Url(new Uint8Array(64));
  equal(code(verifyTokenSignature({ ...token, sig: zeroSig }, TRUSTED, T0)), "FORGED");
});

Deno.test("verifyTokenSignature() refuses an untrusted issuer, even one that re-signs", () => {
  const theirs = mint({ resource: "file:///**" }, stranger);
  equal(code(verifyTokenSignature(theirs, TRUSTED, T0)), "UNTRUSTED_ISSUER");
  // Claiming a trusted issuer while signing with another key is a forgery.
  const claimed = signRaw({ ...bodyOf(theirs), issuer: toHex(signer.publicKey) }, stranger);
  equal(code(verifyTokenSignature(claimed, TRUSTED, T0)), "FORGED");
  equal(code(verifyTokenSignature(mint(), new Set(), T0)), "UNTRUSTED_ISSUER");
});

Deno.test("verifyTokenSignature() checks shape, then issuer, then signature, then time", () => {
  const token = mint();
  const expiredForgedUntrusted = { ...token, resource: "file:///**", extra: 1 };
  equal(
    code(verifyTokenSignature(expiredForgedUntrusted, new Set(), token.expiresAt)),
    "MALFORMED",
  );
  const forgedUntrusted = { ...token, resource: "file:///**" };
  equal(
    code(verifyTokenSignature(forgedUntrusted, new Set(), token.expiresAt)),
    "UNTRUSTED_ISSUER",
  );
  equal(code(verifyTokenSignature(forgedUntrusted, TRUSTED, token.expiresAt)), "FORGED");
  equal(code(verifyTokenSignature(token, TRUSTED, token.expiresAt)), "EXPIRED");
  throws(() => verifyTokenSignature(token, TRUSTED, Number.NaN), RangeError);
});

Deno.test("verifyTokenSignature() enforces the window with 2 s of skew on issuedAt only", () => {
  const token = mint({ ttlMs: 10_000 });
  equal(code(verifyTokenSignature(token, TRUSTED, T0 - 2001)), "NOT_YET_VALID");
  equal(code(verifyTokenSignature(token, TRUSTED, T0 - 2000)), "ok");
  equal(code(verifyTokenSignature(token, TRUSTED, T0 + 9_999)), "ok");
  equal(code(verifyTokenSignature(token, TRUSTED, T0 + 10_000)), "EXPIRED");
  const future = mint({ now: T0 + 3_600_000 });
  equal(code(verifyTokenSignature(future, TRUSTED, T0)), "NOT_YET_VALID");
});

Deno.test("verifyTokenSignature() returns MALFORMED for hostile shapes and oversized fields", () => {
  const t = mint();
  const { sig: _s, ...noSig } = t;
  const withSymbol = { ...t, [Symbol("x")]: 1 };
  const withProto = Object.assign(Object.create({ admin: true }), t);
  class Fake {
    constructor() {
      Object.assign(this, t);
    }
  }
  const bad: unknown[] = [
    null,
    undefined,
    "token",
    42,
    [t],
    new Map(Object.entries(t)),
    new Fake(),
    withProto,
    withSymbol,
    noSig,
    { ...t, admin: true },
    { ...t, __proto__: null, extra: 1 },
    { ...t, v: "1" },
    { ...t, v: 2 },
    { ...t, id: t.id.toUpperCase() },
    { ...t, id: "x".repeat(1 << 20) },
    { ...t, permissions: [] },
    { ...t, permissions: ["read", "read", "write"] },
    { ...t, permissions: ["write", "read"] },
    { ...t, permissions: ["read", "root"] },
    { ...t, permissions: "read" },
    { ...t, permissions: Array(100_000).fill("read") },
    { ...t, issuedAt: 1.5 },
    { ...t, issuedAt: -1 },
    { ...t, issuedAt: Number.NaN },
    { ...t, issuedAt: 1e300 },
    { ...t, issuedAt: `${t.issuedAt}` },
    { ...t, expiresAt: t.issuedAt },
    { ...t, expiresAt: Infinity },
    { ...t, scope: "forever" },
    { ...t, issuer: t.issuer.slice(2) },
    { ...t, issuer: t.issuer.toUpperCase() },
    { ...t, issuer: `${t.issuer}00` },
    { ...t, subject: "" },
    { ...t, subject: "s".repeat(1 << 20) },
    { ...t, subject: "a\u0000b" },
    { ...t, subject: "\ud800" },
    { ...t, auditId: -1 },
    { ...t, auditId: "1" },
    { ...t, singleUse: "false" },
    { ...t, singleUse: 0 },
    { ...t, parent: t.id },
    { ...t, parent: "x" },
    { ...t, parent: undefined },
    { ...t, sig: "" },
    { ...t, sig: t.sig.slice(1) },
    { ...t, sig: `${t.sig}A` },
    { ...t, sig: `${t.sig}==` },
    { ...t, sig: nonCanonicalTail(t.sig) },
    { ...t, sig: t.sig.replaceAll("-", "+").replaceAll("_", "/") + "+" },
    { ...t, sig: "A".repeat(1 << 20) },
    { ...t, resource: `file:///${"a/".repeat(1 << 19)}` },
    { ...t, resource: "file:///ws/\u0007" },
    { ...t, resource: "https://a.example\\..\\x" },
    { ...t, resource: "file:///ws/../**" },
    { ...t, resource: "file:///ws/%2e%2e/**" },
    { ...t, resource: 42 },
  ];
  // The non-canonical spelling decodes to the very same signature bytes.
  deepEqual(fromBase64Url(nonCanonicalTail(t.sig)), fromBase64Url(t.sig));
  for (const [i, value] of bad.entries()) {
    equal(code(verifyTokenSignature(value, TRUSTED, T0)), "MALFORMED", `case ${i}`);
  }
});

Deno.test("isNarrowerResource() accepts only provable narrowing", () => {
  const yes: [string, string][] = [
    ["file:///ws/**", "file:///ws/**"],
    ["file:///ws/src/**", "file:///ws/**"],
    ["file:///ws/src/*.ts", "file:///ws/**"],
    ["file:///ws/a.txt", "file:///ws/*"],
    ["file:///ws", "file:///ws/**"],
    ["file:///ws/**", "file:///**"],
    ["exec://git status", "exec://git *"],
    ["exec://npm run test:unit*", "exec://npm run test*"],
    ["https://api.example/repos/x", "https://api.example/repos/*"],
  ];
  const no: [string, string][] = [
    ["file:///ws/**", "file:///ws/*"],
    ["file:///**", "file:///ws/**"],
    ["exec://git *", "exec://git status"],
    ["exec://git push --force", "exec://git status*"],
    ["file:///ws2/**", "file:///ws/**"],
    ["file:///wsx", "file:///ws/**"],
    ["file:///ws/a/*", "file:///ws/*"],
    ["file:///ws/../etc/passwd", "file:///ws/**"],
    ["file:///ws/%2e%2e/etc/passwd", "file:///ws/**"],
    ["file:///ws/./a", "file:///ws/**"],
    ["file:///ws/a", "file:///ws/../**"],
    ["file:///ws/src/**", "file:///ws/*/**"],
    ["file:///ws/a?", "file:///ws/a?"],
    ["exec://ls ..", "exec://ls *"],
    ["net://a.example:443", "file:///**"],
    ["exec://rm -rf /", "file:///**"],
  ];
  for (const [child, parent] of yes) ok(isNarrowerResource(child, parent), `${child} < ${parent}`);
  for (const [child, parent] of no) {
    if (child === parent) continue;
    equal(isNarrowerResource(child, parent), false, `${child} !< ${parent}`);
  }
});

Deno.test("attenuate() narrows and links the child to its parent", () => {
  const parent = mint({ ttlMs: 60_000 });
  const child = attenuate(parent, signer, {
    resource: "file:///ws/docs/**",
    permissions: ["read"],
    ttlMs: 10_000,
    subject: "agent-2",
    singleUse: true,
    now: T0 + 5,
  });
  equal(child.parent, parent.id);
  equal(child.scope, parent.scope);
  equal(child.auditId, parent.auditId);
  equal(child.subject, "agent-2");
  equal(child.expiresAt, T0 + 10_005);
  deepEqual(checkNarrowing(child, parent), { ok: true });
  equal(code(verifyTokenSignature(child, TRUSTED, T0 + 6)), "ok");
  // Inherits everything when nothing is narrowed, and may be signed by another key.
  const delegated = attenuate(parent, stranger, { now: T0 + 5 });
  equal(delegated.expiresAt, parent.expiresAt);
  equal(delegated.resource, parent.resource);
  equal(delegated.issuer, toHex(stranger.publicKey));
});

Deno.test("attenuate() throws WIDENED for a child that grants more", () => {
  const parent = mint({ ttlMs: 60_000, permissions: ["read"] });
  const at = { now: T0 + 1 };
  throws(() => attenuate(parent, signer, { ...at, permissions: ["read", "write"] }), {
    code: "WIDENED",
  });
  throws(() => attenuate(parent, signer, { ...at, resource: "file:///**" }), { code: "WIDENED" });
  throws(() => attenuate(parent, signer, { ...at, ttlMs: 120_000 }), { code: "WIDENED" });
  const session = mint({ scope: "session", singleUse: true });
  throws(() => attenuate(session, signer, at), { code: "WIDENED" });
  const star = mint({ resource: "file:///ws/*" });
  throws(() => attenuate(star, signer, { ...at, resource: "file:///ws/**" }), { code: "WIDENED" });
  const git = mint({ resource: "exec://git status", permissions: ["execute"] });
  throws(() => attenuate(git, signer, { ...at, resource: "exec://git *" }), TokenError);
});

Deno.test("attenuate() refuses a tampered, expired or malformed parent", () => {
  const parent = mint({ ttlMs: 1000 });
  throws(() => attenuate({ ...parent, resource: "file:///**" }, signer, { now: T0 }), {
    code: "FORGED",
  });
  throws(() => attenuate(parent, signer, { now: T0 + 1000 }), { code: "EXPIRED" });
  throws(() => attenuate(parent, signer, { now: T0 - 5000 }), { code: "NOT_YET_VALID" });
  throws(() => attenuate({ ...parent, v: 2 } as unknown as CapabilityToken, signer, {}), {
    code: "MALFORMED",
  });
  throws(() => attenuate(null as unknown as CapabilityToken, signer, {}), { code: "MALFORMED" });
});

Deno.test("checkNarrowing() catches a validly signed child that widens its parent", () => {
  const parent = mint({ scope: "session", ttlMs: 60_000 });
  const base = { ...bodyOf(parent), id: crypto.randomUUID(), parent: parent.id };
  const cases: [Record<string, unknown>, string][] = [
    [{ resource: "file:///**" }, "WIDENED"],
    [{ permissions: ["delete", "read", "write"] }, "WIDENED"],
    [{ expiresAt: parent.expiresAt + 1 }, "WIDENED"],
    [{ issuedAt: parent.issuedAt - 1 }, "WIDENED"],
    [{ scope: "persistent" }, "WIDENED"],
    [{ parent: crypto.randomUUID() }, "BROKEN_CHAIN"],
  ];
  for (const [edit, expected] of cases) {
    const child = signRaw({ ...base, ...edit });
    equal(code(verifyTokenSignature(child, TRUSTED, T0)), "ok");
    equal(code(checkNarrowing(child, parent)), expected, JSON.stringify(edit));
  }
  const onceParent = mint({ singleUse: true });
  const ofOnce = signRaw({ ...bodyOf(onceParent), id: crypto.randomUUID(), parent: onceParent.id });
  equal(code(checkNarrowing(ofOnce, onceParent)), "WIDENED");
});

Deno.test("a token's sig is what @noble/ed25519 and WebCrypto produce over its ACE-1 body", async () => {
  const token = mint();
  const message = canonicalBytes("token", bodyOf(token));
  equal(toBase64Url(ed.sign(message, SEED)), token.sig);
  const der = new Uint8Array([...fromHex("302e020100300506032b657004220420"), ...SEED]);
  const key = await crypto.subtle.importKey("pkcs8", der, "Ed25519", false, ["sign"]);
  const web = new Uint8Array(await crypto.subtle.sign("Ed25519", key, new Uint8Array(message)));
  equal(toBase64Url(web), token.sig);
  ok(ed.verify(fromBase64Url(token.sig), message, signer.publicKey));
  // A signature made by either of them is accepted by verifyTokenSignature().
  const reSigned = { ...bodyOf(token), sig: toBase64Url(web) };
  equal(code(verifyTokenSignature(reSigned, TRUSTED, T0)), "ok");
});
