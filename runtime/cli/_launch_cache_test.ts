import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { tempDirs } from "../../tests/cli.ts";
import { cachedFlags, cachePath, MAX_CACHE_BYTES } from "./_launch_cache.ts";
import { readEntries, writeEntries } from "./_launch_cache_file.ts";
import { launchPermissions, REPO } from "./_launch_inputs.ts";
import { denoFlags } from "./launch_flags.ts";

const PATH = Deno.env.get("PATH") ?? "/usr/bin:/bin";
const enc = new TextEncoder();

/** A home, an initialised workspace, and the environment a user's shell would give. */
async function world() {
  const { home, ws } = await tempDirs();
  await Deno.mkdir(join(ws, ".astrid"));
  const env: Record<string, string> = {
    PATH,
    HOME: home,
    ASTRID_HOME: home,
    ASTRID_SYSTEM_CONFIG: join(home, "system.toml"),
    NO_COLOR: "1",
  };
  const cleanup = async () => {
    for (const dir of [home, ws]) await Deno.remove(dir, { recursive: true });
  };
  return { home, ws, env, cleanup };
}

/**
 * The flags through the cache, checked against a fresh computation with the same inputs (the
 * property every case below asserts): returns how they were obtained.
 */
async function flagsOf(
  args: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<{ flags: string[]; source: string }> {
  const compute = async (e: Readonly<Record<string, string | undefined>>) =>
    denoFlags(await launchPermissions(args, e, cwd));
  const got = await cachedFlags(args, env, cwd, compute);
  const fresh = denoFlags(await launchPermissions(args, env, cwd));
  deepEqual(got.flags, fresh, `${got.source} flags differ from a fresh computation`);
  return got;
}

const LIST = ["audit", "list"];

Deno.test("a repeat run with unchanged inputs reuses the flags from a 0600 file owned by this uid", async () => {
  const { home, ws, env, cleanup } = await world();
  try {
    equal((await flagsOf(LIST, env, ws)).source, "computed");
    equal((await flagsOf(LIST, env, ws)).source, "cached");
    const info = Deno.lstatSync(cachePath(home));
    ok(info.isFile);
    equal(info.mode! & 0o777, 0o600);
    equal(info.uid, Deno.uid());
    equal(Deno.statSync(join(home, "cache")).mode! & 0o777, 0o700);
    // Another command line shape gets its own entry; both stay cached.
    equal((await flagsOf(["tools", "list"], env, ws)).source, "computed");
    equal((await flagsOf(LIST, env, ws)).source, "cached");
    equal((await flagsOf(["tools", "list"], env, ws)).source, "cached");
    // The cache file holds no environment value (API keys), only hashes.
    const secret = { ...env, ANTHROPIC_API_KEY: "sk-secret-value-123" };
    await flagsOf(LIST, secret, ws);
    ok(!Deno.readTextFileSync(cachePath(home)).includes("sk-secret-value-123"));
  } finally {
    await cleanup();
  }
});

Deno.test("editing the user, workspace or system config recomputes, even at the same size with the mtime restored", async () => {
  const { home, ws, env, cleanup } = await world();
  try {
    const files = [
      env.ASTRID_SYSTEM_CONFIG!,
      join(ws, ".astrid", "config.toml"),
      join(home, "config.toml"),
    ];
    // One file at a time (the layers' own rules decide what a later one may widen).
    for (const [i, file] of files.entries()) {
      Deno.writeTextFileSync(file, `[runtime]\nallow_net = ["a${i}.example.com"]\n`);
      equal((await flagsOf(LIST, env, ws)).source, "computed", file);
      const before = Deno.statSync(file);
      equal((await flagsOf(LIST, env, ws)).source, "cached", file);
      // The same size, the old mtime put back: the content hash still tells.
      Deno.writeTextFileSync(file, `[runtime]\nallow_net = ["b${i}.example.com"]\n`);
      Deno.utimeSync(file, before.atime!, before.mtime!);
      equal(Deno.statSync(file).size, before.size);
      const after = await flagsOf(LIST, env, ws);
      equal(after.source, "computed", file);
      // (A workspace cannot widen the network: its hosts are ignored, and the flags say so.)
      equal(after.flags.some((f) => f.includes(`b${i}.example.com`)), i !== 1, file);
      ok(!after.flags.some((f) => f.includes(`a${i}.example.com`)), file);
      // Removing the file is a change too (an earlier entry recorded without it may serve it).
      Deno.removeSync(file);
      const gone = await flagsOf(LIST, env, ws);
      ok(!gone.flags.some((f) => f.includes(`b${i}.example.com`)), file);
    }
  } finally {
    await cleanup();
  }
});

Deno.test("a new [servers] entry run unwalled grants its command; a PATH change resolves it elsewhere", async () => {
  const { home, ws, env, cleanup } = await world();
  const bin1 = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-bin1-" }));
  const bin0 = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-bin0-" }));
  try {
    for (const dir of [bin0, bin1]) {
      Deno.writeTextFileSync(join(dir, "mcp-tool"), "#!/bin/sh\n", { mode: 0o755 });
    }
    Deno.removeSync(join(bin0, "mcp-tool"));
    const pathEnv = { ...env, PATH: `${bin0}:${bin1}:${PATH}` };
    equal((await flagsOf(LIST, pathEnv, ws)).source, "computed");
    equal((await flagsOf(LIST, pathEnv, ws)).source, "cached");
    Deno.writeTextFileSync(
      join(home, "config.toml"),
      '[servers.tool]\ntransport = "stdio"\ncommand = "mcp-tool"\nsandbox = "off"\n',
    );
    const added = await flagsOf(LIST, pathEnv, ws);
    equal(added.source, "computed");
    ok(added.flags.some((f) => f.startsWith("--allow-run=") && f.includes(`${bin1}/mcp-tool`)));
    equal((await flagsOf(LIST, pathEnv, ws)).source, "cached");
    // A command appearing earlier on the same PATH (no variable changed).
    Deno.writeTextFileSync(join(bin0, "mcp-tool"), "#!/bin/sh\n", { mode: 0o755 });
    const earlier = await flagsOf(LIST, pathEnv, ws);
    equal(earlier.source, "computed");
    ok(earlier.flags.some((f) => f.includes(`${bin0}/mcp-tool`)));
    // PATH itself changed.
    const moved = await flagsOf(LIST, { ...pathEnv, PATH: `${bin1}:${PATH}` }, ws);
    equal(moved.source, "computed");
    ok(moved.flags.some((f) => f.includes(`${bin1}/mcp-tool`)));
    // An executable bit taken away is a change of the stat fingerprint.
    Deno.chmodSync(join(bin0, "mcp-tool"), 0o644);
    equal((await flagsOf(LIST, pathEnv, ws)).source, "computed");
  } finally {
    await cleanup();
    for (const dir of [bin0, bin1]) await Deno.remove(dir, { recursive: true });
  }
});

/** Installs the record of a user-scope capsule `name` reaching `net`, as the runtime stores it. */
async function writeRecord(home: string, name: string, net: string[]): Promise<void> {
  Deno.mkdirSync(join(home, "capsules", name), { recursive: true });
  const kv = await Deno.openKv(join(home, "state.kv"));
  try {
    const record = { name, scope: "user", workspace: null, capabilities: { net } };
    const data = enc.encode(JSON.stringify({ record }));
    await kv.set(["capsule_install", "user", name, 0], { n: 1, data });
  } finally {
    kv.close();
  }
}

Deno.test("a new installed capsule's net host is granted; other writes to the store keep the cache", async () => {
  const { home, ws, env, cleanup } = await world();
  try {
    equal((await flagsOf(LIST, env, ws)).source, "computed");
    await writeRecord(home, "weather", ["api.weather.example:443"]);
    const installed = await flagsOf(LIST, env, ws);
    equal(installed.source, "computed");
    ok(installed.flags.some((f) => f.includes("api.weather.example:443")));
    equal((await flagsOf(LIST, env, ws)).source, "cached");
    // The audit log and the rest of the state store change on every command: not an input.
    const kv = await Deno.openKv(join(home, "state.kv"));
    await kv.set(["audit", crypto.randomUUID()], "x".repeat(5000));
    kv.close();
    equal((await flagsOf(LIST, env, ws)).source, "cached");
    // The record rewritten with another host (its versionstamp changes).
    await writeRecord(home, "weather", ["api.other.example:443"]);
    const changed = await flagsOf(LIST, env, ws);
    equal(changed.source, "computed");
    ok(!changed.flags.some((f) => f.includes("api.weather.example")));
    // A second capsule folder.
    await writeRecord(home, "news", ["news.example:443"]);
    ok((await flagsOf(LIST, env, ws)).flags.some((f) => f.includes("news.example:443")));
    // The store replaced by another file (another inode) recomputes.
    Deno.copyFileSync(join(home, "state.kv"), join(home, "state.kv.new"));
    Deno.renameSync(join(home, "state.kv.new"), join(home, "state.kv"));
    equal((await flagsOf(LIST, env, ws)).source, "computed");
  } finally {
    await cleanup();
  }
});

Deno.test("a changed environment variable, folder, workspace or command line recomputes", async () => {
  const { ws, env, cleanup } = await world();
  const other = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-ws2-" }));
  try {
    await Deno.mkdir(join(other, ".astrid"));
    equal((await flagsOf(LIST, env, ws)).source, "computed");
    const url = await flagsOf(LIST, { ...env, ANTHROPIC_BASE_URL: "http://127.0.0.1:9911" }, ws);
    equal(url.source, "computed");
    ok(url.flags.some((f) => f.includes("127.0.0.1:9911")));
    const layer = await flagsOf(LIST, { ...env, ASTRID_MODEL_API_URL: "https://m.example" }, ws);
    equal(layer.source, "computed");
    ok(layer.flags.some((f) => f.includes("m.example:443")));
    // Any other variable added or removed also counts (the config loader lists them all)...
    equal((await flagsOf(LIST, { ...env, UNRELATED: "1" }, ws)).source, "computed");
    equal((await flagsOf(LIST, env, ws)).source, "cached");
    // ...but the value of one nothing reads may change (a shell's OLDPWD, a terminal's pane).
    equal((await flagsOf(LIST, { ...env, OLDPWD: "/a" }, ws)).source, "computed");
    equal((await flagsOf(LIST, { ...env, OLDPWD: "/b" }, ws)).source, "cached");
    // A value read through a descriptor is still an input.
    const viaDescriptor = (e: Readonly<Record<string, string | undefined>>) =>
      Promise.resolve([
        `--x=${Object.getOwnPropertyDescriptor(e, (Object.keys(e), "OLDPWD"))?.get?.call(e) ?? ""}`,
      ]);
    equal(
      (await cachedFlags(["tools", "list"], { ...env, OLDPWD: "/a" }, ws, viaDescriptor))
        .source,
      "computed",
    );
    deepEqual(
      (await cachedFlags(["tools", "list"], { ...env, OLDPWD: "/b" }, ws, viaDescriptor))
        .flags,
      ["--x=/b"],
    );
    const moved = await flagsOf(LIST, env, other);
    equal(moved.source, "computed");
    ok(moved.flags.some((f) => f.includes(other)));
    ok(!moved.flags.some((f) => f.includes(ws)));
    const named = await flagsOf(["--workspace", other, ...LIST], env, ws);
    equal(named.source, "computed");
    ok(named.flags.some((f) => f.includes(other)));
    const out = join(ws, "out.jsonl");
    const exported = await flagsOf(["audit", "export", "-o", out], env, ws);
    equal(exported.source, "computed");
    ok(exported.flags.some((f) => f.startsWith("--allow-write=") && f.includes(out)));
    // The workspace marker removed: the folder is no longer a workspace.
    Deno.removeSync(join(other, ".astrid"));
    const plain = await flagsOf(LIST, env, other);
    equal(plain.source, "computed");
  } finally {
    await cleanup();
    await Deno.remove(other, { recursive: true });
  }
});

Deno.test("a symlink swap of the config file recomputes", async () => {
  const { home, ws, env, cleanup } = await world();
  try {
    const a = join(home, "a.toml");
    const b = join(home, "b.toml");
    Deno.writeTextFileSync(a, '[runtime]\nallow_net = ["a.example.com"]\n');
    Deno.writeTextFileSync(b, '[runtime]\nallow_net = ["b.example.com"]\n');
    Deno.symlinkSync(a, join(home, "config.toml"));
    ok((await flagsOf(LIST, env, ws)).flags.some((f) => f.includes("a.example.com")));
    equal((await flagsOf(LIST, env, ws)).source, "cached");
    Deno.symlinkSync(b, join(home, "config.tmp"));
    Deno.renameSync(join(home, "config.tmp"), join(home, "config.toml"));
    const swapped = await flagsOf(LIST, env, ws);
    equal(swapped.source, "computed");
    ok(swapped.flags.some((f) => f.includes("b.example.com")));
  } finally {
    await cleanup();
  }
});

Deno.test("a cache file of another user, with open mode bits, symlinked, truncated, malformed or oversized is ignored", async () => {
  const { home, ws, env, cleanup } = await world();
  try {
    await flagsOf(LIST, env, ws);
    const file = cachePath(home);
    const good = Deno.readTextFileSync(file);
    const hostile: [string, () => void][] = [
      ["group/other bits", () => Deno.chmodSync(file, 0o644)],
      ["truncated", () => Deno.writeTextFileSync(file, good.slice(0, good.length >> 1))],
      ["of the older format", () => {
        Deno.writeTextFileSync(file, JSON.stringify({ format: 1, entries: readEntries(file) }));
      }],
      [
        "malformed",
        () => Deno.writeTextFileSync(file, good.replace('\t{"header":', '\t{"header":1,"was":')),
      ],
      ["filed under another header", () => {
        const [line, ...rest] = good.split("\n").slice(1);
        const [key, entry] = line!.split("\t");
        const other = JSON.parse(key!).map((v: unknown, i: number) => i === 4 ? "/elsewhere" : v);
        Deno.writeTextFileSync(
          file,
          ["astrid-launch-flags 2", `${JSON.stringify(other)}\t${entry}`, ...rest].join("\n"),
        );
      }],
      ["not JSON", () => Deno.writeTextFileSync(file, "\0\x01garbage")],
      ["oversized", () => Deno.writeTextFileSync(file, good + " ".repeat(MAX_CACHE_BYTES))],
      ["a symlink", () => {
        Deno.writeTextFileSync(join(home, "elsewhere.json"), good, { mode: 0o600 });
        Deno.removeSync(file);
        Deno.symlinkSync(join(home, "elsewhere.json"), file);
      }],
      ["a directory", () => {
        Deno.removeSync(file);
        Deno.mkdirSync(file);
      }],
    ];
    if (Deno.uid() === 0) hostile.push(["another user's", () => Deno.chownSync(file, 65534, null)]);
    for (const [what, spoil] of hostile) {
      Deno.writeTextFileSync(file, good, { mode: 0o600 });
      Deno.chmodSync(file, 0o600);
      equal((await flagsOf(LIST, env, ws)).source, "cached", `${what}: control`);
      spoil();
      const got = await flagsOf(LIST, env, ws);
      equal(got.source, "computed", what);
      if (what === "a directory") {
        Deno.removeSync(file);
        continue;
      }
      // Rewritten as a fresh, trusted file.
      const info = Deno.lstatSync(file);
      ok(info.isFile && info.mode! & 0o600 && (info.mode! & 0o077) === 0, what);
      equal(info.uid, Deno.uid(), what);
    }
    // Flags forged into an entry with unchanged inputs would be the home's owner's own doing;
    // an entry whose flags are not flags is malformed and ignored.
    Deno.writeTextFileSync(file, good, { mode: 0o600 });
    const [entry] = readEntries(file);
    writeEntries(file, [{ ...entry!, flags: ["not-a-flag"] }]);
    equal((await flagsOf(LIST, env, ws)).source, "computed");
  } finally {
    await cleanup();
  }
});

Deno.test("a cache folder open to others or a symlink is neither read nor written through", async () => {
  const { home, ws, env, cleanup } = await world();
  const elsewhere = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-elsewhere-" }));
  try {
    await flagsOf(LIST, env, ws);
    const dir = join(home, "cache");
    Deno.chmodSync(dir, 0o777);
    equal((await flagsOf(LIST, env, ws)).source, "computed");
    equal(Deno.statSync(dir).mode! & 0o777, 0o700); // closed again when rewritten
    equal((await flagsOf(LIST, env, ws)).source, "cached");
    Deno.removeSync(dir, { recursive: true });
    Deno.symlinkSync(elsewhere, dir);
    equal((await flagsOf(LIST, env, ws)).source, "computed");
    equal((await flagsOf(LIST, env, ws)).source, "computed");
    deepEqual([...Deno.readDirSync(elsewhere)], []);
  } finally {
    await cleanup();
    await Deno.remove(elsewhere, { recursive: true });
  }
});

Deno.test("a cache copied in from another ASTRID_HOME is not used", async () => {
  const a = await world();
  const b = await world();
  try {
    await flagsOf(LIST, a.env, a.ws);
    Deno.mkdirSync(join(b.home, "cache"), { mode: 0o700 });
    Deno.copyFileSync(cachePath(a.home), cachePath(b.home));
    // b's home with a's workspace: only the home differs.
    const got = await flagsOf(LIST, b.env, a.ws);
    equal(got.source, "computed");
    ok(got.flags.some((f) => f.includes(b.home)));
    ok(!got.flags.some((f) => f.includes(a.home)));
  } finally {
    await a.cleanup();
    await b.cleanup();
  }
});

Deno.test("the entry records the computation's own source files, Deno and the config files it read", async () => {
  const { home, ws, env, cleanup } = await world();
  try {
    await flagsOf(LIST, env, ws);
    const entries = readEntries(cachePath(home));
    const subjects = entries[0]!.deps.map((d) => d[1]);
    for (
      const f of [
        "runtime/cli/launch_flags.ts",
        "runtime/cli/_launch_inputs.ts",
        "runtime/cli/launch.ts",
        // The cache's own modules: editing one recomputes too.
        "runtime/cli/_launch_cache.ts",
        "runtime/cli/_launch_cache_file.ts",
        "runtime/cli/_launch_deps.ts",
        "runtime/cli/_launch_record.ts",
        "runtime/cli/_launch_args.ts",
        "runtime/config/schema.ts",
        "runtime/capsule/recorded_hosts.ts",
        "deno.json",
        "deno.lock",
      ]
    ) ok(subjects.includes(join(REPO, f)), f);
    ok(subjects.includes(Deno.execPath()));
    ok(subjects.includes(join(home, "config.toml")));
  } finally {
    await cleanup();
  }
});

Deno.test("the toolchain's flags and a home that does not exist are computed, never stored", async () => {
  const { home, ws, env, cleanup } = await world();
  try {
    const compile = ["capsule", "compile", "cap"];
    equal((await flagsOf(compile, env, ws)).source, "uncached");
    const missing = { ...env, ASTRID_HOME: join(home, "not-yet") };
    equal((await flagsOf(LIST, missing, ws)).source, "uncached");
    ok(!(await Deno.lstat(join(home, "not-yet")).then(() => true, () => false)));
  } finally {
    await cleanup();
  }
});

Deno.test("ASTRID_PROFILE=1 says whether the launcher's flags were cached", async () => {
  const { home, ws, env, cleanup } = await world();
  try {
    const run = () =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--quiet",
          "--config",
          join(REPO, "deno.json"),
          join(REPO, "runtime/cli/launch.ts"),
          ...LIST,
        ],
        cwd: ws,
        env: {
          ...env,
          ASTRID_PROFILE: "1",
          DENO_DIR: Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME")!, ".cache/deno"),
        },
        clearEnv: true,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output();
    const first = await run();
    equal(first.code, 0);
    match(new TextDecoder().decode(first.stderr), /permissions [\d.]+ ms \(computed\)/);
    const second = await run();
    equal(second.code, 0);
    match(new TextDecoder().decode(second.stderr), /permissions [\d.]+ ms \(cached\)/);
    ok(Deno.lstatSync(cachePath(home)).isFile);
  } finally {
    await cleanup();
  }
});

