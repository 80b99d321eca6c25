/**
 * Hostile tests of the wall, with the real bubblewrap: what a process inside can see and do,
 * as root (as CI runs) and as the unprivileged user `nobody` (setpriv to uid 65534).
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { Sandbox, SandboxError } from "./mod.ts";
import type { Walls } from "../security/walls.ts";

const SECRET = `astrid-secret-${crypto.randomUUID()}`;

interface Fixture {
  ws: string;
  astridHome: string;
  home: string;
  walls: Walls;
}

/** Outside /tmp: the wall gives every process a private /tmp, which would hide the fixture. */
const FIXTURES = await Deno.realPath(
  await Deno.makeTempDir({ dir: "/var/tmp", prefix: "astrid-wall-" }),
);
await Deno.chmod(FIXTURES, 0o755);
globalThis.addEventListener("unload", () => Deno.removeSync(FIXTURES, { recursive: true }));

async function fixture(owner: "root" | "nobody" = "root"): Promise<Fixture> {
  const base = await Deno.makeTempDir({ dir: FIXTURES });
  const ws = `${base}/ws`;
  const home = `${base}/home`;
  const astridHome = `${home}/.astrid`;
  for (const d of [`${ws}/.astrid`, `${astridHome}/keys`, `${home}/.ssh`, `${home}/.aws`]) {
    await Deno.mkdir(d, { recursive: true });
  }
  await Deno.mkdir(`${home}/.cache/tool`, { recursive: true });
  await Deno.writeTextFile(`${astridHome}/keys/runtime.key`, SECRET);
  await Deno.writeTextFile(`${astridHome}/config.toml`, `# ${SECRET}`);
  await Deno.writeTextFile(`${home}/.ssh/id_ed25519`, SECRET);
  await Deno.writeTextFile(`${home}/.aws/credentials`, SECRET);
  await Deno.writeTextFile(`${home}/.netrc`, SECRET);
  await Deno.writeTextFile(`${home}/.cache/tool/cached.txt`, "cache is readable");
  await Deno.writeTextFile(`${home}/extra-secret`, SECRET);
  await Deno.writeTextFile(`${ws}/.astrid/config.toml`, "[workspace]\n");
  await Deno.chmod(base, 0o755);
  if (owner === "nobody") {
    for (const d of [ws, `${ws}/.astrid`]) {
      await Deno.chown(d, 65534, 65534);
    }
  }
  const walls: Walls = {
    hidden: [astridHome],
    userHome: home,
    sandboxHide: [`${home}/extra-secret`],
  };
  return { ws, astridHome, home, walls };
}

interface Ran {
  code: number;
  out: string;
}

