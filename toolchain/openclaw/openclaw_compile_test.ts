import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { parse as parseToml } from "smol-toml";
import { compileCapsule, CompileError } from "../compile.ts";
import { capsuleNameOf, detectOpenClaw, envFromConfig } from "./detect.ts";
import { classifyImport } from "./resolve.ts";
import { registeredSections } from "./registered.ts";

const FIXTURES = decodeURIComponent(new URL("../../testdata/openclaw", import.meta.url).pathname);

type Toml = Record<string, unknown> & {
  package: { name: string; version: string; description?: string };
  tool?: { name: string; description: string; input_schema: Record<string, unknown> }[];
  interceptor?: { event: string; priority?: number }[];
  command?: { name: string; description: string }[];
  env?: Record<string, { type: string; default?: string; required?: boolean; request?: string }>;
  capabilities?: { net?: string[]; kv?: boolean };
};

async function compileFixture(name: string) {
  const out = await Deno.makeTempDir({ prefix: `astrid-oc-${name.replace("/", "-")}-` });
  const lines: string[] = [];
  const res = await compileCapsule(`${FIXTURES}/${name}`, { out, log: (l) => lines.push(l) });
  const toml = parseToml(await Deno.readTextFile(res.manifestPath)) as Toml;
  return { res, toml, lines, out };
}

async function compileError(name: string): Promise<CompileError> {
  const out = await Deno.makeTempDir({ prefix: "astrid-oc-refuse-" });
  try {
    await compileCapsule(`${FIXTURES}/${name}`, { out });
  } catch (e) {
    ok(e instanceof CompileError, String(e));
    return e;
  } finally {
    await Deno.remove(out, { recursive: true });
  }
  throw new Error(`${name} compiled, but it should have been refused`);
}

Deno.test("detectOpenClaw() recognises openclaw.plugin.json and package.json#openclaw, not a capsule", async () => {
  const forecast = await detectOpenClaw(`${FIXTURES}/forecast`);
  equal(forecast?.id, "forecast");
  equal(forecast?.detectedBy, "openclaw.plugin.json");
  equal(forecast?.declaredEntry, "./index.ts");
  deepEqual(forecast?.configKeys.map((k) => `${k.key}:${k.type}`), [
    "units:string",
    "apiKey:string",
    "maxDays:integer",
  ]);
  const quotes = await detectOpenClaw(`${FIXTURES}/quotes`);
  equal(quotes?.detectedBy, "package.json#openclaw");
  equal(quotes?.declaredEntry, "./dist/index.js", "src/ is not shipped: the runtime entry is used");
  const hello = decodeURIComponent(new URL("../../examples/hello", import.meta.url).pathname);
  equal(await detectOpenClaw(hello), null);
});

