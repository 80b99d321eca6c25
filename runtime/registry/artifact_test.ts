import { equal, throws } from "node:assert/strict";
import {
  ARTIFACT_TYPE,
  buildManifest,
  CONFIG_TYPE,
  parseArtifact,
  parseMetadata,
  TITLE,
} from "./artifact.ts";

const D = `sha256:${"a".repeat(64)}`;
const config = { mediaType: CONFIG_TYPE, digest: D, size: 10 };
const layer = (title: string | undefined, size = 1) => ({
  mediaType: "x",
  digest: D,
  size,
  ...(title === undefined ? {} : { annotations: { [TITLE]: title } }),
});
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

Deno.test("parseArtifact() accepts a capsule manifest with safe titles", () => {
  const parsed = parseArtifact(
    buildManifest(config, [layer("Capsule.toml"), layer("skills/a.md")]),
  );
  equal(parsed.artifactType, ARTIFACT_TYPE);
});

Deno.test("parseArtifact() refuses unsafe, missing or repeated layer titles", () => {
  for (
    const titles of [
      ["Capsule.toml", "../escape"],
      ["Capsule.toml", "/etc/passwd"],
      ["Capsule.toml", "a/../../b"],
      ["Capsule.toml", "a/./b"],
      ["Capsule.toml", ".hidden/x"],
      ["Capsule.toml", "a//b"],
      ["Capsule.toml", "Capsule.toml"],
      ["Capsule.toml", undefined],
      ["capsule.wasm"],
    ]
  ) {
    throws(
      () => parseArtifact(buildManifest(config, titles.map((t) => layer(t)))),
      (e: Error & { code?: string }) => e.code === "INTEGRITY",
      JSON.stringify(titles),
    );
  }
});

Deno.test("parseArtifact() refuses other artifact types, bad digests, oversized layers and non-JSON", () => {
  const ok = JSON.parse(new TextDecoder().decode(buildManifest(config, [layer("Capsule.toml")])));
  const cases = [
    { ...ok, artifactType: "application/vnd.other" },
    { ...ok, config: { ...config, digest: "sha256:zz" } },
    { ...ok, config: { ...config, size: 1 << 30 } },
    { ...ok, layers: [layer("Capsule.toml", 1 << 30)] },
    { ...ok, layers: Array.from({ length: 100 }, (_, i) => layer(`f${i}`)) },
  ];
  for (const c of cases) throws(() => parseArtifact(enc(c)), /Cannot use the manifest/);
  throws(() => parseArtifact(new Uint8Array([0xff, 0xfe])), /not JSON/);
});

Deno.test("parseMetadata() refuses extra fields and bad names", () => {
  const good = {
    name: "a",
    version: "1",
    description: null,
    hash: null,
    capabilities: {},
    publisher: "b3:x",
  };
  equal(parseMetadata(enc(good)).name, "a");
  throws(() => parseMetadata(enc({ ...good, extra: 1 })), /does not validate/);
  throws(() => parseMetadata(enc({ ...good, name: "../x" })), /does not validate/);
});
