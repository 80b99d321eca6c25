/**
 * Binary data through the capsule boundary: a capsule compiled by the real toolchain (type-checked
 * against the SDK and its globals) reads, writes and copies exact bytes with `@astrid/sdk`, and
 * sends and receives binary HTTP bodies with `fetch` and `http.request`, through a real
 * interceptor and audit log, against a 127.0.0.1 server. Hostile input (junk base64, oversized
 * decoded payloads, traversal and symlinks through the binary form) meets the same refusals as
 * text does.
 */
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { compileCapsule } from "../../../toolchain/compile.ts";
import { loadCapsule } from "../loader.ts";
import { CapsuleInstance } from "../engines/wasm.ts";
import { PresetFrontend } from "../../security/approval.ts";
import { type TestGate, testGate } from "../_testing.ts";
import { type HostEnv, HostError, newCallState } from "./context.ts";
import { FS_FUNCTIONS, MAX_FILE_BYTES } from "./fs.ts";
import { httpRequest, MAX_HTTP_BODY_BYTES } from "./net.ts";
import { MAX_HOST_ARG_BYTES } from "./functions.ts";
import { base64Length } from "./_encoding.ts";

const MANIFEST = `[package]
name = "binprobe"
version = "0.1.0"

[capabilities]
fs_read = ["."]
fs_write = ["out"]
net = ["127.0.0.1"]
`;

const SOURCE = `
import { defineCapsule, fs, http } from "@astrid/sdk";

type Reply = { ok: unknown } | { error: string; message: string };
const attempt = async (f: () => Promise<unknown>): Promise<Reply> => {
  try {
    return { ok: await f() };
  } catch (e) {
    return { error: String((e as { code?: string }).code ?? "?"), message: String((e as Error).message) };
  }
};
const host = (globalThis as unknown as { __astrid_host: Record<string, (a: string) => string> })
  .__astrid_host;
const list = (b: Uint8Array): number[] => Array.from(b);

export default defineCapsule({
  tools: {
    readBytes: {
      description: "Reads a file's bytes",
      run: (a: { path: string }) => attempt(async () => list(await fs.readFileBytes(a.path))),
    },
    readText: {
      description: "Reads a file as text",
      run: (a: { path: string }) => attempt(() => fs.readFile(a.path)),
    },
    writeBytes: {
      description: "Writes bytes",
      run: (a: { path: string; bytes: number[] }) =>
        attempt(() => fs.writeFile(a.path, new Uint8Array(a.bytes))),
    },
    copyBytes: {
      description: "Copies a file byte for byte",
      run: (a: { src: string; dst: string }) =>
        attempt(async () => {
          const b = await fs.readFileBytes(a.src);
          await fs.writeFile(a.dst, b);
          return b.length;
        }),
    },
    internals: {
      description: "Reports what capsule code sees of the engine's native base64",
      run: () => {
        // The SDK's type declarations do not list atob/btoa (the prelude defines them).
        const { atob, btoa } = globalThis as unknown as Record<"atob" | "btoa", (s: string) => string>;
        const refused = [() => btoa("€"), () => atob("A"), () => atob("AP8=!")].map((f) => {
          try {
            f();
            return "no error";
          } catch (e) {
            return (e as Error).name;
          }
        });
        return {
          hidden: typeof (globalThis as Record<string, unknown>).__astrid_base64,
          btoa: btoa(String.fromCharCode(255, 0, 104, 105)),
          atob: Array.from(atob(" AP8=\\n"), (c) => c.charCodeAt(0)),
          refused,
        };
      },
    },
    raw: {
      description: "Calls a host function with a raw argument",
      run: (a: { name: string; arg: unknown }) => JSON.parse(host[a.name]!(JSON.stringify(a.arg))),
    },
    fetchBytes: {
      description: "POSTs bytes with fetch and reads the answer every binary way",
      run: (a: { url: string; bytes: number[]; blob?: boolean }) =>
        attempt(async () => {
          const bytes = new Uint8Array(a.bytes);
          const res = await fetch(a.url, {
            method: "POST",
            headers: { "content-type": "application/octet-stream" },
            body: a.blob ? new Blob([bytes.subarray(0, 3), bytes.subarray(3).buffer.slice(3)], { type: "image/png" }) : bytes.buffer,
          });
          const blob = await res.clone().blob();
          const buf = await res.clone().arrayBuffer();
          return {
            status: res.status,
            bytes: list(await res.bytes()),
            buffer: list(new Uint8Array(buf)),
            blob: { size: blob.size, type: blob.type, bytes: list(await blob.bytes()) },
          };
        }),
    },
    fetchText: {
      description: "GETs text with fetch",
      run: (a: { url: string }) =>
        attempt(async () => {
          const res = await fetch(a.url);
          const copy = res.clone();
          return { text: await res.text(), bytes: list(await copy.bytes()) };
        }),
    },
    blobs: {
      description: "Exercises Blob and File",
      run: async () => {
        const b = new Blob(["hé", new Uint8Array([0, 255]), new Blob(["!"])], { type: "Image/PNG" });
        const f = new File([b.slice(1, 4)], "x.bin", { lastModified: 7 });
        return {
          size: b.size,
          type: b.type,
          bytes: list(await b.bytes()),
          slice: list(new Uint8Array(await b.slice(-3).arrayBuffer())),
          text: await new Blob(["a", "b"]).text(),
          file: [f.name, f.lastModified, f.size, f.type, list(await f.bytes())],
        };
      },
    },
    httpBytes: {
      description: "PUTs bytes with http.request and asks for bytes back",
      run: (a: { url: string; bytes: number[] }) =>
        attempt(async () => {
          const r = await http.request({
            url: a.url,
            method: "PUT",
            body: new Uint8Array(a.bytes),
            responseType: "bytes",
          });
          const t = await http.request({ url: a.url, method: "PUT", body: "héllo" });
          return {
            status: r.status,
            isBytes: r.body instanceof Uint8Array,
            body: list(r.body),
            text: typeof t.body === "string" ? t.body : null,
          };
        }),
    },
  },
});
`;

