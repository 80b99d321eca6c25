import { deepEqual } from "node:assert/strict";
import { parseManifest } from "./manifest.ts";
import { envDiff, pinnedSpec, specDiff } from "./record_diff.ts";

const spec = (extra: string, wasm: string | null = null) =>
  pinnedSpec(parseManifest(`[package]\nname = "n"\nversion = "1"\n${extra}`).manifest, wasm);
const lines = (a: ReturnType<typeof spec> | null, b: ReturnType<typeof spec>) =>
  specDiff(a, b).map((c) => `${c.sign} ${c.what}`);

Deno.test("specDiff() of a first install lists everything asked for as added", () => {
  deepEqual(
    lines(
      null,
      spec(
        '[capabilities]\nnet = ["a.example"]\nkv = true\nhost_process = ["/bin/sh"]\n[env.K]\ntype = "secret"\nrequired = true\n',
      ),
    ),
    [
      "+ network: a.example",
      "+ its own key-value store",
      "+ run: /bin/sh",
      "+ asks for: env K (secret, required)",
    ],
  );
});

Deno.test("specDiff() shows removed and changed capabilities, servers, env types and the wasm", () => {
  const before = spec(
    '[capabilities]\nfs_write = ["out"]\nkv = true\n[env.K]\n[[mcp_server]]\nid = "s"\ntype = "stdio"\ncommand = "a"\n',
    `blake3:${"1".repeat(64)}`,
  );
  const after = spec(
    '[capabilities]\nfs_write = ["."]\n[env.K]\ntype = "secret"\n[[mcp_server]]\nid = "s"\ntype = "stdio"\ncommand = "a"\nargs = ["-x"]\n',
    `blake3:${"2".repeat(64)}`,
  );
  deepEqual(lines(before, after), [
    "+ write files under: .",
    "- write files under: out",
    "- its own key-value store",
    "+ asks for: env K (secret)",
    "- asks for: env K (string)",
    '+ MCP server: s runs "a" "-x"',
    '- MCP server: s runs "a"',
    `~ wasm: blake3:${"1".repeat(64)} → blake3:${"2".repeat(64)}`,
  ]);
  deepEqual(lines(before, before), []);
});

Deno.test("specDiff() compares tool names only when both sides list them", () => {
  const a = { ...spec(""), tools: [{ name: "x" }, { name: "y" }] };
  const b = { ...spec(""), tools: [{ name: "y" }, { name: "z" }] };
  deepEqual(lines(a, b), ["+ tool: z", "- tool: x"]);
  deepEqual(lines(a, spec("")), []);
});

Deno.test("envDiff() shows keys added, removed and retyped, and what happens to stored values", () => {
  const before = spec('[env.A]\n[env.B]\ntype = "secret"\n[env.C]\n[env.D]\n').env;
  const after =
    spec('[env.B]\ntype = "secret"\n[env.C]\ntype = "secret"\n[env.D]\nrequired = true\n[env.E]\n')
      .env;
  deepEqual(envDiff(before, after, ["A", "C"]).map((c) => `${c.sign} ${c.what}`), [
    "+ env E (string)",
    "- env A (string): its stored value is deleted",
    "~ env C: string → secret: its stored value is dropped and asked again",
    "~ env D: now required",
  ]);
  deepEqual(envDiff(before, after, []).map((c) => c.what).slice(1, 3), [
    "env A (string)",
    "env C: string → secret",
  ]);
  deepEqual(envDiff(after, after, ["B", "C"]), [], "nothing changed");
});

Deno.test("envDiff() is not fooled by inherited keys (__proto__, constructor)", () => {
  const after = spec("[env.constructor]\n").env;
  deepEqual(envDiff({}, after, []).map((c) => c.what), ["env constructor (string)"]);
  deepEqual(envDiff(after, {}, ["constructor"]).map((c) => c.sign), ["-"]);
});
