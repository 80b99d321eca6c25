import { deepEqual, equal, match } from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../storage/mod.ts";
import { SessionStore } from "../../agent/mod.ts";

const ENTRY = new URL("../main.ts", import.meta.url).pathname;
const CONFIG = new URL("../../../deno.json", import.meta.url).pathname;
// The subprocess gets a temporary HOME: keep Deno's cache and the CA settings it needs.
const PASS: Record<string, string> = {
  DENO_DIR: Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache", "deno"),
};
for (const k of ["SSL_CERT_FILE", "SSL_CERT_DIR", "DENO_TLS_CA_STORE"]) {
  const v = Deno.env.get(k);
  if (v !== undefined) PASS[k] = v;
}

async function run(args: string[], home: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "--config", CONFIG, ENTRY, ...args],
    cwd: home,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      ...PASS,
      HOME: home,
      ASTRID_HOME: home,
      ASTRID_SYSTEM_CONFIG: `${home}/none.toml`,
    },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("astrid sessions list|show|delete|cleanup work with --json", async () => {
  const home = await Deno.realPath(await Deno.makeTempDir());
  {
    using store = await openStore(join(home, "state.kv"));
    const sessions = new SessionStore(store);
    const old = sessions.create({
      id: "old",
      provider: "p",
      model: "m",
      workspaceRoot: "/ws",
      workspaceId: "w",
    });
    old.beginTurn("old prompt");
    old.push({
      message: { role: "user", content: [{ type: "text", text: "hi" }] },
      trust: "trusted",
      turn: 1,
    });
    old.updateTurn({ status: "completed", endedAt: 1 });
    await old.save(Date.now() - 40 * 86_400_000);
    const fresh = sessions.create({
      id: "fresh",
      provider: "p",
      model: "m",
      workspaceRoot: "/ws",
      workspaceId: "w",
    });
    await fresh.save();
  }
  const list = await run(["sessions", "list", "--json"], home);
  equal(list.code, 0, list.stderr);
  deepEqual(JSON.parse(list.stdout).map((h: { id: string }) => h.id), ["fresh", "old"]);
  const text = await run(["sessions", "list"], home);
  match(text.stdout, /old .*old prompt/);
  const show = await run(["sessions", "show", "old"], home);
  match(show.stdout, /#1 completed/);
  match(show.stdout, /\[user · trusted\]\n {2}hi/);
  equal((await run(["sessions", "show", "nope"], home)).code, 1);
  const cleanup = await run(["sessions", "cleanup", "--older-than", "30", "--json"], home);
  deepEqual(JSON.parse(cleanup.stdout), { deleted: ["old"] });
  equal((await run(["sessions", "cleanup", "--older-than", "-1"], home)).code, 2);
  const del = await run(["sessions", "delete", "fresh", "--json"], home);
  deepEqual(JSON.parse(del.stdout), { deleted: ["fresh"] });
  equal((await run(["sessions", "delete", "fresh"], home)).code, 1);
});