async function inWall(
  f: Fixture,
  script: string,
  opts: { asNobody?: boolean; network?: boolean; env?: Record<string, string> } = {},
): Promise<Ran> {
  const sandbox = await Sandbox.open(f.walls, opts.asNobody ? { uid: 65534 } : {});
  if (!(sandbox instanceof Sandbox)) throw new Error(`no sandbox here: ${sandbox}`);
  const walled = await sandbox.command(
    { workspace: f.ws, network: opts.network ?? false, cwd: f.ws },
    ["/bin/sh", "-c", `${script}\necho __RAN__`],
  );
  const [program, args] = opts.asNobody
    ? [
      "setpriv",
      ["--reuid=65534", "--regid=65534", "--clear-groups", walled.program, ...walled.args],
    ]
    : [walled.program, walled.args];
  const out = await new Deno.Command(program, {
    args,
    env: { PATH: "/usr/local/bin:/usr/bin:/bin", ...opts.env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  const text = dec.decode(out.stdout) + dec.decode(out.stderr);
  // Every script ends by saying it ran, so a wall that failed to start never passes a test.
  ok(text.includes("__RAN__\n"), `the walled process did not run:\n${text}`);
  return { code: out.code, out: text.replace("__RAN__\n", "") };
}

const AS = [{ who: "root", asNobody: false }, { who: "nobody", asNobody: true }] as const;

for (const { who, asNobody } of AS) {
  Deno.test(`the wall drops every capability and sets no_new_privs (as ${who})`, async () => {
    const f = await fixture(who);
    const r = await inWall(
      f,
      "grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs)' /proc/self/status; id -u",
      {
        asNobody,
      },
    );
    match(r.out, /CapEff:\s+0000000000000000/);
    match(r.out, /CapPrm:\s+0000000000000000/);
    match(r.out, /CapBnd:\s+0000000000000000/);
    match(r.out, /NoNewPrivs:\s+1/);
    match(r.out, /^65534$/m);
  });

  Deno.test(`root inside the wall cannot remount, su, unshare or write the system (as ${who})`, async () => {
    const f = await fixture(who);
    const r = await inWall(
      f,
      [
        "mount -o remount,rw / && echo REMOUNTED",
        "mount -t tmpfs none /mnt && echo MOUNTED",
        "echo x | su -c 'echo SU_WORKED' root",
        "unshare -U -r true && echo USERNS",
        "echo x > /etc/astrid-wall-test && echo WROTE_ETC",
        "echo x > /usr/astrid-wall-test && echo WROTE_USR",
        `echo x > ${f.home}/planted && echo WROTE_HOME`,
        "chroot / true && echo CHROOT",
        "true",
      ].join("; "),
      { asNobody },
    );
    for (const bad of ["REMOUNTED", "MOUNTED", "SU_WORKED", "USERNS", "WROTE_", "CHROOT"]) {
      ok(!r.out.includes(bad), `${bad} in:\n${r.out}`);
    }
    for (const path of ["/etc/astrid-wall-test", "/usr/astrid-wall-test", `${f.home}/planted`]) {
      ok(!(await Deno.lstat(path).catch(() => null)), path);
    }
  });

  Deno.test(`secrets are unreadable by every route (as ${who})`, async () => {
    const f = await fixture(who);
    const targets = [
      `${f.astridHome}/keys/runtime.key`,
      `${f.astridHome}/config.toml`,
      `${f.home}/.ssh/id_ed25519`,
      `${f.home}/.aws/credentials`,
      `${f.home}/.netrc`,
      `${f.home}/extra-secret`,
    ];
    const b64 = btoa(`cat ${targets.join(" ")}`);
    const r = await inWall(
      f,
      [
        `cat ${targets.join(" ")}`,
        `echo ${b64} | base64 -d | sh`,
        `python3 -c 'import sys\nfor p in sys.argv[1:]:\n  try: print(open(p).read())\n  except Exception as e: print(e)' ${
          targets.join(" ")
        }`,
        `perl -e 'for (@ARGV) { open(my $f, "<", $_) and print <$f> }' ${targets.join(" ")}`,
        `for t in ${
          targets.join(" ")
        }; do dd if=$t 2>/dev/null; cp $t . 2>/dev/null; done; cat ./* 2>/dev/null`,
        `ls -la ${f.astridHome} ${f.home}/.ssh; find ${f.home} -type f | xargs cat`,
        "cat /proc/1/environ /proc/*/environ 2>/dev/null | tr '\\0' '\\n'",
        `cat /proc/self/root${f.astridHome}/keys/runtime.key /proc/1/root${f.home}/.ssh/id_ed25519`,
        "ls -a /root /run",
      ].join("; "),
      { asNobody },
    );
    ok(!r.out.includes(SECRET), `a secret leaked:\n${r.out}`);
    // Build caches stay readable.
    const cache = await inWall(f, `cat ${f.home}/.cache/tool/cached.txt`, { asNobody });
    equal(cache.out, "cache is readable");
  });

  Deno.test(`the parent's /proc is unreachable (as ${who})`, async () => {
    const f = await fixture(who);
    const r = await inWall(f, "ls /proc | grep -E '^[0-9]+$' | sort -n | tail -1; echo $$", {
      asNobody,
    });
    const pids = r.out.trim().split("\n").map(Number);
    ok(pids.every((p) => p < 50), `only the sandbox's own pids: ${r.out}`);
    ok(
      !(await inWall(f, `test -e /proc/${Deno.pid} && echo VISIBLE`, { asNobody })).out.includes(
        "VISIBLE",
      ),
    );
  });

  Deno.test(`the workspace is writable, its .astrid/ is not (as ${who})`, async () => {
    const f = await fixture(who);
    const r = await inWall(
      f,
      [
        "echo data > out.txt && echo WROTE_WS",
        "echo x >> .astrid/config.toml && echo WROTE_CONFIG",
        "mkdir -p .astrid/capsules/evil && echo MADE_CAPSULE",
        "mv .astrid .astrid-old && echo MOVED",
        "rm -rf .astrid && echo REMOVED",
        "ln -s /tmp .astrid/link && echo LINKED",
      ].join("; "),
      { asNobody },
    );
    match(r.out, /WROTE_WS/);
    for (const bad of ["WROTE_CONFIG", "MADE_CAPSULE", "MOVED", "REMOVED", "LINKED"]) {
      ok(!r.out.includes(bad), `${bad} in:\n${r.out}`);
    }
    equal(await Deno.readTextFile(`${f.ws}/.astrid/config.toml`), "[workspace]\n");
    equal(await Deno.readTextFile(`${f.ws}/out.txt`), "data\n");
  });
}

Deno.test("a workspace without .astrid/ cannot get one from inside the wall", async () => {
  const f = await fixture();
  await Deno.remove(`${f.ws}/.astrid`, { recursive: true });
  const r = await inWall(
    f,
    "mkdir -p .astrid/capsules/evil && echo MADE; touch .astrid/x && echo TOUCHED",
  );
  ok(!r.out.includes("MADE") && !r.out.includes("TOUCHED"), r.out);
  deepEqual([...Deno.readDirSync(`${f.ws}/.astrid`)], []);
});

Deno.test("a workspace whose .astrid is a symlink is refused", async () => {
  const f = await fixture();
  await Deno.remove(`${f.ws}/.astrid`, { recursive: true });
  await Deno.symlink("/tmp", `${f.ws}/.astrid`);
  const sandbox = await Sandbox.open(f.walls);
  if (!(sandbox instanceof Sandbox)) throw new Error(sandbox);
  let err: unknown;
  try {
    await sandbox.command({ workspace: f.ws, network: false, cwd: f.ws }, ["true"]);
  } catch (e) {
    err = e;
  }
  ok(err instanceof SandboxError && err.code === "REFUSED", String(err));
});

Deno.test("writable paths may not lie in hidden or configuration folders", async () => {
  const f = await fixture();
  const sandbox = await Sandbox.open(f.walls);
  if (!(sandbox instanceof Sandbox)) throw new Error(sandbox);
  for (
    const writable of [`${f.astridHome}/keys`, `${f.home}/.ssh`, `${f.ws}/.astrid`, "/nonexistent"]
  ) {
    let err: unknown;
    try {
      await sandbox.command({ workspace: f.ws, network: false, cwd: f.ws, writable: [writable] }, [
        "true",
      ]);
    } catch (e) {
      err = e;
    }
    ok(err instanceof SandboxError && err.code === "REFUSED", `${writable}: ${err}`);
  }
  // A writable folder that holds hidden paths keeps them hidden.
  const r = await (async () => {
    const walled = await sandbox.command(
      { workspace: f.ws, network: false, cwd: f.ws, writable: [f.home] },
      [
        "/bin/sh",
        "-c",
        `cat ${f.home}/.ssh/id_ed25519 ${f.astridHome}/keys/runtime.key; echo ok > ${f.home}/w`,
      ],
    );
    const out = await new Deno.Command(walled.program, { args: walled.args, stderr: "piped" })
      .output();
    return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  })();
  ok(!r.includes(SECRET), r);
  equal(await Deno.readTextFile(`${f.home}/w`), "ok\n");
});

Deno.test("the wall has no network unless asked", async () => {
  const f = await fixture();
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    () => new Response("pong"),
  );
  try {
    const script = `exec 3<>/dev/tcp/127.0.0.1/${server.addr.port} && echo CONNECTED`;
    const bash = (s: string) => `bash -c '${s}'`;
    ok(!(await inWall(f, bash(script))).out.includes("CONNECTED"));
    match((await inWall(f, bash(script), { network: true })).out, /CONNECTED/);
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("a workspace inside a hidden folder shows through it, and only it", async () => {
  const f = await fixture();
  // Hide the folder holding the workspace (as another user's home would be).
  const holder = f.ws.slice(0, f.ws.lastIndexOf("/"));
  await Deno.writeTextFile(`${holder}/beside-the-workspace`, SECRET);
  const walls = { ...f.walls, sandboxHide: [...f.walls.sandboxHide, holder] };
  const r = await inWall(
    { ...f, walls },
    [
      "echo data > out.txt && echo WROTE_WS",
      `cat ${holder}/beside-the-workspace`,
      `echo x > ${holder}/planted && echo WROTE_HOLDER`,
      "echo x >> .astrid/config.toml && echo WROTE_CONFIG",
    ].join("; "),
  );
  match(r.out, /WROTE_WS/);
  ok(
    !r.out.includes(SECRET) && !r.out.includes("WROTE_HOLDER") && !r.out.includes("WROTE_CONFIG"),
    r.out,
  );
});

Deno.test("a folder shown read-only keeps the hidden paths inside it hidden", async () => {
  const f = await fixture();
  const sandbox = await Sandbox.open(f.walls);
  if (!(sandbox instanceof Sandbox)) throw new Error(sandbox);
  const walled = await sandbox.command(
    { workspace: null, network: false, cwd: "/", readOnly: [f.home] },
    [
      "/bin/sh",
      "-c",
      `cat ${f.home}/.cache/tool/cached.txt; cat ${f.home}/.ssh/id_ed25519 ${f.astridHome}/keys/runtime.key; echo x > ${f.home}/w && echo WROTE`,
    ],
  );
  const out = await new Deno.Command(walled.program, { args: walled.args, stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  match(text, /cache is readable/);
  ok(!text.includes(SECRET) && !text.includes("WROTE"), text);
  let err: unknown;
  try {
    await sandbox.command({ workspace: null, network: false, cwd: "/", readOnly: [f.astridHome] }, [
      "true",
    ]);
  } catch (e) {
    err = e;
  }
  ok(err instanceof SandboxError && err.code === "REFUSED", "a hidden path itself is never shown");
});