Deno.test("detectOpenClaw() refuses an entry outside the plugin and a missing entry, by name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/package.json`,
      JSON.stringify({ name: "x", openclaw: { extensions: ["../evil.ts"] } }),
    );
    await rejects(detectOpenClaw(dir), /must stay inside the plugin folder/);
    await Deno.writeTextFile(
      `${dir}/package.json`,
      JSON.stringify({ name: "x", openclaw: { runtimeExtensions: ["./dist/index.js"] } }),
    );
    await rejects(detectOpenClaw(dir), /none of \.\/dist\/index\.js exists/);
    await Deno.writeTextFile(`${dir}/openclaw.plugin.json`, "{ not json");
    await rejects(detectOpenClaw(dir), /Cannot parse openclaw\.plugin\.json/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("capsuleNameOf() and envFromConfig() derive the capsule's name and [env]", () => {
  equal(capsuleNameOf("@acme/openclaw-Stock.Quotes"), "stock-quotes");
  equal(capsuleNameOf("123"), "openclaw-plugin");
  const env = envFromConfig(
    {
      properties: {
        token: { type: "string" },
        label: { type: "string", title: "Label" },
        "bad-name": { type: "string" },
        flags: { type: "object", default: { a: 1 } },
      },
      required: ["token", "label"],
    },
    { label: { sensitive: false } },
  );
  deepEqual(env, {
    token: { type: "secret", required: true },
    label: { type: "string", request: "Label", required: true },
    flags: { type: "string", default: '{"a":1}', required: false },
  });
});

Deno.test("classifyImport() maps the SDK and the Node compatibility set, and refuses the rest", () => {
  for (
    const s of ["openclaw/plugin-sdk", "openclaw/plugin-sdk/plugin-entry", "node:path", "path"]
  ) {
    equal(classifyImport(s).kind, "file", s);
  }
  for (const s of ["node:fs/promises", "fs/promises", "node:crypto", "events", "node:buffer"]) {
    equal(classifyImport(s).kind, "file", s);
  }
  const refused: [string, RegExp][] = [
    ["openclaw/plugin-sdk/not-a-subpath", /plugin-sdk\/not-a-subpath/],
    ["openclaw", /does not provide this module/],
    ["openclaw/plugin-sdk/agent-harness-runtime", /stdio MCP server/],
    ["node:child_process", /cannot start processes/],
    ["child_process", /cannot start processes/],
    ["node:os", /cannot inspect the host/],
    ["zlib", /offers only/],
    ["bindings", /native addon/],
    ["@mapbox/node-pre-gyp", /native addon/],
    ["./x/addon.node", /native addon/],
    ["@modelcontextprotocol/sdk/client/stdio.js", /stdio MCP server/],
  ];
  for (const [s, why] of refused) {
    const c = classifyImport(s);
    equal(c.kind, "refuse", s);
    if (c.kind === "refuse") match(c.message, why);
  }
  equal(classifyImport("@modelcontextprotocol/sdk/client/index.js").kind, "normal");
});

Deno.test("an OpenClaw tool plugin compiles with Node's resolution into an ordinary capsule", async () => {
  const { res, toml, lines, out } = await compileFixture("forecast");
  try {
    equal(res.openclaw, "forecast");
    equal(toml.package.name, "forecast");
    equal(toml.package.version, "1.2.0");
    deepEqual(toml.tool?.map((t) => t.name), ["forecast", "config_echo"]);
    const schema = toml.tool?.[0]?.input_schema as { required?: string[]; properties?: object };
    deepEqual(schema.required, ["city", "days"]);
    deepEqual(Object.keys(schema.properties ?? {}), ["city", "days"]);
    equal(toml.env?.apiKey?.type, "secret");
    equal(toml.env?.apiKey?.request, "Forecast API key");
    equal(toml.env?.units?.default, "metric");
    equal(toml.env?.maxDays?.default, "5");
    equal(toml.capabilities?.kv, true);
    match(String(toml.component && (toml.component as { hash: string }).hash), /^blake3:/);
    ok(
      res.notes.some((n) => /local_radar.*returned null when sandboxed/.test(n)),
      res.notes.join("|"),
    );
    ok(res.notes.some((n) => /not supported by Astrid: api\.registerCli/.test(n)));
    ok(lines.some((l) => /OpenClaw plugin "forecast"/.test(l)));
    ok(lines.some((l) => /type-check: skipped/.test(l)));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("a defineToolPlugin package that ships only dist/*.js compiles, factories included", async () => {
  const { toml, res, out } = await compileFixture("quotes");
  try {
    equal(toml.package.name, "quotes", "the npm name's openclaw- prefix is dropped");
    deepEqual(toml.tool?.map((t) => t.name), ["quote", "quote_text", "watchlist"]);
    ok(res.notes.some((n) => /desk_ticker/.test(n)), res.notes.join("|"));
    // Its config schema is declared only in code (no openclaw.plugin.json): still [env].
    deepEqual(toml.env, {
      currency: { type: "string", request: "Currency code", required: false },
    });
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("a hook-only plugin writes [[interceptor]]s and keeps the overlay's capabilities", async () => {
  const { toml, res, out } = await compileFixture("guard");
  try {
    equal(toml.tool, undefined);
    const events = toml.interceptor?.map((i) => i.event) ?? [];
    deepEqual(events.toSorted(), ["after_tool_call", "before_tool_call", "message_sending"]);
    equal(toml.interceptor?.find((i) => i.event === "before_tool_call")?.priority, 10);
    deepEqual(toml.capabilities?.net, ["127.0.0.1"]);
    equal(toml.env?.policyUrl?.required, true);
    ok(res.notes.some((n) => /before_everything/.test(n)), res.notes.join("|"));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("commands, a keyed store and Node built-ins compile; commands become [[command]]s", async () => {
  const { toml, out } = await compileFixture("notes");
  try {
    deepEqual(toml.command?.map((c) => c.name), ["note", "notes"]);
    deepEqual(toml.tool?.map((t) => t.name), ["notes_search", "notes_path", "notes_summary"]);
    equal((toml.capabilities as { llm?: boolean }).llm, true, "the overlay grants the model");
    ok(
      toml.interceptor?.some((i) => i.event === "session_start"),
      "the service starts with the session",
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("heavy npm clients (axios, openapi-fetch, zod, yaml) bundle into the capsule", async () => {
  const { toml, res, out } = await compileFixture("heavy");
  try {
    deepEqual(toml.tool?.map((t) => t.name), ["inventory", "item"]);
    ok(res.bytes > 0);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("child_process, native addons, stdio MCP servers and unknown SDK subpaths are refused at compile time, by file:line", async () => {
  const child = await compileError("refuse/child-process");
  equal(child.code, "UNSUPPORTED_IMPORT");
  match(child.message, /^src\/run\.ts:3: .*"node:child_process".*cannot start processes/);
  equal(child.file, "src/run.ts");
  equal(child.line, 3);
  const native = await compileError("refuse/native");
  match(native.message, /native addon/);
  const mcp = await compileError("refuse/mcp-stdio");
  match(mcp.message, /^index\.ts:2: .*stdio MCP server/);
  const sub = await compileError("refuse/subpath");
  match(sub.message, /^index\.ts:2: .*"plugin-sdk\/channel-core"/);
});

Deno.test("a register(api) plugin without OpenClaw metadata fails at compile time, not at its first call", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/package.json`,
      JSON.stringify({ name: "bare", version: "1.0.0" }),
    );
    await Deno.writeTextFile(
      `${dir}/index.ts`,
      "export default { register(api: { registerTool(t: unknown): void }) { api.registerTool({}); } };\n",
    );
    const err = await compileCapsule(dir, { out: `${dir}/out`, typeCheck: false }).then(
      () => null,
      (e: unknown) => e,
    );
    ok(err instanceof CompileError, String(err));
    match(err.message, /defines no tools.*openclaw\.plugin\.json/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("registeredSections() skips names Capsule.toml cannot hold, with a note", () => {
  const { sections, notes } = registeredSections({
    tools: [
      { name: "ok_tool", description: "", input_schema: { type: "object" } },
      { name: "has space", description: "", input_schema: { type: "object" } },
      { name: "a..b", description: "", input_schema: { type: "object" } },
    ],
    hooks: [],
    cron: [],
    commands: [{ name: "/weird name", description: "" }],
    providers: [],
    notes: [],
    logs: [],
  }, {});
  deepEqual((sections.tool as { name: string }[]).map((t) => t.name), ["ok_tool"]);
  equal(sections.command, undefined);
  equal(notes.filter((n) => /skipped/.test(n)).length, 3);
});

Deno.test("registeredSections() turns a config schema declared in code into [env], hints and all", () => {
  const described = {
    tools: [{ name: "t", description: "", input_schema: { type: "object" } }],
    hooks: [],
    cron: [],
    commands: [],
    providers: [],
    notes: [],
    logs: [],
    config: {
      type: "object",
      required: ["token", "region"],
      properties: {
        token: { type: "string" },
        region: { type: "string", default: "eu" },
        "not a name": { type: "string" },
      },
      "x-uiHints": { token: { label: "API token", sensitive: true }, region: "junk" },
    },
  };
  const { sections } = registeredSections(described, {});
  deepEqual(sections.env, {
    token: { type: "secret", request: "API token", required: true },
    region: { type: "string", default: "eu", required: false },
  });
  // An [env] from openclaw.plugin.json or the overlay is kept as it is.
  const kept = registeredSections(described, { env: { other: { type: "string" } } });
  equal(kept.sections.env, undefined);
});
