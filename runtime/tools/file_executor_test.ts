import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { FileExecutor } from "./file_executor.ts";
import { ToolError } from "./types.ts";

async function workspace(): Promise<string> {
  return await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-fx-" }));
}

function code(c: string) {
  return (err: unknown) => {
    ok(err instanceof ToolError, `expected a ToolError, got ${err}`);
    equal(err.code, c, err.message);
    return true;
  };
}

Deno.test("FileExecutor.run() read_file numbers lines and honours offset and limit", async () => {
  const root = await workspace();
  await Deno.writeTextFile(`${root}/a.txt`, "one\ntwo\nthree\nfour\n");
  using files = FileExecutor.create({ root });
  equal(
    (await files.run("read_file", { file_path: `${root}/a.txt` })).output,
    [
      "     1\tone",
      "     2\ttwo",
      "     3\tthree",
      "     4\tfour",
    ].join("\n"),
  );
  const part = await files.run("read_file", { file_path: `${root}/a.txt`, offset: 2, limit: 2 });
  match(part.output, /^ {5}2\ttwo\n {5}3\tthree\n\(lines 2-3 of 4/);
});

Deno.test("FileExecutor.run() read_file refuses binary files politely and decodes Latin-1 with a notice", async () => {
  const root = await workspace();
  await Deno.writeFile(`${root}/img.bin`, new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]));
  await Deno.writeFile(`${root}/latin1.txt`, new Uint8Array([0x63, 0x61, 0x66, 0xe9]));
  using files = FileExecutor.create({ root });
  await rejects(files.run("read_file", { file_path: `${root}/img.bin` }), (err) => {
    code("BINARY_FILE")(err);
    match((err as Error).message, /looks like a binary file/);
    return true;
  });
  const latin = await files.run("read_file", { file_path: `${root}/latin1.txt` });
  match(latin.output, /not valid UTF-8; decoded as Latin-1\/windows-1252/);
  match(latin.output, / {5}1\tcafé$/);
});

