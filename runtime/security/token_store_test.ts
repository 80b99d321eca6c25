import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { canonicalBytes } from "../crypto/canonical.ts";
import { signerFromSeed } from "../crypto/ed25519.ts";
import { toBase64Url, toHex } from "../crypto/encoding.ts";
import { openStore, type Store } from "../storage/mod.ts";
import {
  attenuate,
  type CapabilityToken,
  MAX_CHAIN_DEPTH,
  type MintOptions,
  mintToken,
} from "./tokens.ts";
import { TokenStore } from "./token_store.ts";

const signer = signerFromSeed(new Uint8Array(32).fill(3));
const stranger = signerFromSeed(new Uint8Array(32).fill(4));
const ISSUER = toHex(signer.publicKey);
const T0 = 1_767_225_600_000;

function mint(overrides: Partial<MintOptions> = {}): CapabilityToken {
  return mintToken(signer, {
    resource: "file:///ws/**",
    permissions: ["read"],
    scope: "persistent",
    subject: "ws-1",
    auditId: 1,
    now: T0,
    ...overrides,
  });
}

function clock(start = T0 + 10): { now: () => number; set(t: number): void } {
  let t = start;
  return { now: () => t, set: (v) => (t = v) };
}

async function open(kv: Store, now = clock().now): Promise<TokenStore> {
  return await TokenStore.open(kv, { trustedIssuers: [ISSUER], now });
}

function signRaw(body: Record<string, unknown>): CapabilityToken {
  const sig = toBase64Url(signer.sign(canonicalBytes("token", body)));
  return { ...body, sig } as unknown as CapabilityToken;
}

function codeOf(check: { ok: boolean; code?: string }): string {
  return check.ok ? "ok" : check.code!;
}

Deno.test("findCovering() matches resource, permission and subject", async () => {
  using kv = await openStore(":memory:");
  const tokens = await open(kv);
  const files = mint();
  const git = mint({ resource: "exec://git status*", permissions: ["execute"], subject: "s1" });
  await tokens.add(files);
  await tokens.add(git);
  equal(tokens.findCovering(["file:///ws/a/b.txt"], "read", ["ws-1"])?.id, files.id);
  equal(tokens.findCovering(["file:///ws/.env"], "read", ["ws-1"])?.id, files.id);
  equal(tokens.findCovering(["file:///ws"], "read", ["ws-1"])?.id, files.id);
  equal(tokens.findCovering(["file:///ws/a"], "write", ["ws-1"]), null);
  equal(tokens.findCovering(["file:///ws/a"], "read", ["other"]), null);
  equal(tokens.findCovering(["file:///ws2/a"], "read", ["ws-1"]), null);
  equal(
    tokens.findCovering(["file:///other", "file:///ws/x"], "read", ["s1", "ws-1"])?.id,
    files.id,
  );
  equal(tokens.findCovering(["exec://git status --short"], "execute", ["s1"])?.id, git.id);
  equal(tokens.findCovering(["exec://git push --force"], "execute", ["s1"]), null);
  equal(tokens.findCovering(["exec://git status"], "bogus" as "read", ["s1"]), null);
});

Deno.test("findCovering() refuses resources with dot segments", async () => {
  using kv = await openStore(":memory:");
  const tokens = await open(kv);
  await tokens.add(mint());
  await tokens.add(mint({ resource: "exec://cat /ws/*", permissions: ["execute"] }));
  equal(tokens.findCovering(["file:///ws/../etc/passwd"], "read", ["ws-1"]), null);
  equal(tokens.findCovering(["file:///ws/%2e%2e/etc/passwd"], "read", ["ws-1"]), null);
  equal(tokens.findCovering(["file:///ws/./a"], "read", ["ws-1"]), null);
  equal(tokens.findCovering(["exec://cat /ws/../etc/shadow"], "execute", ["ws-1"]), null);
  ok(tokens.findCovering(["exec://cat /ws/notes"], "execute", ["ws-1"]));
});

