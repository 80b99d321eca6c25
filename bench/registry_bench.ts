/**
 * Registry benchmarks: examples/hello (compiled once) published to, and pulled from, a real
 * loopback registry (Debian's `docker-registry`, started here):
 *
 * - publish: push the wasm, Capsule.toml and metadata blobs, the manifest and the cosign-style
 *   signature manifest (blobs already in the registry are skipped by the client, as a re-publish
 *   would be);
 * - pull + verify: fetch the manifest, check the signature over its digest, fetch every blob and
 *   check its digest and the BLAKE3 pin, into a temporary folder.
 *
 * The bytes on the wire of one publish and one pull are printed once.
 */
import { compileCapsule } from "../toolchain/compile.ts";
import { buildEngine } from "../toolchain/engine/build.ts";
import { generatePublisherKey } from "../runtime/registry/publisher_key.ts";
import { publishCapsule } from "../runtime/registry/publish.ts";
import { pullCapsule } from "../runtime/registry/pull.ts";
import { startRegistry } from "../runtime/registry/loopback_registry.ts";

const HELLO = decodeURIComponent(new URL("../examples/hello", import.meta.url).pathname);

await buildEngine({ log: () => {} });
const out = await Deno.makeTempDir({ prefix: "astrid-bench-registry-" });
await compileCapsule(HELLO, { out, typeCheck: false });
const key = await generatePublisherKey(await Deno.makeTempDir({ prefix: "astrid-bench-keys-" }));
const registry = await startRegistry();
const ref = `${registry.url}/bench/hello:1`;

const meter = { sent: 0, received: 0 };
await publishCapsule(out, ref, { key, meter });
const pulled = await pullCapsule(ref, { meter });
await pulled.cleanup();
console.log(`hello on the wire: ${meter.sent} bytes published, ${meter.received} bytes pulled`);

Deno.bench("publish examples/hello to a loopback registry (signed)", async () => {
  await publishCapsule(out, ref, { key });
});

Deno.bench("pull + verify examples/hello (digests, signature, BLAKE3 pin)", async () => {
  const p = await pullCapsule(ref);
  await p.cleanup();
});

globalThis.addEventListener("unload", () => {
  registry.stop().catch(() => {});
});
