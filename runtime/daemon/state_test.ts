import { equal, match, notEqual, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import {
  acquireLock,
  DaemonRunningError,
  ensureToken,
  findDaemon,
  readDaemonInfo,
  removeDaemonInfo,
  writeDaemonInfo,
} from "./state.ts";

async function tempHome(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "astrid-daemon-state-" });
}

/** The pid of a process that ran and exited (so it is dead). */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

Deno.test("ensureToken() creates a 0600 token in a 0700 folder and keeps it", async () => {
  const home = await tempHome();
  try {
    const first = await ensureToken(home);
    equal(first.warning, null);
    match(first.token, /^[A-Za-z0-9_-]{43}$/);
    equal((await Deno.stat(join(home, "daemon", "token"))).mode! & 0o777, 0o600);
    equal((await Deno.stat(join(home, "daemon"))).mode! & 0o777, 0o700);
    equal((await ensureToken(home)).token, first.token);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("ensureToken() replaces a token others can read, with a warning", async () => {
  const home = await tempHome();
  try {
    const first = await ensureToken(home);
    const path = join(home, "daemon", "token");
    await Deno.chmod(path, 0o644);
    const second = await ensureToken(home);
    notEqual(second.token, first.token);
    match(second.warning ?? "", /readable by others/);
    equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("ensureToken() replaces a symlinked token without writing through the link", async () => {
  const home = await tempHome();
  try {
    await Deno.mkdir(join(home, "daemon"), { mode: 0o700 });
    const target = join(home, "elsewhere");
    await Deno.writeTextFile(target, "A".repeat(43), { mode: 0o600 });
    await Deno.symlink(target, join(home, "daemon", "token"));
    const got = await ensureToken(home);
    match(got.warning ?? "", /not a regular file/);
    equal(await Deno.readTextFile(target), "A".repeat(43));
    ok((await Deno.lstat(join(home, "daemon", "token"))).isFile);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("ensureToken() tightens a daemon folder others can enter", async () => {
  const home = await tempHome();
  try {
    await Deno.mkdir(join(home, "daemon"), { mode: 0o755 });
    await Deno.chmod(join(home, "daemon"), 0o755);
    await ensureToken(home);
    equal((await Deno.stat(join(home, "daemon"))).mode! & 0o777, 0o700);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("acquireLock() refuses while a live process holds the lock, naming it", async () => {
  const home = await tempHome();
  const sleeper = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    await acquireLock(home, sleeper.pid);
    await writeDaemonInfo(home, {
      pid: sleeper.pid,
      port: 4242,
      url: "http://127.0.0.1:4242",
      startedAt: Date.now(),
    });
    const err = await acquireLock(home).then(() => null, (e) => e);
    ok(err instanceof DaemonRunningError);
    equal(
      err.message,
      `a daemon is already running for ${home}: pid ${sleeper.pid} at http://127.0.0.1:4242`,
    );
  } finally {
    sleeper.kill();
    await sleeper.status;
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("acquireLock() takes over a stale lock whose pid is dead", async () => {
  const home = await tempHome();
  try {
    await Deno.mkdir(join(home, "daemon"), { mode: 0o700 });
    await Deno.writeTextFile(join(home, "daemon", "lock"), `${await deadPid()}\n`);
    const lock = await acquireLock(home);
    equal((await Deno.readTextFile(lock.path)).trim(), String(Deno.pid));
    await lock.release();
    await rejects(Deno.stat(lock.path), Deno.errors.NotFound);
    // Garbage in the lock is stale too.
    await Deno.writeTextFile(join(home, "daemon", "lock"), "not a pid");
    await (await acquireLock(home)).release();
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("release() leaves a lock another process took over", async () => {
  const home = await tempHome();
  try {
    const lock = await acquireLock(home);
    await Deno.writeTextFile(lock.path, "1\n");
    await lock.release();
    equal((await Deno.readTextFile(lock.path)).trim(), "1");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("findDaemon() ignores a daemon.json whose pid is dead", async () => {
  const home = await tempHome();
  try {
    await ensureToken(home);
    const info = { pid: await deadPid(), port: 1, url: "http://127.0.0.1:1", startedAt: 1 };
    await writeDaemonInfo(home, info);
    equal((await readDaemonInfo(home))?.port, 1);
    equal(await findDaemon(home), null);
    await writeDaemonInfo(home, { ...info, pid: Deno.pid });
    equal((await findDaemon(home))?.info.pid, Deno.pid);
    equal((await Deno.stat(join(home, "daemon", "daemon.json"))).mode! & 0o777, 0o600);
    await removeDaemonInfo(home, Deno.pid);
    equal(await readDaemonInfo(home), null);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("readDaemonInfo() treats a torn or forged daemon.json as absent", async () => {
  const home = await tempHome();
  try {
    await Deno.mkdir(join(home, "daemon"), { mode: 0o700 });
    for (
      const text of ['{"pid": 1, "port"', '{"pid":"1","port":1,"url":"x","startedAt":1}', "[]"]
    ) {
      await Deno.writeTextFile(join(home, "daemon", "daemon.json"), text);
      equal(await readDaemonInfo(home), null);
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
