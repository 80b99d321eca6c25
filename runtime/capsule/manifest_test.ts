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

Deno.test("sections the runtime does not act on yet warn explicitly", () => {
  const { warnings } = parseManifest(`${HEAD}[capabilities]\nhost_process = ["git"]
[[mcp_server]]
id = "gh"
type = "stdio"
command = "gh-mcp"
[[cron]]
name = "nightly"
schedule = "@daily"
[[interceptor]]
event = "before_tool"
[[llm_provider]]
id = "local"
`);
  equal(warnings.length, 4);
  for (const s of ["cron", "interceptor", "llm_provider"]) {
    ok(warnings.some((w) => w.includes(s) && w.includes("not yet supported")), s);
  }
  ok(warnings.some((w) => w.includes('"gh-mcp" is not in [capabilities] host_process')));
});
