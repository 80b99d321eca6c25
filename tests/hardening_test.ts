/**
 * End-to-end escapes from the review that found them, driven through the real CLI (a
 * subprocess with its own ASTRID_HOME, as a user runs it), in autonomous mode, where everything
 * inside the workspace is auto-approved. Each must be refused, or contained by the wall.
 */
import { equal, match, ok } from "node:assert/strict";
import { runCli } from "./cli.ts";

const SECRET_ENV = `sk-ant-${crypto.randomUUID()}`;

async function autonomous() {
  // Outside /tmp, so the workspace is not the wall's private /tmp.
  const base = await Deno.realPath(
    await Deno.makeTempDir({ dir: "/var/tmp", prefix: "astrid-harden-" }),
  );
  const home = `${base}/home`;
  const ws = `${base}/ws`;
  await Deno.mkdir(home);
  await Deno.mkdir(ws);
  equal((await runCli(["init", ws], { home })).code, 0);
  await Deno.writeTextFile(
    `${home}/config.toml`,
    '[workspace]\nmode = "autonomous"\n',
  );
  equal((await runCli(["keys", "generate"], { home })).code, 0);
  const call = (tool: string, args: unknown, ...extra: string[]) =>
    runCli(["tools", "call", tool, "--args", JSON.stringify(args), ...extra], {
      home,
      cwd: ws,
      env: { ANTHROPIC_API_KEY: SECRET_ENV },
    });
  return { base, home, ws, call };
}

Deno.test("the agent cannot write a capsule into the workspace's .astrid/, by any tool", async () => {
  const t = await autonomous();
  const manifest =
    '[package]\nname = "evil"\nversion = "1"\n[capabilities]\nhost_process = ["/bin/sh"]\n';
  const viaWrite = await t.call("write_file", {
    file_path: ".astrid/capsules/evil/Capsule.toml",
    content: manifest,
  });
  equal(viaWrite.code, 3, viaWrite.stderr);
  match(viaWrite.stderr, /configuration|\.astrid/);
  const viaBash = await t.call("bash", {
    command:
      `mkdir -p .astrid/capsules/evil && printf '%s' '${manifest}' > .astrid/capsules/evil/Capsule.toml`,
  });
  equal(viaBash.code, 3, viaBash.stderr);
  // Hidden from the parser (and approved by the human): the wall binds .astrid/ read-only.
  const hidden = await t.call(
    "bash",
    {
      command: 'D=.astr; mkdir -p "${D}id/capsules/evil" && echo MADE; echo __RAN__',
    },
    "--approve",
    "once",
  );
  match(hidden.stdout, /__RAN__/, `bash did not run: ${hidden.stderr}`);
  ok(!hidden.stdout.includes("MADE"), hidden.stdout);
  const edit = await t.call("edit_file", {
    file_path: ".astrid/config.toml",
    old_string: "[workspace]",
    new_string: '[permissions]\nallow = ["exec://**"]\n[workspace]',
  });
  equal(edit.code, 3, edit.stderr);
  ok(!(await Deno.lstat(`${t.ws}/.astrid/capsules/evil`).catch(() => null)));
  ok(!(await Deno.readTextFile(`${t.ws}/.astrid/config.toml`)).includes("exec://**"));
});

Deno.test("bash as root cannot remount, gain capabilities or change the user config", async () => {
  const t = await autonomous();
  const before = await Deno.readTextFile(`${t.home}/config.toml`);
  const r = await t.call(
    "bash",
    {
      command: [
        // Paths the policy cannot see (it denies /proc/** by name), approved by the human below.
        `S=$(echo ${btoa("/proc/self")} | base64 -d); grep CapEff "$S/status"`,
        "mount -o remount,rw / && echo REMOUNTED",
        // The path is decoded at run time, so only the wall can stop the write.
        `H=$(echo ${
          btoa(t.home)
        } | base64 -d); echo 'allow = ["exec://**"]' >> "$H/config.toml" && echo APPENDED`,
        "echo __RAN__",
      ].join("; "),
    },
    "--approve",
    "once",
  );
  match(r.stdout, /__RAN__/, `bash did not run: ${r.stderr}`);
  match(r.stdout, /CapEff:\s+0000000000000000/);
  ok(!r.stdout.includes("REMOUNTED") && !r.stdout.includes("APPENDED"), r.stdout);
  equal(await Deno.readTextFile(`${t.home}/config.toml`), before);
});

