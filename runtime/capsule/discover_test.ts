import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { parseManifest } from "./manifest.ts";
import { loadCapsule } from "./loader.ts";
import { CapsuleError } from "./errors.ts";
import { canonicalBytes } from "../crypto/mod.ts";
import { discoverTools } from "./discover.ts";
import { probeCopy } from "./_testing.ts";

const LIMITS = { timeoutMs: 5000, memoryMb: 64 };
const CTX = { parentEnv: {}, workspaceRoot: null };

Deno.test("discoverTools() asks the wasm when the manifest declares no tools", async () => {
  const loaded = await loadCapsule(await probeCopy(), { requireHash: true });
  const { tools, dropped } = await discoverTools({ loaded, env: {} }, LIMITS, CTX);
  ok(tools.some((t) => t.name === "echo" && t.description === "Echoes its arguments"));
  deepEqual(dropped, []);
  ok(tools.every((t) => t.server === undefined));
});

Deno.test("discoverTools() copies schemas as plain data that can be signed", async () => {
  const { manifest } = parseManifest(
    '[package]\nname = "d"\nversion = "1"\n[[tool]]\nname = "t"\n[tool.input_schema]\nwhen = 1979-05-27\n',
  );
  const { tools } = await discoverTools(
    { loaded: { dir: "/d", manifest, warnings: [], wasm: null }, env: {} },
    LIMITS,
    CTX,
  );
  equal(typeof tools[0]?.inputSchema.when, "string");
  canonicalBytes("capsule-install", tools); // does not throw
});

Deno.test("discoverTools() fails the install when a server cannot be started to list", async () => {
  const { manifest } = parseManifest(
    '[package]\nname = "d"\nversion = "1"\n[[mcp_server]]\nid = "s"\ntype = "stdio"\ncommand = "/bin/sh"\n',
  );
  await rejects(
    discoverTools(
      { loaded: { dir: "/d", manifest, warnings: [], wasm: null }, env: {} },
      LIMITS,
      CTX,
    ),
    (e: unknown) => e instanceof CapsuleError && e.code === "INSTALL",
  );
});