Deno.test("FileExecutor.run() read_file tail shows the last lines with their numbers", async () => {
  const root = await workspace();
  await Deno.writeTextFile(`${root}/t.txt`, "one\ntwo\nthree\nfour\n");
  using files = FileExecutor.create({ root });
  const tail = await files.run("read_file", { file_path: `${root}/t.txt`, tail: 2 });
  match(tail.output, /^ {5}3\tthree\n {5}4\tfour\n\(lines 3-4 of 4/);
  const long = "y".repeat(5000);
  await Deno.writeTextFile(`${root}/long.txt`, `${long}\n`);
  const cut = await files.run("read_file", { file_path: `${root}/long.txt` });
  match(cut.output, /… \(1000 more characters\)$/);
});

Deno.test("FileExecutor.run() read_file tail and offset refuse a symlink out of the workspace, and a NUL after a Latin-1 start is still binary", async () => {
  const root = await workspace();
  await Deno.symlink("/etc/passwd", `${root}/passwd-link`);
  using files = FileExecutor.create({ root });
  await rejects(
    files.run("read_file", { file_path: `${root}/passwd-link`, tail: 1 }),
    code("NOT_CAPABLE"),
  );
  await rejects(
    files.run("read_file", { file_path: `${root}/passwd-link`, offset: 1, limit: 1 }),
    code("NOT_CAPABLE"),
  );
  await Deno.writeFile(`${root}/mixed.bin`, new Uint8Array([0xe9, 0x41, 0, 0x42]));
  await rejects(files.run("read_file", { file_path: `${root}/mixed.bin` }), code("BINARY_FILE"));
  await rejects(
    files.run("read_file", { file_path: `${root}/mixed.bin`, offset: 1, tail: 1 }),
    /offset or tail, not both/,
  );
});

Deno.test("FileExecutor.run() write_file creates parents and overwrites", async () => {
  const root = await workspace();
  using files = FileExecutor.create({ root });
  match(
    (await files.run("write_file", { file_path: `${root}/a/b/c.txt`, content: "hi" })).output,
    /Created/,
  );
  equal(await Deno.readTextFile(`${root}/a/b/c.txt`), "hi");
  match(
    (await files.run("write_file", { file_path: `${root}/a/b/c.txt`, content: "x" })).output,
    /Overwrote/,
  );
  equal(await Deno.readTextFile(`${root}/a/b/c.txt`), "x");
});

Deno.test("FileExecutor.run() edit_file fails clearly on missing and ambiguous strings", async () => {
  const root = await workspace();
  await Deno.writeTextFile(`${root}/f.ts`, "let a = 1;\nlet b = 1;\n");
  using files = FileExecutor.create({ root });
  await rejects(
    files.run("edit_file", { file_path: `${root}/f.ts`, old_string: "zzz", new_string: "y" }),
    code("EDIT_NO_MATCH"),
  );
  await rejects(
    files.run("edit_file", { file_path: `${root}/f.ts`, old_string: "= 1", new_string: "= 2" }),
    (err) => code("EDIT_AMBIGUOUS")(err) && /occurs 2 times/.test((err as Error).message),
  );
  equal(await Deno.readTextFile(`${root}/f.ts`), "let a = 1;\nlet b = 1;\n");
  await files.run("edit_file", {
    file_path: `${root}/f.ts`,
    old_string: "a = 1",
    new_string: "a = $&2",
  });
  equal(await Deno.readTextFile(`${root}/f.ts`), "let a = $&2;\nlet b = 1;\n");
  const all = await files.run("edit_file", {
    file_path: `${root}/f.ts`,
    old_string: "let",
    new_string: "const",
    replace_all: true,
  });
  match(all.output, /replaced 2 occurrences/);
  equal(await Deno.readTextFile(`${root}/f.ts`), "const a = $&2;\nconst b = 1;\n");
  await rejects(
    files.run("edit_file", { file_path: `${root}/nope.ts`, old_string: "a", new_string: "b" }),
    code("NOT_FOUND"),
  );
});

Deno.test("FileExecutor.run() glob sorts by mtime, newest first", async () => {
  const root = await workspace();
  await Deno.mkdir(`${root}/src`);
  for (const [name, t] of [["old.ts", 1_000], ["new.ts", 3_000], ["mid.ts", 2_000]] as const) {
    await Deno.writeTextFile(`${root}/src/${name}`, "");
    await Deno.utime(`${root}/src/${name}`, t, t);
  }
  await Deno.writeTextFile(`${root}/src/skip.md`, "");
  using files = FileExecutor.create({ root });
  const { output } = await files.run("glob", { pattern: "**/*.ts", path: root });
  deepEqual(output.split("\n"), [`${root}/src/new.ts`, `${root}/src/mid.ts`, `${root}/src/old.ts`]);
  await rejects(files.run("glob", { pattern: "../**", path: root }), code("INVALID_ARGS"));
});

Deno.test("FileExecutor.run() grep respects .gitignore, context and case", async () => {
  const root = await workspace();
  await Deno.writeTextFile(`${root}/.gitignore`, "build/\n*.log\n");
  await Deno.mkdir(`${root}/build`);
  await Deno.mkdir(`${root}/src`);
  await Deno.writeTextFile(`${root}/src/.gitignore`, "gen.ts\n");
  await Deno.writeTextFile(`${root}/build/out.js`, "needle\n");
  await Deno.writeTextFile(`${root}/debug.log`, "needle\n");
  await Deno.writeTextFile(`${root}/src/gen.ts`, "needle\n");
  await Deno.writeTextFile(`${root}/src/main.ts`, "a\nNeedle\nb\nc\nd\nneedle\n");
  await Deno.writeFile(`${root}/src/blob.bin`, new Uint8Array([0, 110, 101, 101, 100, 108, 101]));
  using files = FileExecutor.create({ root });
  const plain = await files.run("grep", { pattern: "needle", path: root });
  equal(plain.output, `${root}/src/main.ts:6:needle\n(1 matching lines in 1 files)`);
  const ctx = await files.run("grep", {
    pattern: "needle",
    path: `${root}/src`,
    context: 1,
    case_insensitive: true,
  });
  equal(
    ctx.output,
    [
      `${root}/src/main.ts-1-a`,
      `${root}/src/main.ts:2:Needle`,
      `${root}/src/main.ts-3-b`,
      "--",
      `${root}/src/main.ts-5-d`,
      `${root}/src/main.ts:6:needle`,
      "(2 matching lines in 1 files)",
    ].join("\n"),
  );
  await rejects(files.run("grep", { pattern: "(", path: root }), code("INVALID_ARGS"));
});

Deno.test("FileExecutor.run() list_directory shows type and size, sorted", async () => {
  const root = await workspace();
  await Deno.writeTextFile(`${root}/b.txt`, "12345");
  await Deno.mkdir(`${root}/a`);
  await Deno.symlink("/etc/hostname", `${root}/c`);
  using files = FileExecutor.create({ root });
  const { output } = await files.run("list_directory", { path: root });
  equal(output, `${root}: 3 entries\ndir\t-\ta/\nfile\t5\tb.txt\nsymlink\t-\tc`);
});

Deno.test("FileExecutor.run() caps output with a truncation marker", async () => {
  const root = await workspace();
  await Deno.writeTextFile(`${root}/big.txt`, "x".repeat(500) + "\n");
  using files = FileExecutor.create({ root, maxOutputChars: 100 });
  const result = await files.run("read_file", { file_path: `${root}/big.txt` });
  equal(result.truncatedChars, 407);
  match(result.output, /\[\.\.\. output truncated: 407 of 507 characters cut \.\.\.\]$/);
});

Deno.test("FileExecutor worker refuses paths the interceptor would refuse (NotCapable)", async () => {
  const root = await workspace();
  await Deno.symlink("/etc/hostname", `${root}/host-link`);
  await Deno.symlink("/etc", `${root}/etc-link`);
  using files = FileExecutor.create({ root });
  for (
    const file_path of [
      "/etc/passwd",
      `${root}/../../../etc/passwd`,
      "/proc/self/root/etc/passwd",
      `${root}/host-link`,
      `${root}/etc-link/hostname`,
    ]
  ) {
    await rejects(files.run("read_file", { file_path }), (err) => {
      code("NOT_CAPABLE")(err);
      match((err as Error).message, /Requires read access|outside the allowed paths/);
      return true;
    }, file_path);
  }
  await rejects(files.run("list_directory", { path: "/etc" }), code("NOT_CAPABLE"));
  await rejects(
    files.run("grep", { pattern: "root", path: `${root}/etc-link` }),
    code("NOT_CAPABLE"),
  );
  await rejects(files.run("read_file", { file_path: `${root}/a\0b` }), code("INVALID_ARGS"));
  await rejects(files.run("read_file", { file_path: "relative.txt" }), code("INVALID_ARGS"));
});

Deno.test("FileExecutor worker refuses writes that would escape, leaving the target intact", async () => {
  const root = await workspace();
  const outside = await workspace();
  await Deno.writeTextFile(`${outside}/victim.txt`, "precious");
  await Deno.symlink(`${outside}/victim.txt`, `${root}/victim-link`);
  await Deno.symlink(outside, `${root}/dir-link`);
  using files = FileExecutor.create({ root });
  await rejects(
    files.run("write_file", { file_path: `${outside}/x.txt`, content: "x" }),
    code("NOT_CAPABLE"),
  );
  await rejects(
    files.run("write_file", { file_path: `${root}/victim-link`, content: "x" }),
    code("NOT_CAPABLE"),
  );
  await rejects(
    files.run("edit_file", {
      file_path: `${root}/victim-link`,
      old_string: "precious",
      new_string: "x",
    }),
    code("NOT_CAPABLE"),
  );
  await rejects(
    files.run("write_file", { file_path: `${root}/dir-link/new/deep.txt`, content: "x" }),
    code("NOT_CAPABLE"),
  );
  await rejects(
    files.run("write_file", { file_path: "/etc/astrid-test", content: "x" }),
    code("NOT_CAPABLE"),
  );
  equal(await Deno.readTextFile(`${outside}/victim.txt`), "precious");
  deepEqual([...Deno.readDirSync(outside)].map((e) => e.name), ["victim.txt"]);
});

Deno.test("FileExecutor.withGrants() runs a subprocess that may read the escape, no more", async () => {
  const root = await workspace();
  await using files = FileExecutor.create({ root });
  await using wider = files.withGrants({ readEscapes: ["/etc/hostname"] });
  equal(files.isolation, "worker");
  equal(wider.isolation, "process");
  deepEqual(wider.roots.read, [root, "/etc/hostname"]);
  match((await wider.run("read_file", { file_path: "/etc/hostname" })).output, /^ {5}1\t/);
  await rejects(wider.run("read_file", { file_path: "/etc/passwd" }), code("NOT_CAPABLE"));
  await rejects(
    wider.run("write_file", { file_path: "/etc/hostname", content: "x" }),
    code("NOT_CAPABLE"),
  );
  await rejects(files.run("read_file", { file_path: "/etc/hostname" }), code("NOT_CAPABLE"));
});

for (const isolation of ["worker", "process"] as const) {
  Deno.test(`FileExecutor kills a runaway call and recovers with a fresh ${isolation}`, async () => {
    const root = await workspace();
    // ^(a+)+$ against 60 a's and a "!" backtracks through 2^60 splits: it never finishes, so
    // only the timeout can end the call. The timeout leaves a fresh worker or subprocess (and
    // the legitimate call after it) seconds of margin on a loaded machine.
    await Deno.writeTextFile(`${root}/evil.txt`, "a".repeat(60) + "!\n");
    await using files = FileExecutor.create({ root, callTimeoutMs: 3_000, isolation });
    await rejects(files.run("grep", { pattern: "^(a+)+$", path: root }), code("TIMEOUT"));
    await Deno.writeTextFile(`${root}/ok.txt`, "fine\n");
    match((await files.run("read_file", { file_path: `${root}/ok.txt` })).output, /fine/);
  });
}

Deno.test("FileExecutor.withGrants() writes exactly the approved outside file", async () => {
  const root = await workspace();
  const outside = await workspace();
  await Deno.writeTextFile(`${outside}/approved.txt`, "old");
  await using files = FileExecutor.create({ root });
  await using wider = files.withGrants({ writeEscapes: [`${outside}/approved.txt`] });
  match(
    (await wider.run("write_file", { file_path: `${outside}/approved.txt`, content: "new" }))
      .output,
    /Overwrote/,
  );
  equal(await Deno.readTextFile(`${outside}/approved.txt`), "new");
  await rejects(
    wider.run("write_file", { file_path: `${outside}/sibling.txt`, content: "x" }),
    code("NOT_CAPABLE"),
  );
  match(
    (await wider.run("write_file", { file_path: `${root}/in.txt`, content: "ws" })).output,
    /Created/,
  );
  deepEqual([...Deno.readDirSync(outside)].map((e) => e.name), ["approved.txt"]);
});

Deno.test("FileExecutor subprocess never touches hidden paths or .astrid, even when granted", async () => {
  const root = await workspace();
  const outside = await workspace();
  await Deno.mkdir(`${outside}/state`);
  await Deno.writeTextFile(`${outside}/state/key`, "secret");
  await Deno.mkdir(`${root}/.astrid`);
  await using files = FileExecutor.create({ root, hidden: [`${outside}/state`] });
  await using wider = files.withGrants({ readEscapes: [outside] });
  await rejects(wider.run("read_file", { file_path: `${outside}/state/key` }), code("NOT_CAPABLE"));
  await rejects(
    wider.run("write_file", { file_path: `${root}/.astrid/config.toml`, content: "x" }),
    code("NOT_CAPABLE"),
  );
  deepEqual([...Deno.readDirSync(`${root}/.astrid`)], []);
});

Deno.test("FileExecutor rejects unknown tools, bad arguments and use after close", async () => {
  const root = await workspace();
  const files = FileExecutor.create({ root });
  // deno-lint-ignore no-explicit-any -- a hostile caller bypassing the types
  await rejects(files.run("rm_rf" as any, {}), code("INVALID_ARGS"));
  await rejects(files.run("read_file", { file_path: `${root}/a`, extra: 1 }), code("INVALID_ARGS"));
  await rejects(
    files.run("read_file", { file_path: `${root}/a`, offset: -1 }),
    code("INVALID_ARGS"),
  );
  files.close();
  await rejects(files.run("read_file", { file_path: `${root}/a` }), code("EXECUTOR_FAILED"));
});

Deno.test("FileExecutor.start() starts the same narrowed Worker early, and is harmless when closed", async () => {
  const root = await workspace();
  await Deno.writeTextFile(`${root}/a.txt`, "hi\n");
  await Deno.symlink("/etc/hostname", `${root}/host-link`);
  using files = FileExecutor.create({ root });
  files.start();
  files.start(); // once started, a no-op
  equal(files.isolation, "worker");
  match((await files.run("read_file", { file_path: `${root}/a.txt` })).output, /1\thi/);
  // Started early, it is granted no more than one started by a call.
  for (const file_path of ["/etc/passwd", `${root}/host-link`, `${root}/../../etc/passwd`]) {
    await rejects(files.run("read_file", { file_path }), code("NOT_CAPABLE"), file_path);
  }
  await rejects(files.run("write_file", { file_path: "/tmp/x", content: "" }), code("NOT_CAPABLE"));
  // Started and closed before any call: nothing runs, nothing is left running.
  const early = FileExecutor.create({ root });
  early.start();
  early.close();
  early.start();
  await rejects(early.run("read_file", { file_path: `${root}/a.txt` }), code("EXECUTOR_FAILED"));
});

Deno.test("FileExecutor runs plain tools in the plain Worker and starts the full one for glob and grep", async () => {
  const root = await workspace();
  await Deno.writeTextFile(`${root}/a.txt`, "needle\n");
  await Deno.symlink("/etc", `${root}/etc-link`);
  const files = FileExecutor.create({ root });
  match((await files.run("read_file", { file_path: `${root}/a.txt` })).output, /needle/);
  // glob and grep start the Worker that serves them; it is granted no more than the plain one.
  match((await files.run("glob", { pattern: "*.txt", path: root })).output, /a\.txt/);
  match((await files.run("grep", { pattern: "needle", path: root })).output, /a\.txt/);
  await rejects(
    files.run("grep", { pattern: "root", path: `${root}/etc-link` }),
    code("NOT_CAPABLE"),
  );
  await rejects(files.run("glob", { pattern: "*", path: "/etc" }), code("NOT_CAPABLE"));
  // Plain tools keep working (now in the Worker that serves every tool), walled as before.
  await files.run("write_file", { file_path: `${root}/b.txt`, content: "b" });
  equal(await Deno.readTextFile(`${root}/b.txt`), "b");
  await rejects(files.run("read_file", { file_path: "/etc/passwd" }), code("NOT_CAPABLE"));
  // Closing stops both Workers: nothing answers afterwards.
  files.close();
  await rejects(files.run("read_file", { file_path: `${root}/a.txt` }), code("EXECUTOR_FAILED"));
  await rejects(files.run("glob", { pattern: "*", path: root }), code("EXECUTOR_FAILED"));
});
