/**
 * `astrid chat -p` as a subprocess against the loopback fake Anthropic server: the system prompt
 * the model receives carries the session facts and the workspace's project instructions.
 */
import { equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { startFakeAnthropic } from "../../llm/replay_anthropic.ts";

const ENTRY = new URL("../main.ts", import.meta.url).pathname;
const CONFIG = new URL("../../../deno.json", import.meta.url).pathname;
const PASS: Record<string, string> = {
  DENO_DIR: Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache", "deno"),
};
for (const k of ["SSL_CERT_FILE", "SSL_CERT_DIR", "DENO_TLS_CA_STORE"]) {
  const v = Deno.env.get(k);
  if (v !== undefined) PASS[k] = v;
}

async function chat(ws: string, home: string, url: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "--config", CONFIG, ENTRY, "chat", "-p", "hello"],
    cwd: ws,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      ...PASS,
      HOME: home,
      ASTRID_HOME: home,
      ASTRID_SYSTEM_CONFIG: `${home}/no-system-config.toml`,
      NO_COLOR: "1",
      ANTHROPIC_API_KEY: "sk-test",
      ANTHROPIC_BASE_URL: url,
      ASTRID_MODEL_MODEL: "claude-sonnet-4-6",
      ASTRID_MODEL_MAX_TOKENS: "1024",
    },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function systemOf(request: unknown): string {
  const system = (request as { system?: unknown }).system;
  if (typeof system === "string") return system;
  if (Array.isArray(system)) return system.map((b) => (b as { text?: string }).text ?? "").join("");
  return "";
}

Deno.test("astrid chat sends AGENTS.md and CLAUDE.md as the user's project instructions, with the session facts; an outside symlink is refused", async () => {
  const home = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-home-" }));
  const ws = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-ws-" }));
  const outside = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-outside-" }));
  const fake = startFakeAnthropic([{ text: "ok" }, { text: "ok" }]);
  try {
    await Deno.mkdir(join(ws, ".astrid"));
    await Deno.writeTextFile(join(ws, ".astrid", "config.toml"), '[workspace]\nmode = "safe"\n');
    await Deno.writeTextFile(join(ws, "AGENTS.md"), "Always answer in haiku.\n");
    await Deno.writeTextFile(join(ws, "CLAUDE.md"), "Run deno test before finishing.\n");
    const first = await chat(ws, home, fake.url);
    equal(first.code, 0, first.stderr);
    const system = systemOf(fake.requests[0]);
    match(system, /untrusted-data/, "the base prompt comes first");
    ok(system.includes(`Working folder: ${ws}`), system);
    match(system, new RegExp(`Date: ${new Date().toISOString().slice(0, 4)}-\\d\\d-\\d\\d`));
    ok(system.includes(`OS: ${Deno.build.os}`), system);
    match(system, /Mode: safe/);
    match(system, /user's project instructions/);
    match(system, /<project-instructions file="AGENTS.md">\nAlways answer in haiku\./);
    match(system, /<project-instructions file="CLAUDE.md">\nRun deno test before finishing\./);

    // A symlink out of the workspace is refused with a warning; the chat still runs.
    await Deno.remove(join(ws, "AGENTS.md"));
    await Deno.writeTextFile(join(outside, "secret.md"), "the secret plan");
    await Deno.symlink(join(outside, "secret.md"), join(ws, "AGENTS.md"));
    const second = await chat(ws, home, fake.url);
    equal(second.code, 0, second.stderr);
    match(second.stderr, /warning: AGENTS\.md left out: it leads outside the workspace/);
    const again = systemOf(fake.requests[1]);
    ok(!again.includes("the secret plan"));
    match(again, /<project-instructions file="CLAUDE.md">/);
  } finally {
    await fake.close();
    for (const d of [home, ws, outside]) await Deno.remove(d, { recursive: true });
  }
});
