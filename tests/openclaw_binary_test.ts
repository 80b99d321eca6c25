/**
 * An OpenClaw plugin that handles binary files with `node:fs/promises` and `Buffer`, end to end
 * through the real CLI: `astrid capsule compile` on the plugin folder, `astrid capsule install`,
 * then `astrid tools call`. The files it copies must come out byte for byte.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDirs } from "./cli.ts";

const PLUGIN = `
import { definePluginEntry } from "openclaw/plugin-sdk/plugin-entry";
import { appendFile, copyFile, readFile, writeFile } from "node:fs/promises";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";

export default definePluginEntry({
  id: "binfiles",
  name: "Binfiles",
  description: "Copies binary files",
  register(api) {
    api.registerTool({
      name: "copy_binary",
      description: "Copies a binary file, then rewrites it through Buffer encodings",
      parameters: {
        type: "object",
        properties: { from: { type: "string" }, to: { type: "string" } },
        required: ["from", "to"],
      },
      async execute(_id: string, params: { from: string; to: string }) {
        await copyFile(params.from, params.to);
        const data = await readFile(params.to);
        const b64 = data.toString("base64");
        const hex = data.toString("hex");
        const latin1 = data.toString("latin1");
        const roundTrips = [
          Buffer.from(b64, "base64").equals(data),
          Buffer.from(hex, "hex").equals(data),
          Buffer.from(latin1, "latin1").equals(data),
          (await readFile(params.from, "base64")) === b64,
        ];
        await writeFile(params.to + ".b64", b64);
        await writeFile(params.to + ".2", Buffer.from(b64, "base64"));
        await appendFile(params.to + ".2", new Uint8Array([0, 255]));
        await writeFile(params.to + ".3", hex, "hex");
        await writeFile(params.to + ".4", data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
        const info = {
          size: data.length,
          isBuffer: Buffer.isBuffer(data),
          sha256: createHash("sha256").update(data).digest("hex"),
          roundTrips,
        };
        return { content: [{ type: "text", text: JSON.stringify(info) }] };
      },
    });
  },
});
`;

const FILES: Record<string, string> = {
  "openclaw.plugin.json": JSON.stringify({
    id: "binfiles",
    name: "Binfiles",
    description: "Copies binary files",
    configSchema: { type: "object", properties: {} },
  }),
  "package.json": JSON.stringify({
    name: "@fixtures/openclaw-binfiles",
    version: "0.1.0",
    type: "module",
    peerDependencies: { openclaw: ">=2026.3.24" },
    openclaw: { extensions: ["./index.ts"] },
  }),
  "index.ts": PLUGIN,
  "Capsule.toml": '[capabilities]\nfs_read = ["."]\nfs_write = ["out"]\n',
};

/** Every byte value, invalid UTF-8, and a PNG signature with deterministic noise. */
function binary(): Uint8Array<ArrayBuffer> {
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  let x = 0x9e3779b9;
  const noise = Array.from({ length: 20_000 }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x & 255;
  });
  const all = Array.from({ length: 256 }, (_, i) => i);
  return new Uint8Array([...png, ...all, 0xc0, 0x80, 0xed, 0xa0, 0x80, 0xff, ...noise]);
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("an OpenClaw plugin copies a binary file byte for byte with node:fs/promises and Buffer", async () => {
  const { home, ws } = await tempDirs();
  const src = await Deno.makeTempDir({ prefix: "astrid-oc-bin-src-" });
  try {
    for (const [name, text] of Object.entries(FILES)) {
      await Deno.writeTextFile(join(src, name), text);
    }
    const out = join(home, "build");
    const compiled = await runCli(["capsule", "compile", src, "-o", out], { home });
    equal(compiled.code, 0, compiled.stderr);
    equal((await runCli(["init", ws], { home })).code, 0);
    const installed = await runCli(["capsule", "install", out, "--yes"], { home, cwd: ws });
    equal(installed.code, 0, installed.stderr);

    const data = binary();
    await Deno.writeFile(join(ws, "in.png"), data);
    await Deno.mkdir(join(ws, "out"));
    const r = await runCli([
      "tools",
      "call",
      "binfiles__copy_binary",
      "--args",
      JSON.stringify({ from: "in.png", to: "out/copy.png" }),
      "--approve",
      "once",
    ], { home, cwd: ws });
    equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout.slice(r.stdout.indexOf("{"), r.stdout.lastIndexOf("}") + 1));
    deepEqual(info, {
      size: data.length,
      isBuffer: true,
      sha256: await sha256(data),
      roundTrips: [true, true, true, true],
    });
    deepEqual(await Deno.readFile(join(ws, "out/copy.png")), data);
    deepEqual(await Deno.readFile(join(ws, "out/copy.png.2")), new Uint8Array([...data, 0, 255]));
    deepEqual(await Deno.readFile(join(ws, "out/copy.png.3")), data);
    deepEqual(await Deno.readFile(join(ws, "out/copy.png.4")), data);
    equal(await Deno.readTextFile(join(ws, "out/copy.png.b64")), data.toBase64());

    const audit = await runCli(["audit", "list", "--json"], { home, cwd: ws });
    equal(audit.code, 0, audit.stderr);
    const writes =
      (JSON.parse(audit.stdout) as { decision: string; action: { resource: string } }[])
        .filter((e) => e.action.resource === "capsule://binfiles/write_file");
    ok(
      writes.some((e) => e.decision === "allowed"),
      "binary writes are audited write_file actions",
    );
  } finally {
    await Deno.remove(src, { recursive: true });
    await Deno.remove(home, { recursive: true }).catch(() => {});
    await Deno.remove(ws, { recursive: true }).catch(() => {});
  }
});
