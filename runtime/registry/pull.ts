/**
 * Pulling a capsule artifact into a temporary folder, verified in a fixed order:
 * 1. the manifest's bytes against its digest (the tag's digest, or the digest asked for);
 * 2. the publisher's signature over that digest (signature.ts), before the manifest is parsed;
 * 3. the manifest's shape (artifact.ts), then every blob against its descriptor's digest;
 * 4. the BLAKE3 pin of `Capsule.toml` (`[component] hash`) against the wasm's bytes, and the
 *    config blob's name against `Capsule.toml`'s.
 * Any failure is a {@link RegistryError} `INTEGRITY` that names what failed, and the folder is
 * removed.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { blake3Hex, loadFastBlake3 } from "../crypto/mod.ts";
import { type CapsuleManifest, readManifest } from "../capsule/mod.ts";
import {
  type CapsuleMetadata,
  MAX_CONFIG_BYTES,
  MAX_LAYER_BYTES,
  parseArtifact,
  parseMetadata,
  TITLE,
} from "./artifact.ts";
import { type ClientOptions, RegistryClient } from "./client.ts";
import { RegistryError } from "./errors.ts";
import { parseRef } from "./reference.ts";
import { type Publisher, verifySignature } from "./signature.ts";

/** Options of {@link pullCapsule}. */
export interface PullOptions extends ClientOptions {
  /**
   * The manifest digest the caller expects (`astrid.lock`): a reference whose tag now names
   * another digest is refused (`INTEGRITY`, "the tag moved").
   */
  readonly expectDigest?: string | null | undefined;
  /** Prefer the signature of this publisher fingerprint when several verify (the pinned one). */
  readonly preferPublisher?: string | null | undefined;
}

/** A pulled, verified capsule in a temporary folder. */
export interface PulledCapsule {
  /** The temporary folder holding `Capsule.toml`, the wasm and any static files. */
  readonly dir: string;
  /** The manifest digest (`sha256:…`). */
  readonly digest: string;
  /** The reference, canonical (as given: tag or digest). */
  readonly ref: string;
  /** The key that signed the digest (the preferred one when several did). */
  readonly publisher: Publisher;
  /** Every key whose signature of the digest verifies, `publisher` first. */
  readonly signers: readonly Publisher[];
  /** The config blob (informative). */
  readonly metadata: CapsuleMetadata;
  /** The parsed `Capsule.toml`. */
  readonly manifest: CapsuleManifest;
  /** Bytes of the manifest and blobs read. */
  readonly bytes: number;
  /** Removes the temporary folder. */
  cleanup(): Promise<void>;
}

/**
 * Pulls `ref` and verifies it (see the module doc) into a temporary folder; call `cleanup()`.
 *
 * @throws {RegistryError} `REF`, `INSECURE`, `NOT_FOUND`, `REGISTRY`, `INTEGRITY`
 */
export async function pullCapsule(ref: string, opts: PullOptions = {}): Promise<PulledCapsule> {
  const source = parseRef(ref);
  const meter = opts.meter ?? { sent: 0, received: 0 };
  const client = new RegistryClient(source, { ...opts, meter });
  const start = meter.received;
  const repo = source.repository;
  const fetched = await client.getManifest(repo, source.digest ?? source.tag!);
  if (!fetched) {
    throw new RegistryError(
      "NOT_FOUND",
      `Cannot pull ${source.text}: the registry has no such tag`,
    );
  }
  const digest = fetched.digest;
  if (opts.expectDigest && digest !== opts.expectDigest) {
    throw new RegistryError(
      "INTEGRITY",
      `Cannot pull ${source.text} as locked: the tag moved (it now names ${digest}, ` +
        `astrid.lock pins ${opts.expectDigest})`,
    );
  }
  const signers = await verifySignature(client, repo, digest, opts.preferPublisher);
  const publisher = signers[0];
  const artifact = parseArtifact(fetched.bytes);
  const metadata = parseMetadata(
    await client.getBlob(repo, artifact.config.digest, MAX_CONFIG_BYTES),
  );
  const dir = await Deno.makeTempDir({ prefix: "astrid-pull-" });
  const cleanup = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  try {
    for (const layer of artifact.layers) {
      const bytes = await client.getBlob(repo, layer.digest, Math.min(layer.size, MAX_LAYER_BYTES));
      const path = join(dir, layer.annotations![TITLE]!);
      await Deno.mkdir(dirname(path), { recursive: true });
      await Deno.writeFile(path, bytes, { createNew: true, mode: 0o644 });
    }
    const { manifest } = await readManifest(dir);
    if (manifest.component) {
      const wasm = await Deno.readFile(join(dir, manifest.component.entrypoint)).catch(() => null);
      if (!wasm) {
        throw new RegistryError("INTEGRITY", `Cannot use ${source.text}: it has no wasm layer`);
      }
      await loadFastBlake3(); // large input (crypto/blake3.ts)
      const actual = `blake3:${blake3Hex(wasm)}`;
      if (manifest.component.hash !== actual) {
        throw new RegistryError(
          "INTEGRITY",
          `Cannot use ${source.text}: the BLAKE3 pin in Capsule.toml is ` +
            `${manifest.component.hash ?? "missing"}, the wasm's hash is ${actual}`,
        );
      }
    }
    if (metadata.name !== manifest.package.name) {
      throw new RegistryError(
        "INTEGRITY",
        `Cannot use ${source.text}: its config names ${metadata.name}, its Capsule.toml ` +
          manifest.package.name,
      );
    }
    return {
      dir,
      digest,
      ref: source.text,
      publisher,
      signers,
      metadata,
      manifest,
      bytes: meter.received - start,
      cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/**
 * Reads what `capsule info REF` shows: the digest, the config blob and the signature status,
 * without pulling the layers.
 *
 * @throws {RegistryError} `REF`, `INSECURE`, `NOT_FOUND`, `REGISTRY`, `INTEGRITY` (manifest)
 */
export async function inspectCapsule(ref: string, opts: ClientOptions = {}): Promise<{
  ref: string;
  digest: string;
  metadata: CapsuleMetadata;
  layers: { path: string; mediaType: string; digest: string; size: number }[];
  signature: { ok: true; publisher: string } | { ok: false; reason: string };
}> {
  const source = parseRef(ref);
  const client = new RegistryClient(source, opts);
  const fetched = await client.getManifest(source.repository, source.digest ?? source.tag!);
  if (!fetched) {
    throw new RegistryError(
      "NOT_FOUND",
      `Cannot inspect ${source.text}: the registry has no such tag`,
    );
  }
  let signature: { ok: true; publisher: string } | { ok: false; reason: string };
  try {
    const [p] = await verifySignature(client, source.repository, fetched.digest);
    signature = { ok: true, publisher: p.fingerprint };
  } catch (e) {
    if (!(e instanceof RegistryError)) throw e;
    signature = { ok: false, reason: e.message };
  }
  const artifact = parseArtifact(fetched.bytes);
  const metadata = parseMetadata(
    await client.getBlob(source.repository, artifact.config.digest, MAX_CONFIG_BYTES),
  );
  return {
    ref: source.text,
    digest: fetched.digest,
    metadata,
    layers: artifact.layers.map((l) => ({
      path: l.annotations![TITLE]!,
      mediaType: l.mediaType,
      digest: l.digest,
      size: l.size,
    })),
    signature,
  };
}