let built: Promise<string> | undefined;
/** Compiles the probe once per process (type-checked: the SDK's binary types must hold). */
function build(): Promise<string> {
  built ??= (async () => {
    const src = await Deno.makeTempDir({ prefix: "astrid-bin-src-" });
    await Deno.writeTextFile(`${src}/Capsule.toml`, MANIFEST);
    await Deno.writeTextFile(`${src}/mod.ts`, SOURCE);
    const out = await Deno.makeTempDir({ prefix: "astrid-bin-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(out, { recursive: true }));
    try {
      await compileCapsule(src, { out, typeCheck: true });
    } finally {
      await Deno.remove(src, { recursive: true });
    }
    return out;
  })();
  return built;
}

interface Probe extends AsyncDisposable {
  readonly gate: TestGate;
  readonly env: HostEnv;
  call(tool: string, args: unknown): Promise<Record<string, unknown>>;
}

async function probe(config?: Parameters<typeof testGate>[0]["config"]): Promise<Probe> {
  const gate = await testGate({
    frontend: new PresetFrontend({ choice: "once" }),
    ...(config ? { config } : {}),
  });
  await Deno.mkdir(`${gate.root}/out`);
  const loaded = await loadCapsule(await build(), { requireHash: true });
  const env: HostEnv = {
    capsule: "binprobe",
    manifest: loaded.manifest,
    workspaceRoot: gate.root,
    interceptor: gate.interceptor,
    store: gate.store,
    config: {},
    secretKeys: new Set(),
  };
  const instance = await CapsuleInstance.create(loaded, env, { timeoutMs: 30_000, memoryMb: 64 });
  return {
    gate,
    env,
    call: async (tool, args) => await instance.callTool(tool, args) as Record<string, unknown>,
    async [Symbol.asyncDispose]() {
      await instance.close();
      await gate[Symbol.asyncDispose]();
    },
  };
}

const ALL_BYTES = Array.from({ length: 256 }, (_, i) => i);
/** Invalid UTF-8 of every kind: lone continuation, overlong, surrogate, truncated, past U+10FFFF. */
const INVALID_UTF8 = [0x80, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xe2, 0x82, 0xf4, 0x90, 0x80, 0x80, 0xff];
const BOM_TEXT = [0xef, 0xbb, 0xbf, 0x68, 0x69];

/** A PNG-like blob: the PNG signature, an IHDR chunk header, then deterministic noise. */
function pngLike(size: number): number[] {
  const head = [
    0x89,
    0x50,
    0x4e,
    0x47,
    0x0d,
    0x0a,
    0x1a,
    0x0a,
    0,
    0,
    0,
    13,
    0x49,
    0x48,
    0x44,
    0x52,
  ];
  let x = 0x2545f491;
  const rest = Array.from({ length: size - head.length }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x & 255;
  });
  return [...head, ...rest];
}

Deno.test("fs.readFileBytes() returns every byte value 0..255 and invalid UTF-8 exactly", async () => {
  await using p = await probe();
  for (const bytes of [ALL_BYTES, INVALID_UTF8, BOM_TEXT, []]) {
    await Deno.writeFile(`${p.gate.root}/in.bin`, new Uint8Array(bytes));
    deepEqual(await p.call("readBytes", { path: "in.bin" }), { ok: bytes });
  }
  const missing = await p.call("readBytes", { path: "missing.bin" }) as { error: string };
  equal(missing.error, "NOT_FOUND", "host errors keep their code through the binary path");
  // The text form is unchanged: invalid sequences become U+FFFD.
  await Deno.writeFile(`${p.gate.root}/in.bin`, new Uint8Array([0x61, 0xff, 0x62]));
  deepEqual(await p.call("readText", { path: "in.bin" }), { ok: "a\ufffdb" });
});

Deno.test("fs.writeFile(Uint8Array) writes every byte value and invalid UTF-8 exactly, audited as write_file", async () => {
  await using p = await probe();
  for (const [name, bytes] of [["all", ALL_BYTES], ["bad", INVALID_UTF8], ["bom", BOM_TEXT]]) {
    deepEqual(await p.call("writeBytes", { path: `out/${name}.bin`, bytes }), {});
    deepEqual(Array.from(await Deno.readFile(`${p.gate.root}/out/${name}.bin`)), bytes);
  }
  const writes = (await p.gate.audit.list()).filter((e) =>
    e.action.resource === "capsule://binprobe/write_file"
  );
  deepEqual(
    [...new Set(writes.map((e) => e.decision))].sort(),
    ["allowed", "outcome"],
    "each binary write is an allowed write_file action with an outcome",
  );
});

Deno.test("a PNG-like blob copies byte for byte through readFileBytes and writeFile", async () => {
  await using p = await probe();
  const png = pngLike(40_000);
  await Deno.writeFile(`${p.gate.root}/logo.png`, new Uint8Array(png));
  deepEqual(await p.call("copyBytes", { src: "logo.png", dst: "out/copy.png" }), {
    ok: png.length,
  });
  deepEqual(
    await Deno.readFile(`${p.gate.root}/out/copy.png`),
    await Deno.readFile(`${p.gate.root}/logo.png`),
  );
});

Deno.test("a 16 MiB file copies byte for byte inside a capsule with a 64 MiB heap", async () => {
  await using p = await probe();
  const size = MAX_FILE_BYTES;
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  await Deno.writeFile(`${p.gate.root}/big.bin`, bytes);
  deepEqual(await p.call("copyBytes", { src: "big.bin", dst: "out/big.bin" }), { ok: size });
  const copy = await Deno.readFile(`${p.gate.root}/out/big.bin`);
  equal(copy.length, size);
  ok(copy.every((x, i) => x === bytes[i]), "the copy differs");
});

Deno.test("capsule code cannot reach the engine's base64 global; atob and btoa use it", async () => {
  await using p = await probe();
  deepEqual(await p.call("internals", {}), {
    hidden: "undefined",
    btoa: btoa(String.fromCharCode(255, 0, 104, 105)),
    atob: [0, 255],
    refused: ["InvalidCharacterError", "InvalidCharacterError", "InvalidCharacterError"],
  });
});

/** A 127.0.0.1 server that records each request body and answers 0xFF + the body reversed. */
function binaryServer() {
  const seen: Uint8Array[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = new Uint8Array(await req.arrayBuffer());
    seen.push(body);
    if (new URL(req.url).pathname === "/text") {
      return new Response("héllo ✓", { headers: { "content-type": "text/plain; charset=utf-8" } });
    }
    const answer = new Uint8Array([0xff, ...body.toReversed()]);
    return new Response(answer, { headers: { "content-type": "image/png" } });
  });
  return { seen, url: `http://127.0.0.1:${server.addr.port}`, server };
}