Deno.test("what a computation reads through open, readFile, readTextFile and readDir is recorded exactly", async () => {
  const { home, ws, env, cleanup } = await world();
  try {
    const file = join(ws, "input.txt");
    Deno.writeTextFileSync(file, "alpha");
    Deno.mkdirSync(join(ws, "listed"));
    // A computation whose result is what it read: a stale cache would show as a wrong result.
    const compute = async () => {
      const f = await Deno.open(file);
      const buf = new Uint8Array(64);
      let opened = "";
      for (let n = await f.read(buf); n !== null; n = await f.read(buf)) {
        opened += new TextDecoder().decode(buf.subarray(0, n));
      }
      f.close();
      const bytes = new TextDecoder().decode(await Deno.readFile(file));
      const text = Deno.readTextFileSync(file);
      const names = [];
      for await (const e of Deno.readDir(join(ws, "listed"))) names.push(e.name);
      return [`--opened=${opened}`, `--bytes=${bytes}`, `--text=${text}`, `--names=${names}`];
    };
    const get = () => cachedFlags(LIST, env, ws, compute);
    equal((await get()).source, "computed");
    equal((await get()).source, "cached");
    const before = Deno.statSync(file);
    Deno.writeTextFileSync(file, "omega");
    Deno.utimeSync(file, before.atime!, before.mtime!);
    const edited = await get();
    equal(edited.source, "computed");
    deepEqual(edited.flags, ["--opened=omega", "--bytes=omega", "--text=omega", "--names="]);
    Deno.writeTextFileSync(join(ws, "listed", "new"), "");
    const listed = await get();
    equal(listed.source, "computed");
    equal(listed.flags[3], "--names=new");
    equal((await get()).source, "cached");
    ok(Deno.lstatSync(cachePath(home)).isFile);
  } finally {
    await cleanup();
  }
});

