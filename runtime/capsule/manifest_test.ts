import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { CapsuleError } from "./errors.ts";
import { parseManifest } from "./manifest.ts";

const HEAD = '[package]\nname = "hi"\nversion = "1.0.0"\n';

function failure(text: string): CapsuleError {
  try {
    parseManifest(text);
  } catch (e) {
    ok(e instanceof CapsuleError, String(e));
    equal(e.code, "MANIFEST");
    return e;
  }
  throw new Error("expected the manifest to be refused");
}

Deno.test("parseManifest() reads every section, with defaults", () => {
  const { manifest, warnings } = parseManifest(`${HEAD}authors = ["Ada"]
[component]
entrypoint = "capsule.wasm"
hash = "blake3:${"a".repeat(64)}"
[capabilities]
net = ["api.example.com", "127.0.0.1:8080", "*.example.org"]
fs_read = ["."]
fs_write = ["out"]
kv = true
[env.API_KEY]
type = "secret"
request = "Your API key"
[env.UNITS]
default = "metric"
[[tool]]
name = "greet"
description = "Greets"
[[skill]]
name = "style"
path = "skills/style.md"
[[context_file]]
path = "CONTEXT.md"
[[command]]
name = "review"
prompt = "Review the diff"
`);
  deepEqual(warnings, []);
  equal(manifest.component?.hash, `blake3:${"a".repeat(64)}`);
  deepEqual(manifest.capabilities.net, ["api.example.com", "127.0.0.1:8080", "*.example.org"]);
  equal(manifest.env.API_KEY?.type, "secret");
  equal(manifest.env.UNITS?.type, "string");
  equal(manifest.tool[0]?.name, "greet");
  equal(manifest.skill[0]?.path, "skills/style.md");
  equal(manifest.command[0]?.prompt, "Review the diff");
});

Deno.test("an unknown key names the key and its line", () => {
  const e = failure(`${HEAD}\n[capabilities]\nkv = true\nnett = ["x"]\n`);
  equal(e.key, "capabilities.nett");
  equal(e.line, 7);
  match(e.message, /Capsule\.toml:7: key "capabilities\.nett" unknown key/);
  const top = failure(`${HEAD}[surprise]\na = 1\n`);
  equal(top.key, "surprise");
  equal(top.line, 4);
});

Deno.test("a bad type names the key and its line, inside array tables too", () => {
  const kv = failure(`${HEAD}[capabilities]\nkv = "yes"\n`);
  equal(kv.key, "capabilities.kv");
  equal(kv.line, 5);
  match(kv.message, /expected boolean/);
  const tool = failure(`${HEAD}[[tool]]\nname = "a"\n[[tool]]\nname = 42\n`);
  equal(tool.key, "tool[1].name");
  equal(tool.line, 7);
  const env = failure(`${HEAD}[env.KEY]\ntype = "password"\n`);
  equal(env.key, "env.KEY.type");
  equal(env.line, 5);
});

Deno.test("a TOML syntax error gives its line", () => {
  const e = failure(`${HEAD}[capabilities\nkv = true\n`);
  equal(e.line, 4);
  match(e.message, /Capsule\.toml:4/);
});

Deno.test("hostile values are refused: traversal, absolute paths, bad names, bad hashes", () => {
  failure(`${HEAD}[capabilities]\nfs_read = ["../.."]\n`);
  failure(`${HEAD}[capabilities]\nfs_write = ["/etc"]\n`);
  failure(`${HEAD}[component]\nentrypoint = "../other/capsule.wasm"\n`);
  failure(`${HEAD}[component]\nhash = "sha256:abc"\n`);
  failure(`${HEAD}[capabilities]\nnet = ["http://x.example/"]\n`);
  failure(`${HEAD}[[skill]]\nname = "s"\npath = "a/../../b"\n`);
  failure(HEAD.replace('"hi"', '"a__b"'));
  failure(HEAD.replace('"hi"', '"../x"'));
  failure(HEAD.replace('"hi"', '"Hi"'));
  failure('[package]\nversion = "1"\n');
  throws(() => parseManifest(42 as unknown as string), TypeError);
});