Deno.test("fetch() sends and receives binary bodies byte for byte (bytes, arrayBuffer, blob)", async () => {
  await using p = await probe();
  const s = binaryServer();
  await using _server = s.server;
  const sent = [...ALL_BYTES, ...INVALID_UTF8];
  const out = await p.call("fetchBytes", { url: `${s.url}/bin`, bytes: sent }) as {
    ok: { status: number; bytes: number[]; buffer: number[]; blob: Record<string, unknown> };
  };
  deepEqual(Array.from(s.seen[0]!), sent, "the request body arrived exactly");
  const back = [0xff, ...sent.toReversed()];
  equal(out.ok.status, 200);
  deepEqual(out.ok.bytes, back);
  deepEqual(out.ok.buffer, back);
  deepEqual(out.ok.blob, { size: back.length, type: "image/png", bytes: back });
  // A Blob body (built from a view and an ArrayBuffer) is sent exactly too.
  const viaBlob = await p.call("fetchBytes", { url: `${s.url}/bin`, bytes: sent, blob: true });
  ok("ok" in viaBlob, JSON.stringify(viaBlob));
  deepEqual(Array.from(s.seen[1]!), sent);
  // Text still arrives as text; its bytes are its UTF-8.
  const text = await p.call("fetchText", { url: `${s.url}/text` }) as {
    ok: { text: string; bytes: number[] };
  };
  equal(text.ok.text, "héllo ✓");
  deepEqual(text.ok.bytes, Array.from(new TextEncoder().encode("héllo ✓")));
  const http = (await p.gate.audit.list()).filter((e) => e.decision === "allowed")
    .map((e) => e.action.resource).filter((r) => r.includes("http"));
  equal(http.length, 3, "each request is one allowed capsule_http_request");
});

