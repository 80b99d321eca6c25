import { deepEqual, equal, rejects } from "node:assert/strict";
import { RegistryClient } from "./client.ts";
import { OCI_MANIFEST_TYPE } from "./artifact.ts";
import { generatePublisherKey } from "./publisher_key.ts";
import { parseRegistry } from "./reference.ts";
import {
  KEY_ANNOTATION,
  pushSignature,
  SIGNATURE_ANNOTATION,
  signatureTag,
  verifySignature,
} from "./signature.ts";
import { startRegistry } from "./loopback_registry.ts";

const REPO = "astrid/sig";

async function setup() {
  const registry = await startRegistry();
  const client = new RegistryClient(parseRegistry(registry.url));
  const keysDir = await Deno.makeTempDir();
  const a = await generatePublisherKey(`${keysDir}/a`);
  const b = await generatePublisherKey(`${keysDir}/b`);
  // Any manifest will do as the signed subject: a config-only image manifest.
  const cfg = await client.pushBlob(REPO, new TextEncoder().encode("{}"));
  const subject = await client.putManifest(
    REPO,
    "subject",
    new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST_TYPE,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: cfg, size: 2 },
      layers: [],
    })),
    OCI_MANIFEST_TYPE,
  );
  return {
    registry,
    client,
    a,
    b,
    subject,
    async [Symbol.asyncDispose]() {
      await registry.stop();
      await Deno.remove(keysDir, { recursive: true });
    },
  };
}

/** Rewrites the signature manifest of `subject` through `edit`. */
async function editSignature(
  client: RegistryClient,
  subject: string,
  edit: (m: { layers: { annotations: Record<string, string> }[] }) => void,
) {
  const fetched = await client.getManifest(REPO, signatureTag(subject));
  const json = JSON.parse(new TextDecoder().decode(fetched!.bytes));
  edit(json);
  await client.putManifest(
    REPO,
    signatureTag(subject),
    new TextEncoder().encode(JSON.stringify(json)),
    OCI_MANIFEST_TYPE,
  );
}

Deno.test("verifySignature() accepts the publisher's signature and names its key", async () => {
  await using s = await setup();
  await pushSignature(s.client, s.registry.host, REPO, s.subject, s.a, {});
  const [p] = await verifySignature(s.client, REPO, s.subject);
  equal(p.fingerprint, s.a.fingerprint);
  deepEqual(p.publicKey, s.a.publicKey);
});

Deno.test("verifySignature() refuses an unsigned digest", async () => {
  await using s = await setup();
  await rejects(verifySignature(s.client, REPO, s.subject), /it is not signed/);
});

Deno.test("verifySignature() refuses a forged signature and a swapped key annotation", async () => {
  await using s = await setup();
  await pushSignature(s.client, s.registry.host, REPO, s.subject, s.a, {});
  await editSignature(s.client, s.subject, (m) => {
    m.layers[0]!.annotations[KEY_ANNOTATION] = s.b.publicKeyHex; // claims b signed it
  });
  await rejects(verifySignature(s.client, REPO, s.subject), /does not verify/);
  await pushSignature(s.client, s.registry.host, REPO, s.subject, s.a, {});
  await editSignature(s.client, s.subject, (m) => {
    const sig = atob(m.layers[0]!.annotations[SIGNATURE_ANNOTATION]!);
    m.layers[0]!.annotations[SIGNATURE_ANNOTATION] = btoa(
      String.fromCharCode(sig.charCodeAt(0) ^ 1) + sig.slice(1),
    );
  });
  await rejects(verifySignature(s.client, REPO, s.subject), /does not verify/);
  await editSignature(s.client, s.subject, (m) => {
    m.layers[0]!.annotations[SIGNATURE_ANNOTATION] = btoa("short");
  });
  await rejects(verifySignature(s.client, REPO, s.subject), /not Ed25519/);
});

Deno.test("verifySignature() refuses a valid signature replayed for another digest", async () => {
  await using s = await setup();
  const other = `sha256:${"0".repeat(64)}`;
  await pushSignature(s.client, s.registry.host, REPO, other, s.a, {});
  const replay = await s.client.getManifest(REPO, signatureTag(other));
  await s.client.putManifest(REPO, signatureTag(s.subject), replay!.bytes, OCI_MANIFEST_TYPE);
  await rejects(verifySignature(s.client, REPO, s.subject), new RegExp(`covers ${other}`));
});

Deno.test("verifySignature() puts the preferred publisher first when several signed", async () => {
  await using s = await setup();
  await pushSignature(s.client, s.registry.host, REPO, s.subject, s.a, {});
  const first = await s.client.getManifest(REPO, signatureTag(s.subject));
  await pushSignature(s.client, s.registry.host, REPO, s.subject, s.b, {});
  await editSignature(s.client, s.subject, (m) => {
    m.layers.push(JSON.parse(new TextDecoder().decode(first!.bytes)).layers[0]);
  });
  const signers = await verifySignature(s.client, REPO, s.subject, s.a.fingerprint);
  deepEqual(signers.map((p) => p.fingerprint), [s.a.fingerprint, s.b.fingerprint]);
});
