import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDirs } from "./cli.ts";
import { mapCapsuleStack, MAX_MAP_BYTES } from "../runtime/capsule/_stack_map.ts";

const LAUNCH = new URL("../runtime/cli/launch.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
const dec = new TextDecoder();

async function deno(args: string[], cwd: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, text: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

/** A fresh home and initialised workspace, removed when disposed. */
async function setup() {
  const { home, ws } = await tempDirs();
  equal((await runCli(["init", ws], { home })).code, 0);
  return {
    home,
    ws,
    async [Symbol.asyncDispose]() {
      await Deno.remove(home, { recursive: true });
      await Deno.remove(ws, { recursive: true });
    },
  };
}

/** Scaffolds `name` into `<home>/<name>` with the CLI and returns its folder. */
async function scaffold(home: string, name: string, cwd: string): Promise<string> {
  const dir = join(home, name);
  const made = await runCli(["capsule", "new", name, dir], { home, cwd });
  equal(made.code, 0, made.stderr);
  return dir;
}

Deno.test("capsule new scaffolds a project that type-checks, tests, compiles, installs and runs", async () => {
  await using t = await setup();
  const dir = await scaffold(t.home, "greeter", t.ws);
  for (const f of ["Capsule.toml", "src/mod.ts", "src/mod_test.ts", "deno.json"]) {
    ok((await Deno.stat(join(dir, f))).isFile, f);
  }
  const config = JSON.parse(await Deno.readTextFile(join(dir, "deno.json")));
  equal(
    config.imports["@astrid/sdk"],
    new URL("../toolchain/sdk/mod.ts", import.meta.url).href,
    "the SDK by absolute file URL",
  );
  deepEqual(config.compilerOptions.lib, ["es2022"]);
  const check = await deno(["check"], dir);
  equal(check.code, 0, check.text);
  const test = await deno(["test"], dir);
  equal(test.code, 0, test.text);
  match(test.text, /1 passed/);

  const compile = await runCli(["capsule", "compile", "."], { home: t.home, cwd: dir });
  equal(compile.code, 0, compile.stderr);
  ok((await Deno.stat(join(dir, "dist/capsule.wasm.map"))).isFile);
  const args = ["--args", JSON.stringify({ name: "Ada" }), "--approve", "once"];
  // Without installing: the project folder's dist/, through the gate.
  const called = await runCli(["capsule", "call", dir, "greet", ...args], {
    home: t.home,
    cwd: t.ws,
  });
  equal(called.code, 0, called.stderr);
  equal(called.stdout, "Hello, Ada!\n");
  const listed = await runCli(["capsule", "list", "--json"], { home: t.home, cwd: t.ws });
  deepEqual(JSON.parse(listed.stdout).capsules, [], "capsule call installs nothing");

  const install = await runCli(["capsule", "install", join(dir, "dist"), "--yes"], {
    home: t.home,
    cwd: t.ws,
  });
  equal(install.code, 0, install.stderr);
  const call = await runCli(["tools", "call", "greeter__greet", ...args], {
    home: t.home,
    cwd: t.ws,
  });
  equal(call.code, 0, call.stderr);
  equal(call.stdout, "Hello, Ada!\n");
});

Deno.test("capsule new refuses a bad name, a non-empty folder and a symlinked one", async () => {
  await using t = await setup();
  const bad = await runCli(["capsule", "new", "Bad Name", join(t.home, "x")], { home: t.home });
  equal(bad.code, 2, bad.stderr);
  await Deno.writeTextFile(join(t.ws, "keep.txt"), "mine");
  const full = await runCli(["capsule", "new", "ok", t.ws], { home: t.home });
  equal(full.code, 1, full.stderr);
  match(full.stderr, /not empty/);
  equal(await Deno.readTextFile(join(t.ws, "keep.txt")), "mine");
  const empty = join(t.home, "empty");
  await Deno.mkdir(empty);
  await Deno.symlink(empty, join(t.home, "link"));
  const linked = await runCli(["capsule", "new", "ok", join(t.home, "link")], { home: t.home });
  equal(linked.code, 1, linked.stderr);
  match(linked.stderr, /symlink/);
  deepEqual([...Deno.readDirSync(empty)], [], "nothing written through the link");
});

Deno.test("capsule call checks arguments, the hash pin and [env]; a throw points at the author's line", async () => {
  await using t = await setup();
  const dir = await scaffold(t.home, "probe", t.ws);
  await Deno.writeTextFile(
    join(dir, "Capsule.toml"),
    '[package]\nname = "probe"\nversion = "0.1.0"\n\n[env]\nUNITS = { type = "string", required = true }\n',
  );
  await Deno.writeTextFile(
    join(dir, "src/mod.ts"),
    `import { config, defineCapsule } from "@astrid/sdk";

function explode(n: number): never {
  throw new Error("boom " + n);
}

export default defineCapsule({
  tools: {
    greet: {
      description: "d",
      input: {
        type: "object",
        properties: { name: { type: "string" }, boom: { type: "integer" } },
        required: ["name"],
      },
      run: async (a: { name: string; boom?: number }) =>
        a.boom ? explode(a.boom) : \`\${a.name} in \${await config.get("UNITS")}\`,
    },
  },
});
`,
  );
  const compile = await runCli(["capsule", "compile", dir], { home: t.home, cwd: t.ws });
  equal(compile.code, 0, compile.stderr);
  const dist = join(dir, "dist");
  const call = (args: unknown, ...more: string[]) =>
    runCli(
      [
        "capsule",
        "call",
        dist,
        "greet",
        "--args",
        JSON.stringify(args),
        "--approve",
        "once",
        ...more,
      ],
      { home: t.home, cwd: t.ws },
    );
  const noEnv = await call({ name: "Ada" });
  equal(noEnv.code, 2, noEnv.stderr);
  match(noEnv.stderr, /UNITS is required/);
  const ok1 = await call({ name: "Ada" }, "--env", "UNITS=metric");
  equal(ok1.code, 0, ok1.stderr);
  equal(ok1.stdout, "Ada in metric\n");
  const missing = await call({}, "--env", "UNITS=metric");
  equal(missing.code, 2, missing.stderr);
  match(missing.stderr, /name: is required/);
  const wrong = await call({ name: "Ada", boom: "x" }, "--env", "UNITS=metric");
  equal(wrong.code, 2, wrong.stderr);
  match(wrong.stderr, /boom: must be integer/);
  const unknown = await runCli([
    "capsule",
    "call",
    dist,
    "nope",
    "--args",
    "{}",
    "--env",
    "UNITS=m",
  ], {
    home: t.home,
    cwd: t.ws,
  });
  equal(unknown.code, 2, unknown.stderr);
  match(unknown.stderr, /no such tool \(it has: greet\)/);

  const thrown = await call({ name: "Ada", boom: 7 }, "--env", "UNITS=metric");
  equal(thrown.code, 1, thrown.stderr);
  match(thrown.stderr, /boom 7/);
  match(thrown.stderr, /at explode \(src\/mod\.ts:4:\d+\)/);
  match(thrown.stderr, /at run \(src\/mod\.ts:17:\d+\)|src\/mod\.ts:17:/);

  // Installed, the capsule keeps its source map: the same throw names the author's line.
  const installed = await runCli(["capsule", "install", dist, "--yes", "--env", "UNITS=metric"], {
    home: t.home,
    cwd: t.ws,
  });
  equal(installed.code, 0, installed.stderr);
  const viaTools = await runCli([
    "tools",
    "call",
    "probe__greet",
    "--args",
    JSON.stringify({ name: "Ada", boom: 7 }),
    "--approve",
    "once",
  ], { home: t.home, cwd: t.ws });
  equal(viaTools.code, 1, viaTools.stderr);
  match(viaTools.stderr, /at explode \(src\/mod\.ts:4:\d+\)/);

  // A tampered wasm no longer matches the manifest's hash: integrity, exit 5.
  const wasm = await Deno.readFile(join(dist, "capsule.wasm"));
  wasm[wasm.length - 1]! ^= 0xff;
  await Deno.writeFile(join(dist, "capsule.wasm"), wasm);
  const tampered = await call({ name: "Ada" }, "--env", "UNITS=metric");
  equal(tampered.code, 5, tampered.stderr);
  // A source folder that was never compiled says so.
  const fresh = await scaffold(t.home, "fresh", t.ws);
  const uncompiled = await runCli(["capsule", "call", fresh, "greet", "--args", "{}"], {
    home: t.home,
    cwd: t.ws,
  });
  equal(uncompiled.code, 1, uncompiled.stderr);
  match(uncompiled.stderr, /capsule compile/);
});

Deno.test("capsule compile prints every type error grouped by file, with the sandbox hint for Deno", async () => {
  await using t = await setup();
  const dir = await scaffold(t.home, "typos", t.ws);
  await Deno.writeTextFile(
    join(dir, "src/util.ts"),
    "export function helper(): string {\n  const y: string = 1;\n  return y;\n}\n",
  );
  await Deno.writeTextFile(
    join(dir, "src/mod.ts"),
    `import { defineCapsule } from "@astrid/sdk";
import { helper } from "./util.ts";
const x: number = "a";
await Deno.readTextFile("x");
export default defineCapsule({ tools: { t: { description: "d", run: () => helper() + x } } });
`,
  );
  const res = await runCli(["capsule", "compile", dir], { home: t.home, cwd: t.ws });
  equal(res.code, 1, res.stderr);
  const lines = res.stderr.split("\n");
  const at = (s: string) => lines.findIndex((l) => l.trim() === s);
  ok(at("src/mod.ts") >= 0 && at("src/util.ts") > at("src/mod.ts"), res.stderr);
  match(res.stderr, /line 3: TS2322/);
  match(res.stderr, /line 4: TS2304: Cannot find name 'Deno': Deno APIs are not available inside/);
  match(res.stderr, /line 2: TS2322/);
  equal(/deno\.ns/.test(res.stderr), false, res.stderr);
});

Deno.test("capsule compile --watch rebuilds on change, one line per build, until interrupted", async () => {
  await using t = await setup();
  const dir = await scaffold(t.home, "watched", t.ws);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      "--config",
      CONFIG,
      LAUNCH,
      "capsule",
      "compile",
      dir,
      "--watch",
    ],
    cwd: t.ws,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: t.home,
      ASTRID_HOME: t.home,
      ASTRID_SYSTEM_CONFIG: `${t.home}/none.toml`,
      NO_COLOR: "1",
    },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream());
  const errText: string[] = [];
  const draining = (async () => {
    for await (const chunk of stderr) errText.push(chunk);
  })();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const nextLine = async (): Promise<string> => {
    while (!buffered.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`watch ended early: ${errText.join("")}`);
      buffered += value;
    }
    const at = buffered.indexOf("\n");
    const line = buffered.slice(0, at);
    buffered = buffered.slice(at + 1);
    return line;
  };
  try {
    const first = await nextLine();
    match(first, /^compiled blake3:[0-9a-f]{64} \d+ bytes/);
    const source = join(dir, "src/mod.ts");
    await Deno.writeTextFile(
      source,
      (await Deno.readTextFile(source)).replace("Hello, ", "Hi there, "),
    );
    let second = await nextLine();
    while (second === first.replace(/ \(\d+ ms\)$/, "")) second = await nextLine();
    match(second, /^compiled blake3:[0-9a-f]{64} \d+ bytes/);
    const hash = (l: string) => l.split(" ")[1];
    ok(hash(second) !== hash(first), `${first}\n${second}`);
  } finally {
    child.kill("SIGINT");
    await lines.cancel();
    await child.status;
    await draining;
  }
});