Deno.test("Blob and File hold exact bytes: parts, slice, text, type", async () => {
  await using p = await probe();
  deepEqual(await p.call("blobs", {}), {
    size: 6,
    type: "image/png",
    bytes: [0x68, 0xc3, 0xa9, 0, 255, 0x21],
    slice: [0, 255, 0x21],
    text: "ab",
    file: ["x.bin", 7, 3, "", [0xc3, 0xa9, 0]],
  });
});

Deno.test("http.request() with a Uint8Array body and responseType bytes is byte-exact; text stays text", async () => {
  await using p = await probe();
  const s = binaryServer();
  await using _server = s.server;
  const out = await p.call("httpBytes", { url: `${s.url}/bin`, bytes: INVALID_UTF8 }) as {
    ok: { status: number; isBytes: boolean; body: number[]; text: string | null };
  };
  deepEqual(Array.from(s.seen[0]!), INVALID_UTF8);
  equal(out.ok.isBytes, true);
  deepEqual(out.ok.body, [0xff, ...INVALID_UTF8.toReversed()]);
  deepEqual(Array.from(s.seen[1]!), Array.from(new TextEncoder().encode("héllo")));
  equal(typeof out.ok.text, "string", "without responseType the body is text");
  ok(out.ok.text!.includes("\ufffd"), "invalid UTF-8 in a text body becomes U+FFFD, as before");
});

