import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import { canonicalBytes } from "./canonical.ts";
import { loadSigner, signerFromSeed, verify, verifyAhead } from "./ed25519.ts";
import { fromHex, toHex } from "./encoding.ts";
import { evalFresh } from "../../tests/cli.ts";

ed.hashes.sha512 = sha512;

// RFC 8032 §7.1, TEST 1–3 (SECRET KEY is the 32-byte seed).
const VECTORS = [
  {
    name: "TEST 1",
    seed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    message: "",
    signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac" +
      "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  },
  {
    name: "TEST 2",
    seed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    message: "72",
    signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e" +
      "458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  },
  {
    name: "TEST 3",
    seed: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
    publicKey: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
    message: "af82",
    signature: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290" +
      "ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
  },
];

const PKCS8_PREFIX = fromHex("302e020100300506032b657004220420");

// WebCrypto wants ArrayBuffer-backed views: copy into one.
const buf = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(bytes);

async function webCryptoKeys(seed: Uint8Array): Promise<{ priv: CryptoKey; pub: CryptoKey }> {
  const der = new Uint8Array(PKCS8_PREFIX.length + 32);
  der.set(PKCS8_PREFIX);
  der.set(seed, PKCS8_PREFIX.length);
  const priv = await crypto.subtle.importKey("pkcs8", der, "Ed25519", false, ["sign"]);
  der.fill(0);
  const pub = await crypto.subtle.importKey(
    "raw",
    buf(signerFromSeed(seed).publicKey),
    "Ed25519",
    true,
    ["verify"],
  );
  return { priv, pub };
}

for (const v of VECTORS) {
  Deno.test(`signerFromSeed() reproduces RFC 8032 §7.1 ${v.name}`, () => {
    const signer = signerFromSeed(fromHex(v.seed));
    const message = fromHex(v.message);
    equal(toHex(signer.publicKey), v.publicKey);
    const sig = signer.sign(message);
    equal(toHex(sig), v.signature);
    ok(verify(fromHex(v.publicKey), message, fromHex(v.signature)));
  });

  Deno.test(`loadSigner() reproduces RFC 8032 §7.1 ${v.name}, signing twice alike`, async () => {
    const signer = await loadSigner(fromHex(v.seed));
    const message = fromHex(v.message);
    equal(toHex(signer.publicKey), v.publicKey);
    equal(toHex(signer.sign(message)), v.signature);
    equal(toHex(signer.sign(message)), v.signature);
    equal(toHex(await signer.signAsync(message)), v.signature);
    equal(toHex(await signerFromSeed(fromHex(v.seed)).signAsync(message)), v.signature);
  });

  Deno.test(`verify() rejects RFC 8032 ${v.name} with one bit flipped`, () => {
    const sig = fromHex(v.signature);
    sig[0]! ^= 1;
    equal(verify(fromHex(v.publicKey), fromHex(v.message), sig), false);
    const msg = new Uint8Array([...fromHex(v.message), 0]);
    equal(verify(fromHex(v.publicKey), msg, fromHex(v.signature)), false);
  });
}

Deno.test("node:crypto, @noble/ed25519 and WebCrypto sign a token byte-identically", async () => {
  const seed = fromHex(VECTORS[2]!.seed);
  const message = canonicalBytes("token", {
    v: 1,
    id: "00000000-0000-4000-8000-000000000001",
    resource: "file:///ws/**",
    permissions: ["read", "write"],
  });
  const native = signerFromSeed(seed).sign(message);
  const noble = ed.sign(message, seed);
  const { priv, pub } = await webCryptoKeys(seed);
  const web = new Uint8Array(await crypto.subtle.sign("Ed25519", priv, buf(message)));
  deepEqual(toHex(noble), toHex(native));
  deepEqual(toHex(web), toHex(native));

  const publicKey = signerFromSeed(seed).publicKey;
  deepEqual(toHex(ed.getPublicKey(seed)), toHex(publicKey));
  // Each implementation verifies the others' signatures, and refuses a tampered message.
  ok(verify(publicKey, message, noble));
  ok(verify(publicKey, message, web));
  ok(ed.verify(native, message, publicKey));
  ok(ed.verify(web, message, publicKey));
  ok(await crypto.subtle.verify("Ed25519", pub, buf(native), buf(message)));
  ok(await crypto.subtle.verify("Ed25519", pub, buf(noble), buf(message)));
  const tampered = message.slice();
  tampered[tampered.length - 2]! ^= 1;
  equal(ed.verify(native, tampered, publicKey), false);
  equal(await crypto.subtle.verify("Ed25519", pub, buf(native), buf(tampered)), false);
  equal(verify(publicKey, tampered, web), false);
});

Deno.test("verify() returns false for keys and signatures of the wrong length", () => {
  const v = VECTORS[0]!;
  equal(
    verify(fromHex(v.publicKey).subarray(0, 31), new Uint8Array(), fromHex(v.signature)),
    false,
  );
  equal(verify(fromHex(v.publicKey), new Uint8Array(), fromHex(v.signature).subarray(1)), false);
  equal(verify(new Uint8Array(32), new Uint8Array(), fromHex(v.signature)), false);
});

Deno.test("loadSigner() refuses seeds of the wrong length and leaves no copy of the seed", async () => {
  for (const n of [0, 31, 33, 64]) {
    await rejects(() => loadSigner(new Uint8Array(n)), RangeError);
  }
  const seed = fromHex(VECTORS[0]!.seed);
  const signer = await loadSigner(seed);
  // The caller's seed is the caller's to wipe; the signer does not depend on it afterwards.
  seed.fill(0);
  equal(toHex(signer.sign(new Uint8Array())), VECTORS[0]!.signature);
});

/** Signatures on the edges of RFC 8032 §5.1.7: non-canonical scalars and points, small orders. */
function edgeCases(): [
  name: string,
  publicKey: Uint8Array,
  message: Uint8Array,
  sig: Uint8Array,
][] {
  const L = (1n << 252n) + 27742317777372353535851937790883648493n;
  const p = (1n << 255n) - 19n;
  const le = (n: bigint) => {
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 255n);
    return out;
  };
  const v = VECTORS[1]!;
  const [pub, msg, sig] = [fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature)];
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
  const sPlusL = sig.slice();
  sPlusL.set(le(s + L), 32);
  const identity = le(1n);
  const rIdentity = new Uint8Array(64);
  rIdentity.set(identity);
  const rNonCanonical = new Uint8Array(64);
  rNonCanonical.set(le(p + 1n));
  const highS = sig.slice();
  highS[63]! |= 0x80;
  const flippedA = pub.slice();
  flippedA[31]! ^= 0x80;
  return [
    ["the RFC vector", pub, msg, sig],
    ["S + L", pub, msg, sPlusL],
    ["S with its top bit set", pub, msg, highS],
    ["A with its sign bit flipped", flippedA, msg, sig],
    ["identity A, identity R, S = 0", identity, msg, rIdentity],
    ["order-2 A, identity R, S = 0", le(p - 1n), msg, rIdentity],
    ["non-canonical A (y = p + 1)", le(p + 1n), msg, rIdentity],
    ["identity A, non-canonical R", identity, msg, rNonCanonical],
    ["an all-zero key and signature", new Uint8Array(32), msg, new Uint8Array(64)],
  ];
}