Deno.test("a computation that reads what cannot be recorded is used for the run and never stored", async () => {
  const { home, ws, env, cleanup } = await world();
  try {
    const file = join(ws, "input.txt");
    Deno.writeTextFileSync(file, "x".repeat(100));
    const computes: [string, () => Promise<string[]>][] = [
      ["Deno.env", () => Promise.resolve([`--home=${Deno.env.get("HOME")}`])],
      ["Deno.Command", () => {
        new Deno.Command("true");
        return Promise.resolve(["--ran"]);
      }],
      ["Deno.openSync", () => {
        Deno.openSync(file).close();
        return Promise.resolve(["--opened"]);
      }],
      ["a partial read", async () => {
        const f = await Deno.open(file);
        await f.read(new Uint8Array(10));
        f.close();
        return ["--partial"];
      }],
      ["a relative path", () => Promise.resolve([`--rel=${Deno.statSync(".").isDirectory}`])],
      ["an environment write", (e?: Record<string, string | undefined>) => {
        e!.EXTRA = "1";
        return Promise.resolve(["--wrote"]);
      }],
    ] as [string, () => Promise<string[]>][];
    for (const [what, compute] of computes) {
      equal((await cachedFlags([what], env, ws, compute)).source, "uncached", what);
      equal((await cachedFlags([what], env, ws, compute)).source, "uncached", what);
    }
    ok(!(await Deno.lstat(cachePath(home)).then(() => true, () => false)));
    // The Deno functions are themselves again afterwards.
    equal(Deno.env.get("HOME"), Deno.env.toObject().HOME);
  } finally {
    await cleanup();
  }
});

Deno.test("capsule call DIR records the folder's manifest", async () => {
  const { ws, env, cleanup } = await world();
  try {
    const cap = join(ws, "cap");
    Deno.mkdirSync(cap);
    const manifest = (host: string) =>
      `[package]\nname = "cap"\nversion = "1.0.0"\n\n[capabilities]\nnet = ["${host}"]\n`;
    Deno.writeTextFileSync(join(cap, "Capsule.toml"), manifest("one.example:443"));
    const args = ["capsule", "call", cap, "run"];
    const first = await flagsOf(args, env, ws);
    ok(first.flags.some((f) => f.includes("one.example:443")), first.flags.join(" "));
    equal((await flagsOf(args, env, ws)).source, "cached");
    Deno.writeTextFileSync(join(cap, "Capsule.toml"), manifest("two.example:443"));
    const second = await flagsOf(args, env, ws);
    equal(second.source, "computed");
    ok(second.flags.some((f) => f.includes("two.example:443")));
  } finally {
    await cleanup();
  }
});