Deno.test("findCovering() skips expired, not-yet-valid, revoked and used tokens", async () => {
  using kv = await openStore(":memory:");
  const time = clock();
  const tokens = await open(kv, time.now);
  const short = mint({ ttlMs: 1000 });
  await tokens.add(short);
  ok(tokens.findCovering(["file:///ws/a"], "read", ["ws-1"]));
  time.set(T0 + 1000);
  equal(tokens.findCovering(["file:///ws/a"], "read", ["ws-1"]), null);
  time.set(T0 + 10);
  const later = mint({ now: T0 + 60_000, resource: "file:///later/**" });
  equal(tokens.findCovering(["file:///later/a"], "read", ["ws-1"]), null);
  await rejects(tokens.add(later), { code: "NOT_YET_VALID" });
  await tokens.revoke(short.id);
  equal(tokens.findCovering(["file:///ws/a"], "read", ["ws-1"]), null);
  const once = mint({ singleUse: true, scope: "session" });
  await tokens.add(once);
  equal(tokens.findCovering(["file:///ws/a"], "read", ["ws-1"])?.id, once.id);
  equal(codeOf(await tokens.consume(once)), "ok");
  equal(tokens.findCovering(["file:///ws/a"], "read", ["ws-1"]), null);
});

Deno.test("findCovering() prefers a multi-use token over a single-use one", async () => {
  using kv = await openStore(":memory:");
  const tokens = await open(kv);
  const once = mint({ singleUse: true, resource: "file:///ws/a" });
  const many = mint({ resource: "file:///ws/**" });
  await tokens.add(once);
  await tokens.add(many);
  equal(tokens.findCovering(["file:///ws/a"], "read", ["ws-1"])?.id, many.id);
});

Deno.test("findCovering() finds the one covering token among 1,000 others", async () => {
  using kv = await openStore(":memory:");
  const tokens = await open(kv);
  for (let i = 0; i < 1000; i++) {
    await tokens.add(mint({ resource: `file:///other/p${i}/**`, scope: "session" }));
  }
  const target = mint({ resource: "file:///home/u/proj/src/*.ts", scope: "session" });
  await tokens.add(target);
  equal(tokens.findCovering(["file:///home/u/proj/src/a.ts"], "read", ["ws-1"])?.id, target.id);
  equal(tokens.findCovering(["file:///home/u/proj/src/a.js"], "read", ["ws-1"]), null);
  equal(
    tokens.findCovering(["file:///other/p999/x"], "read", ["ws-1"])?.resource,
    "file:///other/p999/**",
  );
  equal(tokens.list().length, 1001);
});

Deno.test("add() refuses forged, untrusted, expired, malformed and duplicate tokens", async () => {
  using kv = await openStore(":memory:");
  const tokens = await open(kv);
  const good = mint();
  await rejects(tokens.add({ ...good, resource: "file:///**" }), { code: "FORGED" });
  await rejects(tokens.add({ ...good, expiresAt: good.expiresAt + 1 }), { code: "FORGED" });
  const foreign = mintToken(stranger, { ...mintOpts(), resource: "file:///**" });
  await rejects(tokens.add(foreign), { code: "UNTRUSTED_ISSUER" });
  await rejects(tokens.add(mint({ now: T0 - 10_000, ttlMs: 5000 })), { code: "EXPIRED" });
  await rejects(tokens.add({ ...good, extra: 1 } as CapabilityToken), { code: "MALFORMED" });
  await rejects(tokens.add(null as unknown as CapabilityToken), { code: "MALFORMED" });
  await tokens.add(good);
  await tokens.add(good); // the same token again is a no-op
  const twin = mint({ id: good.id, resource: "file:///**" });
  await rejects(tokens.add(twin), { code: "MALFORMED" });
  equal(tokens.get(good.id)?.resource, "file:///ws/**");
  equal(tokens.list().length, 1);
  equal((await kv.get(["tokens", foreign.id])).versionstamp, null);
});

function mintOpts(): MintOptions {
  return {
    resource: "file:///ws/**",
    permissions: ["read"],
    scope: "persistent",
    subject: "ws-1",
    auditId: 1,
    now: T0,
  };
}

Deno.test("add() keeps its own copy, immune to getters that change after verification", async () => {
  using kv = await openStore(":memory:");
  const tokens = await open(kv);
  const good = mint();
  let reads = 0;
  const shifty = { ...good } as Record<string, unknown>;
  Object.defineProperty(shifty, "resource", {
    enumerable: true,
    get: () => (reads++ === 0 ? good.resource : "file:///**"),
  });
  await tokens.add(shifty as unknown as CapabilityToken);
  equal(tokens.get(good.id)?.resource, "file:///ws/**");
  equal(tokens.findCovering(["file:///etc/passwd"], "read", ["ws-1"]), null);
});

