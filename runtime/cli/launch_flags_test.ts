import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { DEFAULT_CONFIG } from "../config/mod.ts";
import {
  denoFlags,
  type LaunchConfig,
  LaunchError,
  providerHost,
  type RuntimeInputs,
  runtimePermissions,
} from "./launch_flags.ts";
import { toolchainPermissions } from "./toolchain_flags.ts";

const DENO = "/opt/deno/bin/deno";

/** A typical config: a walled stdio server, an unwalled one, a remote one, extra hosts. */
function sampleConfig(): LaunchConfig {
  const stdio = {
    transport: "stdio" as const,
    args: [],
    env: {},
    auto_start: false,
    restart_policy: "never" as const,
    network: false,
    writable: [],
  };
  return {
    ...structuredClone(DEFAULT_CONFIG),
    model: { ...DEFAULT_CONFIG.model, provider: "openai", api_url: "" },
    audit: { ...DEFAULT_CONFIG.audit, witness_path: "/var/log/astrid/witness.jsonl" },
    storage: { kv_url: "/srv/astrid/state.kv" },
    tools: { ...DEFAULT_CONFIG.tools, sandbox: "off" },
    runtime: { allow_net: ["auth.example.com:443"] },
    servers: {
      files: { ...stdio, command: "mcp-files", sandbox: "on" },
      local: { ...stdio, command: "/opt/mcp/local", sandbox: "off", cwd: "/opt/mcp" },
      docs: { ...stdio, transport: "http", url: "https://mcp.example.com/mcp", sandbox: "on" },
    },
  };
}

function sampleInputs(config: LaunchConfig = sampleConfig()): RuntimeInputs {
  return {
    deno: DENO,
    tempDirs: ["/tmp"],
    homes: ["/home/u/.astrid"],
    workspace: "/home/u/proj",
    witnesses: ["/var/log/astrid/witness.jsonl"],
    config,
    capsuleHosts: ["api.weather.example", "*.cdn.example:443"],
    offServerCommands: ["/opt/mcp/local"],
    setsid: "/usr/bin/setsid",
    bwrap: "/usr/bin/bwrap",
    argWrites: ["/home/u/out.jsonl"],
  };
}

Deno.test("runtimePermissions() computes the documented flags for a typical config", () => {
  const flags = denoFlags(runtimePermissions(sampleInputs()));
  deepEqual(flags, [
    "--no-prompt",
    "--allow-read",
    "--allow-write=" + [
      "/home/u/.astrid",
      "/home/u/proj",
      "/tmp",
      "/var/log/astrid",
      "/srv/astrid",
      "/home/u/out.jsonl",
    ].join(","),
    `--allow-run=/usr/bin/bwrap,${DENO},/usr/bin/setsid,/opt/mcp/local`,
    "--allow-net=" + [
      "api.openai.com:443",
      "mcp.example.com:443",
      "api.weather.example",
      "*.cdn.example:443",
      "auth.example.com:443",
      "127.0.0.1",
      "localhost",
      "[::1]",
    ].join(","),
    "--allow-env",
    "--allow-sys=osRelease,uid,gid",
  ]);
  ok(!flags.some((f) => f === "-A" || f.startsWith("--allow-all") || f.startsWith("--allow-ffi")));
});

Deno.test("runtimePermissions() with the defaults writes only the home, the workspace and temp", () => {
  const inputs: RuntimeInputs = {
    ...sampleInputs(DEFAULT_CONFIG),
    witnesses: ["/home/u/.astrid/audit-witness.jsonl"],
    capsuleHosts: [],
    offServerCommands: [],
    argWrites: [],
  };
  const set = runtimePermissions(inputs);
  deepEqual(set.write.map((g) => g.path), ["/home/u/.astrid", "/home/u/proj", "/tmp"]);
  deepEqual(set.run, ["/usr/bin/bwrap", DENO]); // setsid only when [tools] sandbox = "off"
  deepEqual(set.net, ["api.anthropic.com:443", "127.0.0.1", "localhost", "[::1]"]);
  deepEqual(set.ffi, []);
  equal(set.read, true); // see launch_flags.ts RUNTIME_READ
  for (const grant of set.write) ok(grant.why.length > 0, grant.path);
});

Deno.test("runtimePermissions() refuses a host that is not host[:port]", () => {
  const config = { ...sampleConfig(), runtime: { allow_net: ["evil.example/path"] } };
  throws(() => runtimePermissions(sampleInputs(config)), LaunchError);
  const bad = { ...sampleConfig(), model: { ...DEFAULT_CONFIG.model, api_url: "ftp://x" } };
  throws(() => runtimePermissions(sampleInputs(bad)), /only http and https/);
});

Deno.test("runtimePermissions() reaches a remote KV store and writes no folder for it", () => {
  const config = { ...sampleConfig(), storage: { kv_url: "https://kv.example.com/db/1" } };
  const set = runtimePermissions(sampleInputs(config));
  ok(set.net.includes("kv.example.com:443"));
  ok(!set.write.some((g) => g.path.includes("kv.example.com")));
});

Deno.test("providerHost() follows [model] provider and api_url", () => {
  equal(providerHost({ provider: "anthropic", api_url: "" }), "api.anthropic.com:443");
  equal(providerHost({ provider: "openai", api_url: "" }), "api.openai.com:443");
  equal(providerHost({ provider: "openai", api_url: "https://llm.corp:8443/v1" }), "llm.corp:8443");
  equal(providerHost({ provider: "anthropic", api_url: "http://gw.internal/" }), "gw.internal:80");
});

Deno.test("toolchainPermissions() writes only the project, output, .build and temp", () => {
  const set = toolchainPermissions({
    repo: "/repo",
    deno: DENO,
    denoDir: "/home/u/.cache/deno",
    tempDirs: ["/tmp"],
    project: "/home/u/cap",
    out: "/home/u/cap-out",
    wizer: "/repo/node_modules/.deno/wizer/wizer",
  });
  deepEqual(set.write.map((g) => g.path), [
    "/home/u/cap",
    "/home/u/cap-out",
    "/repo/.build",
    "/tmp",
  ]);
  deepEqual(set.run, ["/repo/node_modules/.deno/wizer/wizer", DENO]);
  deepEqual(set.net, []);
  deepEqual(set.ffi, ["/repo/node_modules"]);
  ok(denoFlags(set).includes("--allow-ffi=/repo/node_modules"));
});

Deno.test("denoFlags() refuses an entry that cannot be written in a flag list", () => {
  const set = runtimePermissions(sampleInputs());
  throws(
    () => denoFlags({ ...set, write: [...set.write, { path: "/tmp/a,b", why: "x" }] }),
    /cannot be empty or hold a comma/,
  );
  throws(() => denoFlags({ ...set, run: [""] }), LaunchError);
});
