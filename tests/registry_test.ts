/**
 * Signed publishing end to end: the real `astrid` CLI against a real CNCF distribution registry
 * (Debian's docker-registry) on 127.0.0.1, and hostile artifacts pushed beside honest ones.
 */
import { equal, match, notEqual } from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDirs } from "./cli.ts";
import { startRegistry } from "../runtime/registry/loopback_registry.ts";
import {
  buildManifest,
  CONFIG_TYPE,
  type Descriptor,
  generatePublisherKey,
  loadPublisherKey,
  MANIFEST_LAYER_TYPE,
  OCI_MANIFEST_TYPE,
  parseRegistry,
  pushSignature,
  RegistryClient,
  sha256Digest,
  TITLE,
  WASM_LAYER_TYPE,
} from "../runtime/registry/mod.ts";
import { blake3Hex } from "../runtime/crypto/mod.ts";

const HELLO = new URL("../examples/hello", import.meta.url).pathname;

// The folders a test makes, removed when it ends (withRegistry); the shared build of hello is
// removed by the last test.
const made: string[] = [];
let buildDir: string | null = null;

async function cleanMade(): Promise<void> {
  for (const dir of made.splice(0)) await Deno.remove(dir, { recursive: true }).catch(() => {});
}

async function tempDir(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  made.push(dir);
  return dir;
}

async function tracked(): Promise<{ home: string; ws: string }> {
  const dirs = await tempDirs();
  made.push(dirs.home, dirs.ws);
  return dirs;
}

let compiled: Promise<string> | null = null;
/** examples/hello compiled once for the file (a source publish is tested on its own). */
function helloBuild(): Promise<string> {
  compiled ??= (async () => {
    const home = await Deno.makeTempDir({ prefix: "astrid-hello-build-" });
    buildDir = home;
    const out = join(home, "hello");
    const run = await runCli(["capsule", "compile", HELLO, "-o", out], { home });
    equal(run.code, 0, run.stderr);
    return out;
  })();
  return compiled;
}

async function withRegistry(fn: (url: string, host: string) => Promise<void>): Promise<void> {
  const registry = await startRegistry();
  try {
    await fn(registry.url, registry.host);
  } finally {
    await registry.stop();
    await cleanMade();
  }
}

async function freshWorkspace(): Promise<{ home: string; ws: string }> {
  const dirs = await tracked();
  equal((await runCli(["init", dirs.ws], { home: dirs.home })).code, 0);
  return dirs;
}