Deno.test("mapCapsuleStack() ignores a symlinked, oversized or malformed map and never echoes it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const wasm = join(dir, "capsule.wasm");
    const stack = "    at f (capsule.js:1:1)";
    const secret = join(dir, "secret.txt");
    await Deno.writeTextFile(secret, "root:x:0:0:TOP-SECRET");
    await Deno.symlink(secret, `${wasm}.map`);
    deepEqual(await mapCapsuleStack(wasm, stack), [], "a symlink is not followed");
    await Deno.remove(`${wasm}.map`);
    await Deno.copyFile(secret, `${wasm}.map`);
    deepEqual(await mapCapsuleStack(wasm, stack), [], "not JSON: nothing, and no quote of it");
    await Deno.writeTextFile(`${wasm}.map`, " ".repeat(MAX_MAP_BYTES + 1));
    deepEqual(await mapCapsuleStack(wasm, stack), [], "oversized");
    await Deno.writeTextFile(
      `${wasm}.map`,
      JSON.stringify({ version: 3, sources: ["a.ts"], names: [], mappings: "!!!not-vlq" }),
    );
    const garbled = await mapCapsuleStack(wasm, stack);
    ok(garbled.every((l) => /^ {4}at [ -~]+$/.test(l)), "garbled mappings: no throw, text only");
    // A forged map may only rename frames: control characters are cut.
    await Deno.writeTextFile(
      `${wasm}.map`,
      JSON.stringify({ version: 3, sources: ["\u001b[31mevil.ts"], names: [], mappings: "AAAA" }),
    );
    deepEqual(await mapCapsuleStack(wasm, stack), ["    at f (?[31mevil.ts:1:1)"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
