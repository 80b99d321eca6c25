/**
 * Publishing a compiled capsule: verify it (the BLAKE3 pin of `Capsule.toml` must match the
 * wasm), push its files as layers, its metadata as the config blob, the manifest under the
 * reference's tag, then the publisher's signature of the manifest digest (signature.ts).
 *
 * @module
 */
import { loadCapsule } from "../capsule/mod.ts";
import {
  buildManifest,
  type CapsuleMetadata,
  CONFIG_TYPE,
  type Descriptor,
  OCI_MANIFEST_TYPE,
  TITLE,
} from "./artifact.ts";
import { type ClientOptions, RegistryClient } from "./client.ts";
import { RegistryError } from "./errors.ts";
import { readCapsuleFiles } from "./_files.ts";
import type { PublisherKey } from "./publisher_key.ts";
import { parseRef } from "./reference.ts";
import { pushSignature, signatureTag } from "./signature.ts";

/** Options of {@link publishCapsule}. */
export interface PublishOptions extends ClientOptions {
  /** The publisher key that signs the manifest digest. */
  readonly key: PublisherKey;
}

/** What {@link publishCapsule} pushed. */
export interface Published {
  /** The reference as given, canonical. */
  readonly ref: string;
  /** The manifest digest (what the signature covers). */
  readonly digest: string;
  /** The tag that holds the signature. */
  readonly signatureTag: string;
  readonly metadata: CapsuleMetadata;
  /** The layers pushed: path, digest and size. */
  readonly layers: { path: string; digest: string; size: number }[];
}

/**
 * Publishes the compiled capsule in `dir` to `ref` (`oci://HOST[:PORT]/REPO:TAG`), signed by
 * `opts.key`.
 *
 * @throws {RegistryError} `REF`, `INSECURE`, `REGISTRY`; {@link CapsuleError} `INTEGRITY` when
 * the capsule's wasm does not match its pin
 */
export async function publishCapsule(
  dir: string,
  ref: string,
  opts: PublishOptions,
): Promise<Published> {
  const target = parseRef(ref);
  if (target.tag === null) {
    throw new RegistryError("REF", `Cannot publish to ${ref}: give a tag, not a digest`);
  }
  const root = await Deno.realPath(dir);
  const checked = await loadCapsule(root, { requireHash: true });
  const { manifest, files } = await readCapsuleFiles(root);
  const client = new RegistryClient(target, opts);
  const layers: Descriptor[] = [];
  for (const f of files) {
    const digest = await client.pushBlob(target.repository, f.bytes);
    layers.push({
      mediaType: f.mediaType,
      digest,
      size: f.bytes.length,
      annotations: { [TITLE]: f.path },
    });
  }
  const metadata: CapsuleMetadata = {
    name: manifest.package.name,
    version: manifest.package.version,
    description: manifest.package.description ?? null,
    hash: checked.wasm?.hash ?? null,
    capabilities: { ...manifest.capabilities },
    publisher: opts.key.fingerprint,
  };
  const config = new TextEncoder().encode(JSON.stringify(metadata));
  const configDigest = await client.pushBlob(target.repository, config);
  const body = buildManifest(
    { mediaType: CONFIG_TYPE, digest: configDigest, size: config.length },
    layers,
  );
  const digest = await client.putManifest(
    target.repository,
    target.tag,
    body,
    OCI_MANIFEST_TYPE,
  );
  await pushSignature(client, target.host, target.repository, digest, opts.key, {
    "dev.astrid.capsule": metadata.name,
    "dev.astrid.publisher": opts.key.fingerprint,
  });
  return {
    ref: target.text,
    digest,
    signatureTag: signatureTag(digest),
    metadata,
    layers: layers.map((l) => ({ path: l.annotations![TITLE]!, digest: l.digest, size: l.size })),
  };
}