Deno.test("add() verifies the whole chain: widened, orphaned, revoked-parent children", async () => {
  using kv = await openStore(":memory:");
  const tokens = await open(kv);
  const parent = mint({ ttlMs: 60_000 });
  const child = attenuate(parent, signer, { resource: "file:///ws/src/**", now: T0 + 1 });
  await rejects(tokens.add(child), { code: "BROKEN_CHAIN" });
  await tokens.add(parent);
  await tokens.add(child);
  const { sig: _sig, ...body } = parent;
  const widened = signRaw({
    ...body,
    id: crypto.randomUUID(),
    parent: parent.id,
    resource: "file:///**",
  });
  await rejects(tokens.add(widened), { code: "WIDENED" });
  const longer = signRaw({
    ...body,
    id: crypto.randomUUID(),
    parent: parent.id,
    expiresAt: parent.expiresAt + 1,
  });
  await rejects(tokens.add(longer), { code: "WIDENED" });
  await tokens.revoke(parent.id, "compromised");
  const late = attenuate(parent, signer, { resource: "file:///ws/doc/**", now: T0 + 2 });
  await rejects(tokens.add(late), { code: "REVOKED" });
  await rejects(tokens.add(parent), { code: "REVOKED" });
  equal(codeOf(tokens.verifyChain(child)), "REVOKED");
});

Deno.test("verifyChain() refuses chains deeper than MAX_CHAIN_DEPTH", async () => {
  using kv = await openStore(":memory:");
  const tokens = await open(kv);
  let current = mint({ ttlMs: 60_000 });
  await tokens.add(current);
  for (let depth = 2; depth <= MAX_CHAIN_DEPTH; depth++) {
    current = attenuate(current, signer, { now: T0 + depth });
    await tokens.add(current);
  }
  const tooDeep = attenuate(current, signer, { now: T0 + 9 });
  equal(codeOf(tokens.verifyChain(tooDeep)), "BROKEN_CHAIN");
});

Deno.test("revoke() revokes descendants and persists across a reopen", async () => {
  const path = `${await Deno.makeTempDir()}/state.kv`;
  const root = mint({ ttlMs: 60_000 });
  const child = attenuate(root, signer, { resource: "file:///ws/a/**", now: T0 + 1 });
  const grandchild = attenuate(child, signer, { resource: "file:///ws/a/b/**", now: T0 + 2 });
  const sibling = mint({ resource: "file:///elsewhere/**" });
  {
    using kv = await openStore(path);
    const tokens = await open(kv);
    for (const t of [root, child, grandchild, sibling]) await tokens.add(t);
    await tokens.revoke(child.id, "user asked");
    equal(tokens.get(child.id), null);
    equal(tokens.get(grandchild.id), null);
    equal(tokens.get(root.id)?.id, root.id);
    equal(tokens.findCovering(["file:///ws/a/b/c"], "read", ["ws-1"])?.id, root.id);
    await rejects(tokens.revoke("../x"), TypeError);
  }
  using kv = await openStore(path);
  const reopened = await open(kv);
  deepEqual(reopened.list().map((t) => t.id).sort(), [root.id, sibling.id].sort());
  deepEqual(
    reopened.rejected.map((r) => [r.id, r.code]).sort(),
    [[child.id, "REVOKED"], [grandchild.id, "REVOKED"]].sort(),
  );
  await Deno.remove(path.replace(/\/state\.kv$/, ""), { recursive: true });
});

Deno.test("open() loads only persistent tokens and refuses tampered or expired entries", async () => {
  using kv = await openStore(":memory:");
  const time = clock();
  const tokens = await open(kv, time.now);
  const kept = mint();
  const session = mint({ scope: "session" });
  const tampered = mint({ resource: "file:///ws/x/**" });
  const short = mint({ ttlMs: 1000, resource: "file:///short/**" });
  for (const t of [kept, session, tampered, short]) await tokens.add(t);
  equal((await kv.get(["tokens", session.id])).versionstamp, null);
  await kv.set(["tokens", tampered.id], { ...tampered, resource: "file:///**" });
  await kv.set(["tokens", "junk"], { hello: "world" });
  await kv.set(["tokens", crypto.randomUUID()], kept);
  time.set(T0 + 5000);
  const reopened = await open(kv, time.now);
  deepEqual(reopened.list().map((t) => t.id), [kept.id]);
  const codes = reopened.rejected.map((r) => r.code).sort();
  deepEqual(codes, ["EXPIRED", "FORGED", "MALFORMED", "MALFORMED"]);
  const strangerOnly = await TokenStore.open(kv, { trustedIssuers: [], now: time.now });
  equal(strangerOnly.list().length, 0);
});