Deno.test("http-request responseEncoding: utf8 by default, base64 when asked, auto by content", async () => {
  await using p = await probe();
  const s = binaryServer();
  await using _server = s.server;
  const req = (extra: Record<string, unknown>) =>
    p.call("raw", { name: "http-request", arg: { url: `${s.url}/bin`, method: "POST", ...extra } });
  const body = btoa("\x00\x01");
  const plain = await req({ body: "ab" }) as { ok: { body: string; bodyEncoding: string } };
  deepEqual([plain.ok.body, plain.ok.bodyEncoding], ["\ufffdba", "utf8"]);
  const b64 = await req({ body, bodyEncoding: "base64", responseEncoding: "base64" }) as {
    ok: { body: string; bodyEncoding: string };
  };
  deepEqual([b64.ok.body, b64.ok.bodyEncoding], [btoa("\xff\x01\x00"), "base64"]);
  const auto = await p.call("raw", {
    name: "http-request",
    arg: { url: `${s.url}/text`, responseEncoding: "auto" },
  }) as { ok: { body: string; bodyEncoding: string } };
  deepEqual([auto.ok.body, auto.ok.bodyEncoding], ["héllo ✓", "utf8"]);
  const autoBin = await req({ body, bodyEncoding: "base64", responseEncoding: "auto" }) as {
    ok: { bodyEncoding: string };
  };
  equal(autoBin.ok.bodyEncoding, "base64");
  for (const bad of [{ responseEncoding: "hex" }, { body: "x", bodyEncoding: "latin1" }]) {
    const r = await req(bad) as { error: { code: string; message: string } };
    equal(r.error.code, "BAD_ARGS", JSON.stringify(bad));
    match(r.error.message, /use "utf8" or "base64"/);
  }
  const junk = await req({ body: "AAAA!!!!", bodyEncoding: "base64" }) as {
    error: { code: string };
  };
  equal(junk.error.code, "BAD_ARGS");
  equal(s.seen.length, 4, "refused requests never reached the server");
});

Deno.test("write-file with junk base64 fails with BAD_ARGS before any check, and writes nothing", async () => {
  await using p = await probe();
  const junk = [
    "AAAA!!!!",
    "AAA",
    "AA==AA==",
    "AAB=",
    "AA AA===",
    "QQ==\n",
    "ÿÿÿÿ",
    "A===",
    "=====",
  ];
  for (const content of junk) {
    const r = await p.call("raw", {
      name: "write-file",
      arg: { path: "out/j.bin", content, encoding: "base64" },
    }) as { error: { code: string; message: string } };
    equal(r.error.code, "BAD_ARGS", JSON.stringify(content));
    match(r.error.message, /not valid base64/);
  }
  for (const arg of [{ encoding: "hex", content: "00" }, { encoding: "base64", content: 7 }]) {
    const r = await p.call("raw", { name: "write-file", arg: { path: "out/j.bin", ...arg } }) as {
      error: { code: string };
    };
    equal(r.error.code, "BAD_ARGS", JSON.stringify(arg));
  }
  const r = await p.call("raw", { name: "read-file", arg: { path: "x", encoding: "utf16" } }) as {
    error: { code: string };
  };
  equal(r.error.code, "BAD_ARGS");
  await rejects(Deno.lstat(`${p.gate.root}/out/j.bin`), Deno.errors.NotFound);
  equal((await p.gate.audit.list()).filter((e) => e.decision === "allowed").length, 0);
});

