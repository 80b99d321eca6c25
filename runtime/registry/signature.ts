/**
 * Publisher signatures, following cosign's conventions for registries without the OCI 1.1
 * referrers API: the signature of the manifest `sha256:<hex>` is an OCI image manifest stored
 * under the tag `sha256-<hex>.sig` in the same repository. Each of its layers (media type
 * `application/vnd.dev.cosign.simplesigning.v1+json`) is one signature:
 * - the layer blob is the "simple signing" payload (JSON):
 *   `{"critical":{"identity":{"docker-reference":"HOST/REPO"},"image":{"docker-manifest-digest":
 *   "sha256:…"},"type":"cosign container image signature"},"optional":{…}}`;
 * - annotation `dev.cosignproject.cosign/signature`: standard base64 of the Ed25519 signature
 *   (RFC 8032 §5.1.6) over the payload's exact bytes;
 * - annotation `dev.astrid.publisher.key`: hex of the raw 32-byte Ed25519 public key (cosign
 *   takes the key out of band; we carry it so trust on first use can pin it). Its fingerprint
 *   is recomputed from the key, never read from the payload.
 *
 * Verification runs in a fixed order: fetch the payload blob (size-capped, digest checked),
 * check the key and signature lengths, verify the signature over the payload bytes, and only
 * then parse the payload and compare its `docker-manifest-digest` with the artifact's digest.
 *
 * @module
 */
import { fingerprint, verify } from "../crypto/mod.ts";
import { fromHex, toHex } from "../crypto/mod.ts";
import type { Signer } from "../crypto/mod.ts";
import { OCI_MANIFEST_TYPE } from "./artifact.ts";
import type { RegistryClient } from "./client.ts";
import { RegistryError } from "./errors.ts";

/** The layer media type of a cosign simple-signing payload. */
export const SIGNATURE_LAYER_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
/** The annotation holding the base64 signature (cosign's). */
export const SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";
/** The annotation holding the publisher's raw public key (hex; ours). */
export const KEY_ANNOTATION = "dev.astrid.publisher.key";
/** The payload's `critical.type` (cosign's). */
export const PAYLOAD_TYPE = "cosign container image signature";

const CONFIG_TYPE = "application/vnd.oci.image.config.v1+json";
const MAX_PAYLOAD = 64 << 10;
const MAX_SIGNATURES = 16;

/** A verified publisher: the key that signed, and its fingerprint. */
export interface Publisher {
  readonly fingerprint: string;
  readonly publicKey: Uint8Array;
}

/**
 * The tag that holds the signature of `digest` (cosign's scheme).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { signatureTag } from "./signature.ts";
 * equal(signatureTag(`sha256:${"ab".repeat(32)}`), `sha256-${"ab".repeat(32)}.sig`);
 * ```
 */
export function signatureTag(digest: string): string {
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
    throw new TypeError(`Cannot name a signature tag: current digest is ${digest}`);
  }
  return `${digest.replace(":", "-")}.sig`;
}

/**
 * The simple-signing payload bytes for `digest` of `host/repository`.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { signingPayload } from "./signature.ts";
 * const d = `sha256:${"0".repeat(64)}`;
 * const p = JSON.parse(new TextDecoder().decode(signingPayload("h/r", d, {})));
 * equal(p.critical.image["docker-manifest-digest"], d);
 * ```
 */
export function signingPayload(
  reference: string,
  digest: string,
  optional: Record<string, string>,
): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({
    critical: {
      identity: { "docker-reference": reference },
      image: { "docker-manifest-digest": digest },
      type: PAYLOAD_TYPE,
    },
    optional,
  }));
}

/**
 * Signs `digest` with `signer` and stores the signature manifest under its `.sig` tag
 * (replacing an earlier one). Returns the signature manifest's digest.
 */