Deno.test("consume() lets a single-use token through once, sequentially", async () => {
  using kv = await openStore(":memory:");
  const tokens = await open(kv);
  const once = mint({ singleUse: true, scope: "session" });
  await tokens.add(once);
  equal(codeOf(await tokens.consume(once)), "ok");
  equal(codeOf(await tokens.consume(once)), "REPLAYED");
  equal(codeOf(await tokens.consume(once)), "REPLAYED");
  const many = mint();
  await tokens.add(many);
  equal(codeOf(await tokens.consume(many)), "ok");
  equal(codeOf(await tokens.consume(many)), "ok");
  equal(codeOf(await tokens.consume({ ...once, resource: "file:///**" })), "FORGED");
});

Deno.test("consume() lets exactly one of 50 concurrent calls through, across two KV handles", async () => {
  const path = `${await Deno.makeTempDir()}/state.kv`;
  using kvA = await openStore(path);
  using kvB = await openStore(path);
  const a = await open(kvA);
  const b = await open(kvB);
  const once = mint({ singleUse: true });
  await a.add(once);
  await b.add(once);
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).consume(once)),
  );
  equal(results.filter((r) => r.ok).length, 1);
  ok(results.filter((r) => !r.ok).every((r) => !r.ok && r.code === "REPLAYED"));
  // A third store opened later sees it as used as well.
  const c = await open(kvA);
  equal(c.findCovering(["file:///ws/a"], "read", ["ws-1"]), null);
  equal(codeOf(await c.consume(once)), "REPLAYED");
  await Deno.remove(path.replace(/\/state\.kv$/, ""), { recursive: true });
});

Deno.test("consume() of 50 concurrent calls succeeds once, across two stores on one KV", async () => {
  using kv = await openStore(":memory:");
  const a = await open(kv);
  const b = await open(kv);
  const once = mint({ singleUse: true, scope: "session" });
  await a.add(once);
  await b.add(once);
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) => (i % 3 === 0 ? a : b).consume(once)),
  );
  equal(results.filter((r) => r.ok).length, 1);
  equal(results.filter((r) => !r.ok && r.code === "REPLAYED").length, 49);
});

Deno.test("add() run twice concurrently holds the token once; rival ids are refused", async () => {
  using kv = await openStore(":memory:");
  const tokens = await open(kv);
  const t = mint({ scope: "session" });
  await Promise.all([tokens.add(t), tokens.add(t), tokens.add(t)]);
  equal(tokens.list().length, 1);
  const rival = mint({ id: t.id, scope: "session", resource: "file:///**" });
  await rejects(tokens.add(rival), { code: "MALFORMED" });
  const p = mint({ resource: "file:///p/**" });
  const results = await Promise.allSettled([tokens.add(p), tokens.revoke(p.id)]);
  equal(results[1].status, "fulfilled");
  equal(tokens.get(p.id), null);
  equal(tokens.findCovering(["file:///p/a"], "read", ["ws-1"]), null);
});

Deno.test("consume() reads a shifty token once, so a getter cannot skip consumption", async () => {
  using kv = await openStore(":memory:");
  const tokens = await open(kv);
  const once = mint({ singleUse: true, scope: "session" });
  await tokens.add(once);
  const shifty = (): CapabilityToken => {
    let reads = 0;
    const copy = { ...once } as Record<string, unknown>;
    Object.defineProperty(copy, "singleUse", {
      enumerable: true,
      get: () => reads++ === 0,
    });
    return copy as unknown as CapabilityToken;
  };
  equal(codeOf(await tokens.consume(shifty())), "ok");
  equal(codeOf(await tokens.consume(shifty())), "REPLAYED");
});
