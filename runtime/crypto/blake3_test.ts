import { equal } from "node:assert/strict";
import { createBLAKE3 } from "hash-wasm";
import { blake3, blake3File, blake3Hex } from "./blake3.ts";
import { toHex } from "./encoding.ts";

/** The official test vectors (BLAKE3-team/BLAKE3 test_vectors.json): input byte i is i % 251. */
const VECTORS: [number, string][] = [
  [0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"],
  [1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"],
  [1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11"],
  [1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"],
  [1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"],
  [2048, "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a"],
  [2049, "5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030"],
  [3072, "b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2"],
  [3073, "7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3"],
  [4096, "015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e969"],
  [4097, "9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995"],
  [5121, "628bd2cb2004694adaab7bbd778a25df25c47b9d4155a55f8fbd79f2fe154cff"],
  [8192, "aae792484c8efe4f19e2ca7d371d8c467ffb10748d8a5a1ae579948f718a2a63"],
  [8193, "bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b"],
  [16384, "f875d6646de28985646f34ee13be9a576fd515f76b5b0a26bb324735041ddde4"],
  [31744, "62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47"],
  [102400, "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085"],
];

function input(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = i % 251;
  return out;
}

Deno.test("blake3() and blake3Hex() match the official vectors, small and large, in one part or several", () => {
  for (const [length, hex] of VECTORS) {
    const bytes = input(length);
    equal(blake3Hex(bytes), hex, `${length} bytes`);
    equal(toHex(blake3(bytes)), hex, `${length} bytes, binary`);
    // Split across the 4 KiB switch between implementations and a chunk boundary.
    const cut = Math.min(length, 1000);
    equal(blake3Hex(bytes.subarray(0, cut), bytes.subarray(cut)), hex, `${length} bytes, 2 parts`);
    equal(toHex(blake3(bytes.subarray(0, cut), bytes.subarray(cut))), hex);
  }
});

Deno.test("strings hash as their UTF-8 bytes, whichever implementation runs", () => {
  const text = "é".repeat(3000); // 6000 bytes: the large path
  const bytes = new TextEncoder().encode(text);
  equal(blake3Hex(text), blake3Hex(bytes));
  equal(blake3Hex("abc", text), blake3Hex(new TextEncoder().encode(`abc${text}`)));
  equal(blake3Hex("abc"), "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85");
});

Deno.test("1 MiB and 3 MiB + 1 buffers and files agree with hash-wasm's streaming hasher", async () => {
  const reference = await createBLAKE3(256);
  for (const length of [1 << 20, (3 << 20) + 1]) {
    const bytes = input(length);
    reference.init();
    reference.update(bytes);
    const expected = reference.digest("hex");
    equal(blake3Hex(bytes), expected);
    const path = await Deno.makeTempFile();
    try {
      await Deno.writeFile(path, bytes);
      equal(await blake3File(path), expected);
    } finally {
      await Deno.remove(path);
    }
  }
});

Deno.test("the written-out BLAKE3 equals blake3-jit on every length around block and chunk boundaries", async () => {
  const { hash } = await import("blake3-jit");
  const { blake3Small } = await import("./_blake3_small.ts");
  const lengths = new Set<number>();
  for (let n = 0; n <= 2100; n++) lengths.add(n);
  for (const chunks of [2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65, 100]) {
    for (const d of [-65, -64, -63, -1, 0, 1, 63, 64, 65]) lengths.add(chunks * 1024 + d);
  }
  lengths.add(1 << 20);
  lengths.add((1 << 20) + 12345);
  for (const n of lengths) {
    const input = new Uint8Array(n);
    for (let i = 0; i < n; i++) input[i] = (i * 31 + (i >> 8)) & 255;
    const got = blake3Small(input).toHex();
    const want = hash(input).toHex();
    if (got !== want) throw new Error(`length ${n}: ${got} != ${want}`);
  }
  for (let k = 0; k < 200; k++) {
    const input = crypto.getRandomValues(new Uint8Array(Math.floor(Math.random() * 9000)));
    equal(blake3Small(input).toHex(), hash(input).toHex(), `random input of ${input.length} bytes`);
  }
});

Deno.test("blake3() gives the same bytes before and after loadFastBlake3()", async () => {
  const { blake3Small } = await import("./_blake3_small.ts");
  const { blake3, blake3Hex, loadFastBlake3 } = await import("./blake3.ts");
  const parts = ["astrid", new Uint8Array([1, 2, 3]), "x".repeat(5000)];
  const joined = new TextEncoder().encode("astrid\u0001\u0002\u0003" + "x".repeat(5000));
  const small = blake3Small(joined).toHex();
  await loadFastBlake3();
  await loadFastBlake3(); // settles at once the second time
  equal(blake3Hex(...parts), small);
  equal(blake3(...parts).toHex(), small);
});