Deno.test("an [[mcp_server]] whose command is not granted warns", () => {
  const { warnings } = parseManifest(`${HEAD}[capabilities]\nhost_process = ["git"]
[[mcp_server]]
id = "gh"
type = "stdio"
command = "gh-mcp"
[[cron]]
name = "nightly"
schedule = "@daily"
[[interceptor]]
event = "before_tool_call"
[[llm_provider]]
id = "local"
`);
  deepEqual(warnings, [
    'Capsule.toml: [[mcp_server]] "gh" will not start: its command "gh-mcp" is not in ' +
    "[capabilities] host_process",
  ]);
});

/** The sample manifest of the seed document, verbatim. */
const SEED_MANIFEST = `[package]
name = "github-agent"
version = "1.0.0"

# 1. The primary WASM logic
[component]
entrypoint = "bin/github_agent.wasm"

# 2. OS Capabilities requested
[capabilities]
net = ["api.github.com"]
fs_read = ["/home/user/.gitconfig"]

# 3. Environment Variables elicited during docking
[env.GITHUB_TOKEN]
type = "secret"
request = "Please provide a GitHub Personal Access Token"

# 4. The Airlock Override: Legacy MCP stdio server
[[mcp_server]]
id = "local-git"
type = "stdio"
command = "npx"
args = ["-y", "@modelcontextprotocol/server-git"]

# 5. Scheduled Background Tasks (Cron)
[[cron]]
name = "sync-issues"
schedule = "0 * * * *"
action = "astrid.github.sync"

# 6. eBPF-style Lifecycle Hooks
[[interceptor]]
event = "BeforeToolCall"

# 7. LLM Provider (Agent Brain)
[[llm_provider]]
id = "claude-3-5-sonnet"
description = "Anthropic Claude 3.5 Sonnet Provider"
capabilities = ["text", "vision", "tools"]
`;

Deno.test("the seed's sample manifest is refused for its absolute fs_read, with the supported form", () => {
  const e = failure(SEED_MANIFEST);
  equal(e.key, "capabilities.fs_read[0]");
  equal(e.line, 12);
  equal(
    e.message,
    'Cannot accept Capsule.toml:12: key "capabilities.fs_read[0]" must be a path inside the ' +
      'workspace, relative to its root (e.g. fs_read = ["docs", "config/app.json"]); absolute ' +
      'paths such as "/home/user/.gitconfig" are not reachable from a capsule',
  );
});

Deno.test("the seed's sample manifest with a relative fs_read parses, its sections normalised", () => {
  const { manifest } = parseManifest(
    SEED_MANIFEST.replace('"/home/user/.gitconfig"', '".gitconfig"'),
  );
  equal(manifest.component?.entrypoint, "bin/github_agent.wasm");
  deepEqual(manifest.capabilities.fs_read, [".gitconfig"]);
  deepEqual(manifest.cron, [{
    name: "sync-issues",
    schedule: "0 * * * *",
    action: "astrid.github.sync",
  }]);
  deepEqual(manifest.interceptor, [{ event: "before_tool_call", priority: 0 }]);
  deepEqual(manifest.llm_provider, [{
    id: "claude-3-5-sonnet",
    description: "Anthropic Claude 3.5 Sonnet Provider",
    models: [],
    capabilities: ["text", "vision", "tools"],
  }]);
});

