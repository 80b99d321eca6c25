import { deepEqual, equal, ok } from "node:assert/strict";
import { lexists } from "../../tests/cli.ts";
import {
  DIRECT_ENV,
  DIRECT_FILE,
  MAX_FOLDERS,
  rememberDirect,
  takeDirectFlags,
} from "./_launch_direct.ts";

const FLAGS = ["--no-prompt", "--allow-read", "--allow-write=/w,/h", "--allow-env"];

/** A fresh `$ASTRID_HOME` for `body`, removed afterwards. */
async function withHome(body: (home: string, file: string) => Promise<void> | void) {
  const home = await Deno.makeTempDir({ prefix: "astrid-direct-" });
  try {
    await body(home, `${home}/cache/${DIRECT_FILE}`);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

/** The folder → flags blocks of the file, in file order. */
function blocksOf(file: string): [string, string[]][] {
  const lines = Deno.readTextFileSync(file).split("\n");
  equal(lines[0], "astrid-direct 1");
  equal(lines.at(-1), "", "the file ends with a line break");
  const out: [string, string[]][] = [];
  let current: [string, string[]] | null = null;
  for (const line of lines.slice(1, -1)) {
    if (current === null) {
      ok(line.startsWith("dir /"), line);
      current = [line.slice(4), []];
    } else if (line === "end") {
      out.push(current);
      current = null;
    } else current[1].push(line);
  }
  equal(current, null, "every block ends");
  return out;
}

Deno.test("rememberDirect() writes a 0600 file in a 0700 cache folder", async () => {
  await withHome((home, file) => {
    rememberDirect(home, "/work/a", FLAGS);
    deepEqual(blocksOf(file), [["/work/a", FLAGS]]);
    equal(Deno.lstatSync(file).mode! & 0o777, 0o600);
    equal(Deno.lstatSync(`${home}/cache`).mode! & 0o777, 0o700);
  });
});

Deno.test("rememberDirect() keeps folders most recent first", async () => {
  await withHome((home, file) => {
    rememberDirect(home, "/a", ["--allow-read", "--allow-env"]);
    rememberDirect(home, "/b", ["--allow-env"]);
    rememberDirect(home, "/c", ["--allow-sys=uid", "--allow-env"]);
    deepEqual(blocksOf(file).map(([dir]) => dir), ["/c", "/b", "/a"]);
    // An older folder run again moves to the front, once, with its new flags.
    rememberDirect(home, "/a", ["--allow-net=a.example", "--allow-env"]);
    deepEqual(blocksOf(file), [
      ["/a", ["--allow-net=a.example", "--allow-env"]],
      ["/c", ["--allow-sys=uid", "--allow-env"]],
      ["/b", ["--allow-env"]],
    ]);
    // The same flags for a folder that is not first still move it to the front.
    rememberDirect(home, "/b", ["--allow-env"]);
    deepEqual(blocksOf(file).map(([dir]) => dir), ["/b", "/a", "/c"]);
  });
});

Deno.test("rememberDirect() keeps at most MAX_FOLDERS folders, dropping the oldest", async () => {
  await withHome((home, file) => {
    const count = MAX_FOLDERS + 4;
    for (let i = 0; i < count; i++) {
      rememberDirect(home, `/f${i}`, [`--allow-read=/r${i}`, "--allow-env"]);
    }
    const blocks = blocksOf(file);
    equal(blocks.length, MAX_FOLDERS);
    deepEqual(blocks[0], [`/f${count - 1}`, [`--allow-read=/r${count - 1}`, "--allow-env"]]);
    deepEqual(blocks.at(-1), [`/f${count - MAX_FOLDERS}`, [
      `--allow-read=/r${count - MAX_FOLDERS}`,
      "--allow-env",
    ]]);
    ok(!blocks.some(([dir]) => dir === "/f0" || dir === "/f3"));
  });
});

Deno.test("rememberDirect() does not rewrite the file when the first folder's flags are unchanged", async () => {
  await withHome((home, file) => {
    rememberDirect(home, "/other", ["--allow-env"]);
    rememberDirect(home, "/work", FLAGS);
    const before = Deno.lstatSync(file);
    const text = Deno.readTextFileSync(file);
    rememberDirect(home, "/work", [...FLAGS]);
    const after = Deno.lstatSync(file);
    equal(after.ino, before.ino, "the file was replaced");
    equal(after.mtime?.getTime(), before.mtime?.getTime());
    equal(Deno.readTextFileSync(file), text);
    // Changed flags (same folder) are written.
    const changed = FLAGS.filter((f) => !f.startsWith("--allow-write="));
    rememberDirect(home, "/work", changed);
    ok(Deno.lstatSync(file).ino !== before.ino);
    deepEqual(blocksOf(file)[0], ["/work", changed]);
  });
});

Deno.test("rememberDirect() refuses flags the installed script would not accept", async () => {
  const refused = [
    "--allow-all",
    "-A",
    "--allow-write",
    "--allow-run",
    "--allow-net",
    "--allow-sys",
    "--allow-env=HOME",
    "--deny-env=ASTRID_DIRECT_FLAGS",
    "--deny-net=evil.example",
    "--deny-write=/etc",
    "--allow-ffi",
    "--allow-ffi=/lib",
    "--allow-hrtime",
    "--allow-import",
    "--allow-import=evil.example",
    "--config=/tmp/evil.json",
    "--v8-flags=--allow-natives-syntax",
    "--import-map=/tmp/map.json",
    "--unstable-ffi",
    "--allow-read=",
    "--allow-write=",
    "--allow-run=",
    "--allow-net=",
    "--allow-sys=",
    "--allow-Read=/x",
    "--no-prompt ",
    " --no-prompt",
    "--allow-read=/a\n--allow-all",
    "--allow-net=a.example\n",
    "--allow-env\n",
    "",
  ];
  await withHome((home, file) => {
    for (const flag of refused) {
      rememberDirect(home, "/work", ["--no-prompt", flag, "--allow-env"]);
      ok(!lexists(file), `remembered ${JSON.stringify(flag)}`);
    }
    rememberDirect(home, "/work", []);
    ok(!lexists(file), "remembered no flags");
    // Without --allow-env the CLI could not read the flags it was handed: never remembered.
    rememberDirect(home, "/work", ["--no-prompt", "--allow-read", "--allow-write=/w"]);
    ok(!lexists(file), "remembered flags without --allow-env");
    // With a file already there, a refused flag leaves it as it was.
    rememberDirect(home, "/work", FLAGS);
    const text = Deno.readTextFileSync(file);
    const ino = Deno.lstatSync(file).ino;
    for (const flag of refused) rememberDirect(home, "/work2", [flag]);
    equal(Deno.readTextFileSync(file), text);
    equal(Deno.lstatSync(file).ino, ino);
  });
});

Deno.test("rememberDirect() accepts every kind of flag the installed script accepts", async () => {
  const accepted = [
    "--no-prompt",
    "--allow-read",
    "--allow-env",
    "--allow-read=/a b/*",
    "--allow-write=/w,/x",
    "--allow-run=/usr/bin/bwrap,/deno",
    "--allow-net=127.0.0.1,example.org:443",
    "--allow-sys=osRelease,uid,gid",
  ];
  await withHome((home, file) => {
    rememberDirect(home, "/work", accepted);
    deepEqual(blocksOf(file), [["/work", accepted]]);
  });
});

Deno.test("rememberDirect() refuses a relative folder or one holding a line break", async () => {
  await withHome((home, file) => {
    for (const cwd of ["", ".", "work", "./work", "~/work", "/work\ndir /evil", "/a\n"]) {
      rememberDirect(home, cwd, FLAGS);
      ok(!lexists(file), `remembered folder ${JSON.stringify(cwd)}`);
    }
  });
});

Deno.test("rememberDirect() ignores and replaces a file others can read", async () => {
  await withHome((home, file) => {
    rememberDirect(home, "/old", ["--allow-env"]);
    Deno.chmodSync(file, 0o644);
    rememberDirect(home, "/new", FLAGS);
    deepEqual(blocksOf(file), [["/new", FLAGS]], "the untrusted file's folders were kept");
    equal(Deno.lstatSync(file).mode! & 0o777, 0o600);
  });
});

Deno.test("rememberDirect() ignores and replaces a symlinked file, leaving its target alone", async () => {
  await withHome((home, file) => {
    const target = `${home}/target`;
    const planted = "astrid-direct 1\ndir /planted\n--allow-read\nend\n";
    Deno.writeTextFileSync(target, planted, { mode: 0o600 });
    Deno.mkdirSync(`${home}/cache`, { mode: 0o700 });
    Deno.symlinkSync(target, file);
    rememberDirect(home, "/new", FLAGS);
    ok(Deno.lstatSync(file).isFile, "still a symlink");
    equal(Deno.lstatSync(file).mode! & 0o777, 0o600);
    deepEqual(blocksOf(file), [["/new", FLAGS]]);
    equal(Deno.readTextFileSync(target), planted);
  });
});

Deno.test("rememberDirect() ignores and replaces a file of a foreign format", async () => {
  const foreign = [
    "astrid-direct 2\ndir /planted\n--allow-read\nend\n",
    "dir /planted\n--allow-read\nend\n",
    "astrid-direct 1\ndir /planted\n--allow-read\n", // no end
    "astrid-direct 1\nrelative\n--allow-read\nend\n",
    "astrid-direct 1\ndir planted\n--allow-read\nend\n",
    "{}",
    "",
  ];
  for (const text of foreign) {
    await withHome((home, file) => {
      Deno.mkdirSync(`${home}/cache`, { mode: 0o700 });
      Deno.writeTextFileSync(file, text, { mode: 0o600 });
      rememberDirect(home, "/new", FLAGS);
      deepEqual(blocksOf(file), [["/new", FLAGS]], JSON.stringify(text));
    });
  }
});

Deno.test("rememberDirect() ignores a file in a cache folder others can write", async () => {
  await withHome((home, file) => {
    rememberDirect(home, "/old", ["--allow-env"]);
    Deno.chmodSync(`${home}/cache`, 0o777);
    rememberDirect(home, "/new", FLAGS);
    deepEqual(blocksOf(file), [["/new", FLAGS]]);
    equal(Deno.lstatSync(`${home}/cache`).mode! & 0o777, 0o700, "the folder was closed again");
  });
});

Deno.test("rememberDirect() does not write through a symlinked cache folder", async () => {
  await withHome((home, file) => {
    const elsewhere = `${home}/elsewhere`;
    Deno.mkdirSync(elsewhere, { mode: 0o700 });
    Deno.symlinkSync(elsewhere, `${home}/cache`);
    rememberDirect(home, "/new", FLAGS);
    ok(!lexists(`${elsewhere}/${DIRECT_FILE}`));
    ok(!lexists(file));
  });
});

/** Runs `body` with `ASTRID_DIRECT_FLAGS` set to `value` (or unset), restoring it after. */
function withVariable(value: string | undefined, body: () => void) {
  const saved = Deno.env.get(DIRECT_ENV);
  try {
    if (value === undefined) Deno.env.delete(DIRECT_ENV);
    else Deno.env.set(DIRECT_ENV, value);
    body();
  } finally {
    if (saved === undefined) Deno.env.delete(DIRECT_ENV);
    else Deno.env.set(DIRECT_ENV, saved);
  }
}

Deno.test("takeDirectFlags() reads the flags one per line and removes the variable", () => {
  withVariable("--no-prompt\n--allow-read=/a b\n--allow-env", () => {
    deepEqual(takeDirectFlags(), ["--no-prompt", "--allow-read=/a b", "--allow-env"]);
    equal(Deno.env.get(DIRECT_ENV), undefined);
    equal(takeDirectFlags(), null, "a second take found the flags again");
  });
});

Deno.test("takeDirectFlags() returns null for an unset or empty variable, removing it", () => {
  withVariable(undefined, () => equal(takeDirectFlags(), null));
  withVariable("", () => {
    equal(takeDirectFlags(), null);
    equal(Deno.env.get(DIRECT_ENV), undefined);
  });
});

Deno.test("takeDirectFlags() hands back what it got, unchecked (launch.ts checks it)", () => {
  withVariable("--allow-all\n-A", () => {
    deepEqual(takeDirectFlags(), ["--allow-all", "-A"]);
    equal(Deno.env.get(DIRECT_ENV), undefined);
  });
});

Deno.test("takeDirectFlags() is null without env permission", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astrid-direct-" });
  try {
    const module = `${dir}/take.ts`;
    const from = new URL("./_launch_direct.ts", import.meta.url).href;
    await Deno.writeTextFile(
      module,
      `import { takeDirectFlags } from ${JSON.stringify(from)};\n` +
        "console.log(JSON.stringify(takeDirectFlags()));\n",
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--quiet", "--no-prompt", module],
      env: { [DIRECT_ENV]: "--allow-read", DENO_NO_UPDATE_CHECK: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    equal(out.code, 0, new TextDecoder().decode(out.stderr));
    equal(new TextDecoder().decode(out.stdout).trim(), "null");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