export async function pushSignature(
  client: RegistryClient,
  host: string,
  repository: string,
  digest: string,
  signer: Signer,
  optional: Record<string, string>,
): Promise<string> {
  const payload = signingPayload(`${host}/${repository}`, digest, optional);
  const sig = signer.sign(payload);
  const payloadDigest = await client.pushBlob(repository, payload);
  const config = new TextEncoder().encode("{}");
  const configDigest = await client.pushBlob(repository, config);
  const manifest = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST_TYPE,
    config: { mediaType: CONFIG_TYPE, digest: configDigest, size: config.length },
    layers: [{
      mediaType: SIGNATURE_LAYER_TYPE,
      digest: payloadDigest,
      size: payload.length,
      annotations: {
        [SIGNATURE_ANNOTATION]: btoa(String.fromCharCode(...sig)),
        [KEY_ANNOTATION]: toHex(signer.publicKey),
      },
    }],
  }));
  return await client.putManifest(repository, signatureTag(digest), manifest, OCI_MANIFEST_TYPE);
}

/**
 * Finds and verifies the signatures of `digest` in `repository`. Returns every publisher whose
 * signature verifies, the one with fingerprint `prefer` first when it is among them.
 *
 * @throws {RegistryError} `INTEGRITY` when there is no signature or none verifies (with why)
 */
export async function verifySignature(
  client: RegistryClient,
  repository: string,
  digest: string,
  prefer?: string | null,
): Promise<[Publisher, ...Publisher[]]> {
  const tag = signatureTag(digest);
  const fetched = await client.getManifest(repository, tag);
  if (!fetched) {
    throw new RegistryError(
      "INTEGRITY",
      `Cannot verify ${repository}@${digest}: it is not signed (no ${tag} in the registry)`,
    );
  }
  let layers: { digest?: unknown; mediaType?: unknown; annotations?: Record<string, unknown> }[];
  try {
    const json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(fetched.bytes));
    layers = Array.isArray(json?.layers) ? json.layers : [];
  } catch {
    layers = [];
  }
  const reasons: string[] = [];
  const verified: Publisher[] = [];
  for (const layer of layers.slice(0, MAX_SIGNATURES)) {
    const why = await checkLayer(client, repository, digest, layer);
    if (typeof why === "string") reasons.push(why);
    else verified.push(why);
  }
  const chosen = verified.find((p) => p.fingerprint === prefer) ?? verified[0];
  if (!chosen) {
    throw new RegistryError(
      "INTEGRITY",
      `Cannot verify the signature of ${repository}@${digest}: ` +
        (reasons.length ? reasons.join("; ") : "the signature manifest holds no signature"),
    );
  }
  return [chosen, ...verified.filter((p) => p !== chosen)];
}

/** Verifies one signature layer: the publisher, or why it is refused. */
async function checkLayer(
  client: RegistryClient,
  repository: string,
  digest: string,
  layer: { digest?: unknown; mediaType?: unknown; annotations?: Record<string, unknown> },
): Promise<Publisher | string> {
  if (layer.mediaType !== SIGNATURE_LAYER_TYPE) return "a layer is not a simple-signing payload";
  const keyHex = layer.annotations?.[KEY_ANNOTATION];
  const sigB64 = layer.annotations?.[SIGNATURE_ANNOTATION];
  if (typeof layer.digest !== "string" || !/^sha256:[0-9a-f]{64}$/.test(layer.digest)) {
    return "a signature layer has no sha256 digest";
  }
  if (typeof keyHex !== "string" || typeof sigB64 !== "string") {
    return "a signature layer lacks its key or signature annotation";
  }
  let key: Uint8Array;
  let sig: Uint8Array;
  try {
    key = fromHex(keyHex);
    sig = Uint8Array.from(atob(sigB64), (c) => c.charCodeAt(0));
  } catch {
    return "a signature layer's key or signature does not decode";
  }
  if (key.length !== 32 || sig.length !== 64) return "a signature is not Ed25519";
  const payload = await client.getBlob(repository, layer.digest, MAX_PAYLOAD);
  const fp = fingerprint(key);
  if (!verify(key, payload, sig)) return `the signature by ${fp} does not verify`;
  let signed: unknown;
  try {
    const p = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
    if (p?.critical?.type !== PAYLOAD_TYPE) return `the payload signed by ${fp} has another type`;
    signed = p?.critical?.image?.["docker-manifest-digest"];
  } catch {
    return `the payload signed by ${fp} is not JSON`;
  }
  if (signed !== digest) {
    return `the signature by ${fp} covers ${String(signed)}, not ${digest}`;
  }
  return { fingerprint: fp, publicKey: key };
}