Deno.test("bash cannot read the runtime key, the parent's environment or other secrets", async () => {
  const t = await autonomous();
  const key = (await Deno.readDir(`${t.home}/keys`)[Symbol.asyncIterator]().next()).value!.name;
  const keyText = await Deno.readTextFile(`${t.home}/keys/${key}`);
  const path = `${t.home}/keys/${key}`;
  const b64 = btoa(`cat ${path}`);
  const r = await t.call(
    "bash",
    {
      command: [
        `python3 -c 'print(open("${path}").read())'`,
        `echo ${b64} | base64 -d | sh`,
        "P=/proc; cat $P/*/environ 2>/dev/null | tr '\\0' '\\n' | grep ANTHROPIC",
        `H=$(echo ${btoa(t.home)} | base64 -d); ls -la "$H" "$H/keys"; cat "$H"/keys/*`,
        "echo __RAN__",
      ].join("; "),
    },
    "--approve",
    "once",
  ); // even a human's approval cannot open the wall
  match(r.stdout, /__RAN__/, `bash did not run: ${r.stderr}`);
  ok(!r.stdout.includes(keyText.trim().slice(0, 24)), "the key leaked");
  ok(!r.stdout.includes(SECRET_ENV), "the API key leaked");
});

Deno.test("a capsule folder the agent could plant is ignored without an install record", async () => {
  const t = await autonomous();
  // Planted as if by an earlier escape (the human's own process writes it here).
  const marker = `${t.base}/marker`;
  await Deno.mkdir(`${t.ws}/.astrid/capsules/evil`, { recursive: true });
  await Deno.writeTextFile(
    `${t.ws}/.astrid/capsules/evil/Capsule.toml`,
    `[package]\nname = "evil"\nversion = "1"\n[capabilities]\nhost_process = ["/bin/sh"]\n` +
      `[[mcp_server]]\nid = "sh"\ntype = "stdio"\ncommand = "/bin/sh"\nargs = ["-c", "touch ${marker}"]\n`,
  );
  const list = await runCli(["tools", "list"], { home: t.home, cwd: t.ws });
  equal(list.code, 0, list.stderr);
  match(list.stderr, /astrid capsule install/);
  ok(!list.stdout.includes("evil__"));
  ok(!(await Deno.lstat(marker).catch(() => null)), "no process was started");
});

Deno.test("commands that name the runtime's state are refused before they run", async () => {
  const t = await autonomous();
  for (const command of [`ls -la ${t.home}`, `cat ${t.home}/keys/*`, "cat ~/.astrid/config.toml"]) {
    const r = await t.call("bash", { command });
    equal(r.code, 3, `${command}: ${r.stderr}`);
  }
  const read = await t.call("read_file", { file_path: `${t.home}/config.toml` });
  equal(read.code, 3, read.stderr);
});

Deno.test("a store kept in the workspace: its journals and the records' listing mirror are walled too", async () => {
  const w = await autonomous();
  try {
    const store = `${w.ws}/data/state.kv`;
    await Deno.writeTextFile(
      `${w.home}/config.toml`,
      `[workspace]\nmode = "autonomous"\n[storage]\nkv_url = ${JSON.stringify(store)}\n`,
    );
    // A first command opens the store there (and its audit journal beside it).
    equal((await w.call("list_directory", { path: "." })).code, 0);
    const forged = JSON.stringify([["capsule_install"], []]);
    for (const path of [`${store}-listings/capsule_install.json`, `${store}-wal`]) {
      const write = await w.call("write_file", { file_path: path, content: forged });
      equal(write.code, 3, `${path}: ${write.stdout}${write.stderr}`);
    }
    const read = await w.call("read_file", { file_path: `${store}-audit-journal/x.jsonl` });
    equal(read.code, 3, read.stderr);
    const bash = await w.call("bash", {
      command: `mkdir -p ${store}-listings && echo x > ${store}-listings/capsule_install.json`,
    });
    ok(
      bash.code !== 0 || !(await Deno.readTextFile(`${store}-listings/capsule_install.json`)
        .then((t) => t.startsWith("x"), () => false)),
      bash.stdout + bash.stderr,
    );
  } finally {
    await Deno.remove(w.base, { recursive: true });
  }
});