Deno.test("the binary forms are confined like text: traversal, absolute paths and symlinks are CONFINED", async () => {
  await using p = await probe();
  const outside = await Deno.makeTempDir({ prefix: "astrid-bin-outside-" });
  try {
    await Deno.writeFile(`${outside}/secret.bin`, new Uint8Array([1, 2, 3]));
    await Deno.symlink(outside, `${p.gate.root}/out/link`);
    await Deno.symlink(`${outside}/secret.bin`, `${p.gate.root}/file-link`);
    const reads = ["../../etc/passwd", "/etc/passwd", "out/link/secret.bin", "file-link"];
    for (const path of reads) {
      const r = await p.call("readBytes", { path }) as { error: string };
      equal(r.error, "CONFINED", path);
    }
    for (const path of ["../evil.bin", "out/../../evil.bin", "out/link/planted.bin", "file-link"]) {
      const r = await p.call("writeBytes", { path, bytes: [0, 255] }) as { error: string };
      equal(r.error, "CONFINED", path);
    }
    await rejects(Deno.lstat(`${outside}/planted.bin`), Deno.errors.NotFound);
    deepEqual(Array.from(await Deno.readFile(`${outside}/secret.bin`)), [1, 2, 3]);
    const denied = (await p.gate.audit.list()).filter((e) => e.decision === "denied");
    ok(denied.length >= 8, `every refusal is audited (${denied.length})`);
    equal(
      (await p.gate.audit.list()).filter((e) => e.decision === "allowed").length,
      0,
      "nothing was allowed",
    );
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("the interceptor is the second check for binary writes: a deny rule refuses them", async () => {
  await using p = await probe({
    permissions: { allow: [], ask: [], deny: ["capsule://binprobe/write_file"] },
  });
  const r = await p.call("writeBytes", { path: "out/x.bin", bytes: [1] }) as { error: string };
  equal(r.error, "DENIED");
  await rejects(Deno.lstat(`${p.gate.root}/out/x.bin`), Deno.errors.NotFound);
});

// ---- limits, at the host function (hostile arguments a capsule's own codec would never send) ----

Deno.test("a 16 MiB base64 write-file argument fits the 24 MiB JSON limit; 16 MiB + 1 is TOO_LARGE", async () => {
  await using p = await probe();
  const max = new Uint8Array(MAX_FILE_BYTES).fill(0xa5);
  max[0] = 0;
  max[MAX_FILE_BYTES - 1] = 0xff;
  const arg = { path: "out/max.bin", content: max.toBase64(), encoding: "base64" };
  equal(arg.content.length, base64Length(MAX_FILE_BYTES));
  ok(JSON.stringify(arg).length < MAX_HOST_ARG_BYTES, "the JSON argument is under 24 MiB");
  await FS_FUNCTIONS["write-file"]!(p.env, newCallState(), arg);
  deepEqual(await Deno.readFile(`${p.gate.root}/out/max.bin`), max);
  const read = await FS_FUNCTIONS["read-file"]!(p.env, newCallState(), {
    path: "out/max.bin",
    encoding: "base64",
  });
  equal(read, arg.content);

  // One byte over; and two over, whose base64 is no longer than 16 MiB's (caught after decoding).
  const over = [1, 2].map((n) => new Uint8Array(MAX_FILE_BYTES + n).toBase64());
  equal(over[1]!.length, base64Length(MAX_FILE_BYTES));
  for (const content of over) {
    await rejects(
      async () =>
        await FS_FUNCTIONS["write-file"]!(p.env, newCallState(), {
          path: "out/over.bin",
          content,
          encoding: "base64",
        }),
      (e) => e instanceof HostError && e.code === "TOO_LARGE",
    );
  }
  await rejects(Deno.lstat(`${p.gate.root}/out/over.bin`), Deno.errors.NotFound);
  await Deno.writeFile(`${p.gate.root}/big.bin`, new Uint8Array(MAX_FILE_BYTES + 1));
  await rejects(
    FS_FUNCTIONS["read-file"]!(p.env, newCallState(), { path: "big.bin", encoding: "base64" }),
    (e) => e instanceof HostError && e.code === "TOO_LARGE",
  );
});

Deno.test("http-request caps decoded binary bodies at 8 MiB each way", async () => {
  await using p = await probe();
  const seen: number[] = [];
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      seen.push((await req.arrayBuffer()).byteLength);
      return new Response(new Uint8Array(MAX_HTTP_BODY_BYTES + 1));
    },
  );
  const url = `http://127.0.0.1:${server.addr.port}/`;
  const over = new Uint8Array(MAX_HTTP_BODY_BYTES + 1).toBase64();
  ok(JSON.stringify({ url, body: over }).length < MAX_HOST_ARG_BYTES);
  await rejects(
    async () =>
      await httpRequest(p.env, newCallState(), {
        url,
        method: "POST",
        body: over,
        bodyEncoding: "base64",
      }),
    (e) => e instanceof HostError && e.code === "TOO_LARGE",
  );
  equal(seen.length, 0, "an oversized body is refused before the request");
  const max = new Uint8Array(MAX_HTTP_BODY_BYTES).toBase64();
  await rejects(
    httpRequest(p.env, newCallState(), {
      url,
      method: "POST",
      body: max,
      bodyEncoding: "base64",
      responseEncoding: "base64",
    }),
    (e) => e instanceof HostError && e.code === "TOO_LARGE" && /response/.test(e.message),
  );
  deepEqual(seen, [MAX_HTTP_BODY_BYTES], "an 8 MiB body is sent whole");
});
