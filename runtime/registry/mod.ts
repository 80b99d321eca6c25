/**
 * Capsule distribution over OCI registries: publish a compiled capsule as one signed OCI
 * artifact, pull and verify it (digests, publisher signature, BLAKE3 pin), trust publishers on
 * first use, list a registry, and keep `astrid.lock`.
 *
 * The client is ours, over `fetch` (client.ts): the npm OCI clients either target Node's HTTP
 * stack and Docker's v2 schema (`docker-registry-client`), serve one hosted registry
 * (`oras-pull`), or are internal to sigstore (`@sigstore/oci`); the subset we need is the `/v2/`
 * blob, manifest, tags and catalog calls, about 250 lines.
 *
 * @example Parse a reference
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { parseRef } from "./mod.ts";
 * equal(parseRef("oci://127.0.0.1:5000/astrid/hello:0.1.0").scheme, "http");
 * ```
 *
 * @module
 */
export { RegistryError, type RegistryErrorCode } from "./errors.ts";
export {
  type CapsuleRef,
  isLoopbackHost,
  parseRef,
  parseRegistry,
  type RegistryAddress,
  withDigest,
} from "./reference.ts";
export {
  type ClientOptions,
  type FetchedManifest,
  type RegistryAuth,
  RegistryClient,
  sha256Digest,
} from "./client.ts";
export {
  ARTIFACT_TYPE,
  buildManifest,
  type CapsuleArtifact,
  type CapsuleMetadata,
  CONFIG_TYPE,
  type Descriptor,
  FILE_LAYER_TYPE,
  MANIFEST_LAYER_TYPE,
  OCI_MANIFEST_TYPE,
  parseArtifact,
  parseMetadata,
  TITLE,
  WASM_LAYER_TYPE,
} from "./artifact.ts";
export {
  KEY_ANNOTATION,
  type Publisher,
  pushSignature,
  SIGNATURE_ANNOTATION,
  SIGNATURE_LAYER_TYPE,
  signatureTag,
  signingPayload,
  verifySignature,
} from "./signature.ts";
export {
  ensurePublisherKey,
  generatePublisherKey,
  loadPublisherKey,
  PUBLISHER_KEY_FILE,
  type PublisherKey,
} from "./publisher_key.ts";
export { publishCapsule, type Published, type PublishOptions } from "./publish.ts";
export { inspectCapsule, pullCapsule, type PulledCapsule, type PullOptions } from "./pull.ts";
export { type PinRead, type PublisherPin, PublisherPins } from "./trust.ts";
export {
  findLocked,
  LOCK_FILE,
  type LockEntry,
  type Lockfile,
  readLock,
  writeLockEntry,
} from "./lock.ts";
