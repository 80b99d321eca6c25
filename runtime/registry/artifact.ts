/**
 * The capsule artifact: one OCI image manifest (image-spec v1.1 §"Guidelines for artifact
 * usage") with `artifactType` {@link ARTIFACT_TYPE}, a small metadata config blob and one layer
 * per file the manifest names (`Capsule.toml`, the wasm, static files), each titled with its
 * path (`org.opencontainers.image.title`).
 *
 * Everything read back is validated before use: sizes are capped, titles are plain relative
 * paths (no `..`, no absolute path, no duplicates), and every descriptor is a `sha256:` digest.
 *
 * @module
 */
import { z } from "zod";
import { RegistryError } from "./errors.ts";

/** The manifest's `artifactType`. */
export const ARTIFACT_TYPE = "application/vnd.astrid.capsule.v1+json";
/** The config blob's media type (the metadata JSON, {@link CapsuleMetadata}). */
export const CONFIG_TYPE = "application/vnd.astrid.capsule.config.v1+json";
/** The media type of the `Capsule.toml` layer. */
export const MANIFEST_LAYER_TYPE = "application/vnd.astrid.capsule.manifest.v1+toml";
/** The media type of the wasm layer (the `[component] entrypoint`). */
export const WASM_LAYER_TYPE = "application/vnd.astrid.capsule.wasm.v1+wasm";
/** The media type of any other file the manifest names (skills, context files, commands). */
export const FILE_LAYER_TYPE = "application/vnd.astrid.capsule.file.v1";
/** The OCI image manifest media type. */
export const OCI_MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";
/** The annotation that names a layer's file. */
export const TITLE = "org.opencontainers.image.title";

/** The largest capsule file accepted from a registry (the loader caps wasm at 64 MiB too). */
export const MAX_LAYER_BYTES = 64 << 20;
/** The largest config blob accepted. */
export const MAX_CONFIG_BYTES = 64 << 10;
/** The most layers accepted. */
export const MAX_LAYERS = 64;

const DIGEST = z.string().regex(/^sha256:[0-9a-f]{64}$/);
const SAFE_PATH =
  /^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9_][A-Za-z0-9._-]*(?:\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;

const DESCRIPTOR = z.object({
  mediaType: z.string().max(255),
  digest: DIGEST,
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
});

const MANIFEST = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(OCI_MANIFEST_TYPE),
  artifactType: z.literal(ARTIFACT_TYPE),
  config: DESCRIPTOR.extend({ mediaType: z.literal(CONFIG_TYPE) }),
  layers: z.array(DESCRIPTOR).min(1).max(MAX_LAYERS),
  annotations: z.record(z.string(), z.string()).optional(),
});

const METADATA = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/),
  version: z.string().max(64),
  description: z.string().max(1024).nullable(),
  hash: z.string().regex(/^blake3:[0-9a-f]{64}$/).nullable(),
  capabilities: z.record(z.string(), z.unknown()),
  publisher: z.string().max(64),
});

/** An OCI descriptor. */
export type Descriptor = z.output<typeof DESCRIPTOR>;

/** The capsule manifest as validated. */
export type CapsuleArtifact = z.output<typeof MANIFEST>;

/**
 * The config blob: what `capsule info REF` shows before anything is installed. `hash` is the
 * `[component] hash` of `Capsule.toml` (null for a static capsule); `publisher` the publisher
 * key's fingerprint. It is informative: install trusts the signed manifest's layers, not it.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import type { CapsuleMetadata } from "./artifact.ts";
 * const m: CapsuleMetadata = {
 *   name: "hello", version: "0.1.0", description: null, hash: null, capabilities: {},
 *   publisher: "b3:x",
 * };
 * equal(m.name, "hello");
 * ```
 */
export type CapsuleMetadata = z.output<typeof METADATA>;

/** One file to publish: its path in the capsule folder, bytes and media type. */
export interface ArtifactFile {
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly mediaType: string;
}

/**
 * The image manifest's JSON bytes for a config descriptor and layer descriptors.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { buildManifest, CONFIG_TYPE, parseArtifact } from "./artifact.ts";
 * const d = `sha256:${"0".repeat(64)}`;
 * const bytes = buildManifest(
 *   { mediaType: CONFIG_TYPE, digest: d, size: 2 },
 *   [{ mediaType: "x", digest: d, size: 1, annotations: { "org.opencontainers.image.title": "Capsule.toml" } }],
 * );
 * equal(parseArtifact(bytes).layers.length, 1);
 * ```
 */
export function buildManifest(config: Descriptor, layers: Descriptor[]): Uint8Array {
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST_TYPE,
    artifactType: ARTIFACT_TYPE,
    config,
    layers,
  };
  return new TextEncoder().encode(JSON.stringify(manifest));
}

/**
 * Parses and validates a capsule manifest's bytes: the artifact type, descriptors, and the
 * layers' titles (safe relative paths, unique, `Capsule.toml` among them).
 *
 * @throws {RegistryError} `INTEGRITY` when it is not a valid capsule artifact
 *
 * @example A manifest of another artifact type is refused
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { parseArtifact } from "./artifact.ts";
 * throws(() => parseArtifact(new TextEncoder().encode('{"schemaVersion":2}')), /not a capsule/);
 * ```
 */
export function parseArtifact(bytes: Uint8Array): CapsuleArtifact {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new RegistryError("INTEGRITY", "Cannot read the manifest: it is not JSON");
  }
  const parsed = MANIFEST.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RegistryError(
      "INTEGRITY",
      `Cannot use the manifest: it is not a capsule artifact (${issue?.path.join(".")}: ` +
        `${issue?.message})`,
    );
  }
  const seen = new Set<string>();
  for (const layer of parsed.data.layers) {
    const title = layer.annotations?.[TITLE];
    if (!title || !SAFE_PATH.test(title) || title.length > 255 || seen.has(title)) {
      throw new RegistryError(
        "INTEGRITY",
        `Cannot use the manifest: layer ${layer.digest} has a missing, unsafe or repeated title ` +
          JSON.stringify(title ?? null),
      );
    }
    if (layer.size > MAX_LAYER_BYTES) {
      throw new RegistryError(
        "INTEGRITY",
        `Cannot use the manifest: layer ${title} is ${layer.size} bytes (max ${MAX_LAYER_BYTES})`,
      );
    }
    seen.add(title);
  }
  if (!seen.has("Capsule.toml")) {
    throw new RegistryError("INTEGRITY", "Cannot use the manifest: it has no Capsule.toml layer");
  }
  if (parsed.data.config.size > MAX_CONFIG_BYTES) {
    throw new RegistryError("INTEGRITY", "Cannot use the manifest: its config blob is too large");
  }
  return parsed.data;
}

/**
 * Parses the config blob.
 *
 * @throws {RegistryError} `INTEGRITY` when it does not validate
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { parseMetadata } from "./artifact.ts";
 * const text = JSON.stringify({
 *   name: "hello", version: "1", description: null, hash: null, capabilities: {}, publisher: "b3:k",
 * });
 * equal(parseMetadata(new TextEncoder().encode(text)).name, "hello");
 * ```
 */
export function parseMetadata(bytes: Uint8Array): CapsuleMetadata {
  try {
    return METADATA.parse(JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)));
  } catch {
    throw new RegistryError("INTEGRITY", "Cannot use the config blob: it does not validate");
  }
}