/** WebCrypto's answer (a key it cannot import: false). */
async function webVerify(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): Promise<boolean> {
  const key = await crypto.subtle.importKey("raw", pub.slice(), "Ed25519", false, ["verify"])
    .catch(() => null);
  return key ? await crypto.subtle.verify("Ed25519", key, sig.slice(), msg.slice()) : false;
}

Deno.test("WebCrypto and node:crypto accept and reject the same edge-case signatures", async () => {
  for (const [name, publicKey, message, sig] of edgeCases()) {
    const web = await webVerify(publicKey, message, sig);
    equal(web, verify(publicKey, message, sig), name);
  }
});

Deno.test("verifyAhead() lets verify() answer what verified, and nothing else", async () => {
  const v = VECTORS[2]!;
  const [publicKey, message, signature] = [
    fromHex(v.publicKey),
    fromHex(v.message),
    fromHex(v.signature),
  ];
  const forged = signature.slice();
  forged[10]! ^= 1;
  const otherMessage = new Uint8Array([...message, 1]);
  await verifyAhead([
    { publicKey, message, signature },
    { publicKey, message, signature: forged },
    { publicKey, message: otherMessage, signature },
    { publicKey: publicKey.subarray(1), message, signature },
    { publicKey, message, signature: signature.subarray(1) },
    { publicKey: new Uint8Array(32).fill(0xff), message, signature },
  ]);
  ok(verify(publicKey, message, signature));
  equal(verify(publicKey, message, forged), false);
  equal(verify(publicKey, otherMessage, signature), false);
  for (const [name, pub, msg, sig] of edgeCases()) {
    await verifyAhead([{ publicKey: pub, message: msg, signature: sig }]);
    equal(verify(pub, msg, sig), await webVerify(pub, msg, sig), name);
  }
});

Deno.test("signAsync() in a fresh process (WebCrypto, node:crypto not loaded) matches RFC 8032 §7.1", async () => {
  // In this test process node:crypto is loaded already, so signAsync() takes the native path;
  // a fresh process signs with WebCrypto first, then natively once sign() has loaded it.
  const script = `
    import { loadSigner } from ${JSON.stringify(new URL("./ed25519.ts", import.meta.url).href)};
    import { fromHex, toHex } from ${
    JSON.stringify(new URL("./encoding.ts", import.meta.url).href)
  };
    const out = [];
    for (const v of ${JSON.stringify(VECTORS)}) {
      const signer = await loadSigner(fromHex(v.seed));
      const web = toHex(await signer.signAsync(fromHex(v.message)));
      const sync = toHex(signer.sign(fromHex(v.message)));
      const after = toHex(await signer.signAsync(fromHex(v.message)));
      out.push([web, sync, after]);
    }
    console.log(JSON.stringify(out));
  `;
  const stdout = await evalFresh(script);
  const got: string[][] = JSON.parse(stdout);
  deepEqual(got, VECTORS.map((v) => [v.signature, v.signature, v.signature]));
});