Deno.test("[[cron]] schedules: fields, ranges, steps, lists, names, macros and @every", () => {
  for (
    const schedule of [
      "0 * * * *",
      "*/15 9-17 * * mon-fri",
      "0,30 0 1 jan,JUL 0",
      "5 4 * * 7",
      "@hourly",
      "@daily",
      "@weekly",
      "@monthly",
      "@yearly",
      "@annually",
      "@midnight",
      "@every 30s",
      "@every 5m",
      "@every 2h",
    ]
  ) {
    const { manifest } = parseManifest(`${HEAD}[[cron]]\nname = "c"\nschedule = "${schedule}"\n`);
    equal(manifest.cron[0]?.schedule, schedule);
  }
  for (
    const [schedule, why] of [
      ["61 * * * *", /minute 61 is out of range 0-59/],
      ["* * * *", /has 4 fields/],
      ["* * 0 * *", /day-of-month 0 is out of range 1-31/],
      ["* * * foo *", /month "foo" is not a number/],
      ["*/0 * * * *", /step "0" must be a positive number/],
      ["5-1 * * * *", /runs backwards/],
      ["@often", /not a known macro/],
      ["@every 10d", /not a known macro/],
    ] as const
  ) {
    const e = failure(`${HEAD}[[cron]]\nname = "c"\nschedule = "${schedule}"\n`);
    equal(e.key, "cron[0].schedule");
    equal(e.line, 6);
    match(e.message, why);
    match(e.message, /@every <n>s\|m\|h/);
  }
  const twice = failure(`${HEAD}[[cron]]\nname = "c"\nschedule = "@daily"
[[cron]]\nname = "c"\nschedule = "@hourly"\n`);
  equal(twice.key, "cron[1].name");
  match(twice.message, /must be unique/);
});

Deno.test("[[interceptor]] events are normalised to snake_case; an unknown one lists the supported", () => {
  const { manifest } = parseManifest(`${HEAD}[[interceptor]]\nevent = "AfterToolCall"\npriority = 5
[[interceptor]]\nevent = "SessionStart"\naction = "greet"
[[interceptor]]\nevent = "llm_input"
[[interceptor]]\nevent = "BeforeAgentReply"\n`);
  deepEqual(manifest.interceptor, [
    { event: "after_tool_call", priority: 5 },
    { event: "session_start", action: "greet", priority: 0 },
    { event: "llm_input", priority: 0 },
    { event: "before_agent_reply", priority: 0 },
  ]);
  const e = failure(`${HEAD}[[interceptor]]\nevent = "BeforeTool"\n`);
  equal(e.key, "interceptor[0].event");
  match(e.message, /must be one of before_tool_call, after_tool_call, message_received/);
  match(e.message, /before_agent_reply/);
  equal(
    failure(`${HEAD}[[interceptor]]\nevent = "agent_end"\npriority = 1.5\n`).key,
    "interceptor[0].priority",
  );
});

Deno.test("[[llm_provider]] capabilities are checked", () => {
  const e = failure(`${HEAD}[[llm_provider]]\nid = "x"\ncapabilities = ["text", "smell"]\n`);
  equal(e.key, "llm_provider[0].capabilities[1]");
  match(e.message, /must be one of text, vision, tools/);
});

Deno.test("[[command]]: prompt, path, or a wasm command when there is a [component]", () => {
  const wasm = parseManifest(`${HEAD}[component]\n[[command]]\nname = "status"\n`).manifest;
  equal(wasm.command[0]?.prompt, undefined);
  equal(wasm.command[0]?.path, undefined);
  const neither = failure(`${HEAD}[[command]]\nname = "status"\n`);
  equal(neither.key, "command[0]");
  match(neither.message, /needs a prompt or a path .* on_hook handles "command:status"/);
  const both = failure(`${HEAD}[[command]]\nname = "x"\nprompt = "p"\npath = "x.md"\n`);
  equal(both.key, "command[0].path");
  const twice = failure(`${HEAD}[[command]]\nname = "x"\nprompt = "a"
[[command]]\nname = "x"\nprompt = "b"\n`);
  equal(twice.key, "command[1].name");
  failure(`${HEAD}[[skill]]\nname = "a.b"\npath = "a.md"\n`);
});

Deno.test("fs_write refuses absolute and escaping paths too, showing the relative form", () => {
  const abs = failure(`${HEAD}[capabilities]\nfs_write = ["/tmp/out"]\n`);
  match(
    abs.message,
    /fs_write = \["out", "notes\/log\.md"\]\); absolute paths such as "\/tmp\/out"/,
  );
  match(failure(`${HEAD}[capabilities]\nfs_read = ["~/.ssh"]\n`).message, /absolute paths/);
  match(failure(`${HEAD}[capabilities]\nfs_read = ["a/../../b"]\n`).message, /uses '\.\.'/);
});