Deno.test("capsule publish of a source folder, then install REF --yes in a fresh home, and the tool runs", async () => {
  await withRegistry(async (url) => {
    const publisher = await tracked();
    const ref = `${url}/astrid/hello:0.1.0`;
    let t = performance.now();
    const pub = await runCli(["capsule", "publish", HELLO, ref, "--json"], {
      home: publisher.home,
      cwd: publisher.ws,
    });
    const publishMs = performance.now() - t;
    equal(pub.code, 0, pub.stderr);
    match(pub.stderr, /created publisher key .*publisher\.key\n {2}fingerprint b3:/);
    const published = JSON.parse(pub.stdout);
    match(published.digest, /^sha256:[0-9a-f]{64}$/);
    const keyFile = await Deno.stat(join(publisher.home, "keys", "publisher.key"));
    equal(keyFile.mode! & 0o777, 0o600);
    const shown = await runCli(["keys", "show", "--publisher", "--json"], { home: publisher.home });
    equal(JSON.parse(shown.stdout).fingerprint, published.publisher);
    equal((await runCli(["keys", "generate"], { home: publisher.home })).code, 0);
    notEqual(
      JSON.parse((await runCli(["keys", "show", "--json"], { home: publisher.home })).stdout)
        .fingerprint,
      published.publisher,
      "the publisher key is not the runtime key",
    );

    const { home, ws } = await freshWorkspace();
    t = performance.now();
    const install = await runCli(["capsule", "install", ref, "--yes"], { home, cwd: ws });
    const installMs = performance.now() - t;
    equal(install.code, 0, install.stderr);
    match(install.stderr, new RegExp(`publisher: ${published.publisher} \\(first use`));
    match(install.stderr, /verified: {2}blob digests, signature, BLAKE3 pin/);
    const pulledBytes = Number(/Pulled .* \((\d+) bytes/.exec(install.stderr)?.[1]);
    console.log(
      `hello over loopback: publish ${Math.round(publishMs)} ms (CLI, compile included; ` +
        `${published.ms} ms pushing), ` +
        `${published.bytesSent} bytes sent; install ${Math.round(installMs)} ms (CLI), ` +
        `${pulledBytes} bytes pulled`,
    );

    const call = await runCli([
      "tools",
      "call",
      "hello__greet",
      "--args",
      JSON.stringify({ name: "Ada" }),
      "--approve",
      "once",
    ], { home, cwd: ws });
    equal(call.code, 0, call.stderr);
    match(call.stdout, /Hello, Ada!/);

    const info = JSON.parse(
      (await runCli(["capsule", "info", "hello", "--json"], { home, cwd: ws })).stdout,
    );
    equal(info.record.publisher.fingerprint, published.publisher);
    equal(info.record.publisher.digest, published.digest);
    equal(info.record.publisher.ref, ref);
    const lock = JSON.parse(await Deno.readTextFile(join(ws, "astrid.lock")));
    equal(lock.capsules.hello.digest, published.digest);
    equal(lock.capsules.hello.publisher, published.publisher);
  });
});

Deno.test("capsule search and info REF show the registry's capsules without installing", async () => {
  await withRegistry(async (url) => {
    const { home, ws } = await freshWorkspace();
    const dir = await helloBuild();
    for (const tag of ["0.1.0", "latest"]) {
      const r = await runCli(["capsule", "publish", dir, `${url}/astrid/hello:${tag}`], { home });
      equal(r.code, 0, r.stderr);
    }
    const search = await runCli(["capsule", "search", url, "hel", "--json"], { home });
    equal(search.code, 0, search.stderr);
    const found = JSON.parse(search.stdout).repositories;
    equal(found.length, 1);
    equal(found[0].repository, "astrid/hello");
    equal(found[0].tags.join(","), "0.1.0,latest", "signature tags are not listed");
    const none = await runCli(["capsule", "search", url, "nothing-here"], { home });
    match(none.stdout, /no repositories/);

    const info = await runCli(["capsule", "info", `${url}/astrid/hello:0.1.0`, "--json"], {
      home,
      cwd: ws,
    });
    equal(info.code, 0, info.stderr);
    const parsed = JSON.parse(info.stdout);
    equal(parsed.metadata.name, "hello");
    equal(parsed.signature.ok, true);
    match(parsed.metadata.hash, /^blake3:/);
    const list = await runCli(["capsule", "list", "--json"], { home, cwd: ws });
    equal(JSON.parse(list.stdout).capsules.length, 0, "info installs nothing");
  });
});

Deno.test("capsule install refuses a plain-HTTP reference to a non-loopback host, and malformed ones", async () => {
  await using _clean = { [Symbol.asyncDispose]: cleanMade };
  const { home, ws } = await freshWorkspace();
  const http = await runCli(["capsule", "install", "http://example.com/astrid/hello:1", "--yes"], {
    home,
    cwd: ws,
  });
  equal(http.code, 2, http.stderr);
  match(http.stderr, /plain HTTP is allowed only to loopback/);
  for (const bad of ["oci://127.0.0.1:5000/../etc:1", "oci://127.0.0.1:5000/Hello:1", "oci://"]) {
    const r = await runCli(["capsule", "install", bad, "--yes"], { home, cwd: ws });
    equal(r.code, 2, `${bad}: ${r.stderr}`);
  }
});

Deno.test("capsule install exits 5 when a blob in the registry no longer matches its digest", async () => {
  const registry = await startRegistry();
  try {
    const { home, ws } = await freshWorkspace();
    const ref = `${registry.url}/astrid/hello:0.1.0`;
    const pub = await runCli(["capsule", "publish", await helloBuild(), ref, "--json"], { home });
    equal(pub.code, 0, pub.stderr);
    const wasmDigest = JSON.parse(pub.stdout).layers.find((l: { path: string }) =>
      l.path === "capsule.wasm"
    ).digest.slice("sha256:".length);
    // The registry's own storage, tampered on disk: it now serves other bytes for the digest.
    const root = blobData(registry, wasmDigest);
    const bytes = await Deno.readFile(root);
    bytes[bytes.length - 1] = bytes.at(-1)! ^ 0xff;
    await Deno.writeFile(root, bytes);
    const install = await runCli(["capsule", "install", ref, "--yes"], { home, cwd: ws });
    equal(install.code, 5, install.stderr);
    match(install.stderr, /Cannot trust blob sha256:[0-9a-f]+ .*current content digest/);
  } finally {
    await registry.stop();
    await cleanMade();
  }
});

/** Where the registry's filesystem driver keeps blob `hex`. */
function blobData(registry: { storage: string }, hex: string): string {
  return join(registry.storage, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data");
}

Deno.test("a modified wasm re-pushed with a manifest pointing to it, unsigned or with a stale pin, exits 5", async () => {
  await withRegistry(async (url, host) => {
    const { home, ws } = await freshWorkspace();
    const dir = await helloBuild();
    equal(
      (await runCli(["capsule", "publish", dir, `${url}/astrid/hello:0.1.0`], { home })).code,
      0,
    );
    const key = (await loadPublisherKey(join(home, "keys")))!;
    const client = new RegistryClient(parseRegistry(url));
    const toml = await Deno.readFile(join(dir, "Capsule.toml"));
    const wasm = await Deno.readFile(join(dir, "capsule.wasm"));
    wasm[wasm.length - 1] = wasm.at(-1)! ^ 0xff;

    // 1. The swapped wasm under a new manifest: nobody signed that digest.
    const swapped = await pushArtifact(client, "astrid/hello", "swapped", toml, wasm);
    const unsigned = await runCli(["capsule", "install", `${url}/astrid/hello:swapped`, "--yes"], {
      home,
      cwd: ws,
    });
    equal(unsigned.code, 5, unsigned.stderr);
    match(unsigned.stderr, /it is not signed/);

    // 2. The publisher's own key signs it: the BLAKE3 pin in Capsule.toml still refuses it.
    await pushSignature(client, host, "astrid/hello", swapped, key, {});
    const pinned = await runCli(["capsule", "install", `${url}/astrid/hello:swapped`, "--yes"], {
      home,
      cwd: ws,
    });
    equal(pinned.code, 5, pinned.stderr);
    match(pinned.stderr, /BLAKE3 pin in Capsule\.toml is blake3:[0-9a-f]+, the wasm's hash is/);

    // 3. A Capsule.toml pinning the swapped wasm is consistent, but only a re-signature makes
    //    it installable: check the pin and the signature are what refused it, nothing else.
    const repinned = new TextDecoder().decode(toml).replace(
      /hash = "blake3:[0-9a-f]+"/,
      `hash = "blake3:${blake3Hex(wasm)}"`,
    );
    const fixed = await pushArtifact(
      client,
      "astrid/hello",
      "repinned",
      new TextEncoder().encode(repinned),
      wasm,
    );
    await pushSignature(client, host, "astrid/hello", fixed, key, {});
    const ok = await runCli(["capsule", "install", `${url}/astrid/hello:repinned`, "--yes"], {
      home,
      cwd: ws,
    });
    equal(ok.code, 0, ok.stderr);
  });
});

/** Pushes a capsule artifact by hand (config, Capsule.toml, wasm) under `tag`; its digest. */
async function pushArtifact(
  client: RegistryClient,
  repo: string,
  tag: string,
  toml: Uint8Array,
  wasm: Uint8Array,
): Promise<string> {
  const config = new TextEncoder().encode(JSON.stringify({
    name: "hello",
    version: "0.1.0",
    description: null,
    hash: `blake3:${blake3Hex(wasm)}`,
    capabilities: {},
    publisher: "b3:test",
  }));
  const layers: Descriptor[] = [];
  for (
    const [path, bytes, mediaType] of [
      ["Capsule.toml", toml, MANIFEST_LAYER_TYPE],
      ["capsule.wasm", wasm, WASM_LAYER_TYPE],
    ] as const
  ) {
    const digest = await client.pushBlob(repo, bytes);
    layers.push({ mediaType, digest, size: bytes.length, annotations: { [TITLE]: path } });
  }
  const configDigest = await client.pushBlob(repo, config);
  equal(configDigest, await sha256Digest(config));
  const manifest = buildManifest(
    { mediaType: CONFIG_TYPE, digest: configDigest, size: config.length },
    layers,
  );
  return await client.putManifest(repo, tag, manifest, OCI_MANIFEST_TYPE);
}

Deno.test("a manifest re-signed by another key exits 5 unless --trust-publisher names the new key", async () => {
  await withRegistry(async (url, host) => {
    const { home, ws } = await freshWorkspace();
    const ref = `${url}/astrid/hello:0.1.0`;
    const pub = await runCli(["capsule", "publish", await helloBuild(), ref, "--json"], { home });
    const { digest, publisher } = JSON.parse(pub.stdout);
    equal((await runCli(["capsule", "install", ref, "--yes"], { home, cwd: ws })).code, 0);

    // Someone else's key replaces the signature of the very same digest.
    const other = await generatePublisherKey(await tempDir("astrid-keys-"));
    const client = new RegistryClient(parseRegistry(url));
    await pushSignature(client, host, "astrid/hello", digest, other, {});
    const refused = await runCli(["capsule", "install", ref, "--yes"], { home, cwd: ws });
    equal(refused.code, 5, refused.stderr);
    match(refused.stderr, new RegExp(`signed by another key \\(${other.fingerprint}\\)`));
    match(refused.stderr, new RegExp(publisher));

    const wrong = await runCli(
      ["capsule", "install", ref, "--yes", "--trust-publisher", publisher],
      { home, cwd: ws },
    );
    equal(wrong.code, 5, "trusting a key that did not sign it does not help");

    const trusted = await runCli(
      ["capsule", "install", ref, "--yes", "--trust-publisher", other.fingerprint],
      { home, cwd: ws },
    );
    equal(trusted.code, 0, trusted.stderr);
    match(trusted.stderr, /trusted by --trust-publisher/);
    // The new key is now the pinned one: a plain install passes, the old one would not.
    equal((await runCli(["capsule", "install", ref, "--yes"], { home, cwd: ws })).code, 0);
  });
});

Deno.test("a signature over a different digest is refused with exit 5", async () => {
  await withRegistry(async (url, host) => {
    const { home, ws } = await freshWorkspace();
    const dir = await helloBuild();
    const a = JSON.parse(
      (await runCli(["capsule", "publish", dir, `${url}/astrid/hello:a`, "--json"], { home }))
        .stdout,
    );
    // A second, different artifact; then its signature tag is overwritten with the manifest of
    // A's signature (a valid signature, replayed for another digest).
    const toml = (await Deno.readTextFile(join(dir, "Capsule.toml"))).replace(
      "The smallest capsule",
      "Another build of the smallest capsule",
    );
    const client = new RegistryClient(parseRegistry(url));
    const b = await pushArtifact(
      client,
      "astrid/hello",
      "b",
      new TextEncoder().encode(toml),
      await Deno.readFile(join(dir, "capsule.wasm")),
    );
    const sigOfA = await client.getManifest("astrid/hello", a.signatureTag);
    await client.putManifest(
      "astrid/hello",
      `${b.replace(":", "-")}.sig`,
      sigOfA!.bytes,
      OCI_MANIFEST_TYPE,
    );
    const r = await runCli(["capsule", "install", `${url}/astrid/hello:b`, "--yes"], {
      home,
      cwd: ws,
    });
    equal(r.code, 5, r.stderr);
    match(r.stderr, new RegExp(`covers ${a.digest}, not ${b}`));
    const info = await runCli(["capsule", "info", `${url}/astrid/hello:b`], { home, cwd: ws });
    equal(info.code, 5);
    match(info.stdout, /signature: NOT VERIFIED/);
    void host;
  });
});

Deno.test("astrid.lock pins the digest: install --locked passes, then fails with 5 once the tag moved", async () => {
  await withRegistry(async (url) => {
    const { home, ws } = await freshWorkspace();
    const dir = await helloBuild();
    const ref = `${url}/astrid/hello:0.1.0`;
    equal((await runCli(["capsule", "publish", dir, ref], { home })).code, 0);
    const notYet = await runCli(["capsule", "install", ref, "--locked", "--yes"], {
      home,
      cwd: ws,
    });
    equal(notYet.code, 2, "nothing locked yet");
    match(notYet.stderr, /astrid\.lock has no entry/);
    equal((await runCli(["capsule", "install", ref, "--yes"], { home, cwd: ws })).code, 0);
    const locked = await runCli(["capsule", "install", ref, "--locked", "--yes"], {
      home,
      cwd: ws,
    });
    equal(locked.code, 0, locked.stderr);

    // A new build under the same tag (same key, honest): the tag moved.
    const moved = join(await tempDir("astrid-moved-"), "hello");
    await Deno.mkdir(moved);
    await Deno.copyFile(join(dir, "capsule.wasm"), join(moved, "capsule.wasm"));
    await Deno.writeTextFile(
      join(moved, "Capsule.toml"),
      (await Deno.readTextFile(join(dir, "Capsule.toml"))).replace(
        'version = "0.1.0"',
        'version = "0.1.1"',
      ),
    );
    equal((await runCli(["capsule", "publish", moved, ref], { home })).code, 0);
    const refused = await runCli(["capsule", "install", ref, "--locked", "--yes"], {
      home,
      cwd: ws,
    });
    equal(refused.code, 5, refused.stderr);
    match(refused.stderr, /the tag moved/);
    // Without --locked the human may take the new build; the lock follows.
    equal((await runCli(["capsule", "install", ref, "--yes"], { home, cwd: ws })).code, 0);
    equal(
      (await runCli(["capsule", "install", ref, "--locked", "--yes"], { home, cwd: ws })).code,
      0,
    );
  });
});

Deno.test("the registry tests remove the shared build of hello", async () => {
  if (buildDir) await Deno.remove(buildDir, { recursive: true });
  buildDir = null;
  compiled = null;
});
