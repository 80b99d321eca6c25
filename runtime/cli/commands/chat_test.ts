import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { startFakeAnthropic } from "../../llm/replay_anthropic.ts";

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

interface Dirs {
  home: string;
  ws: string;
}

async function dirs(): Promise<Dirs> {
  const home = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-home-" }));
  const ws = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-ws-" }));
  await Deno.mkdir(join(ws, ".astrid"));
  return { home, ws };
}

function command(args: string[], d: Dirs, env: Record<string, string>) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "--config", CONFIG, ENTRY, ...args],
    cwd: d.ws,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      ...PASS,
      HOME: d.home,
      ASTRID_HOME: d.home,
      ASTRID_SYSTEM_CONFIG: `${d.home}/no-system-config.toml`,
      NO_COLOR: "1",
      ...env,
    },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

async function run(args: string[], d: Dirs, env: Record<string, string> = {}) {
  const out = await command(args, d, env).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const modelEnv = (url: string) => ({
  ANTHROPIC_API_KEY: "sk-test",
  ANTHROPIC_BASE_URL: url,
  ASTRID_MODEL_MODEL: "claude-sonnet-4-6",
  ASTRID_MODEL_MAX_TOKENS: "1024",
});

Deno.test("astrid chat without an API key says how to configure one and exits 1", async () => {
  const d = await dirs();
  const r = await run(["chat", "-p", "hi"], d);
  equal(r.code, 1);
  match(r.stderr, /ANTHROPIC_API_KEY/);
  match(r.stderr, /api_key/);
  ok(r.stderr.includes(join(d.home, "config.toml")));
  ok(!r.stderr.includes("at "), "no stack trace");
});

Deno.test("astrid chat -p prints the final answer; --json prints events; a deferred action exits 4", async () => {
  const d = await dirs();
  const fake = startFakeAnthropic([
    { text: "Hello from the replayed model.", usage: { inputTokens: 10, outputTokens: 5 } },
    { text: "Second." },
    {
      toolCalls: [{
        id: "t1",
        name: "write_file",
        args: { file_path: `${d.ws}/a.txt`, content: "x" },
      }],
    },
    { text: "Queued." },
  ]);
  try {
    const env = modelEnv(fake.url);
    const r = await run(["chat", "-p", "say hi"], d, env);
    equal(r.code, 0, r.stderr);
    equal(r.stdout, "Hello from the replayed model.\n");
    const id = r.stderr.match(/session ([0-9a-f-]{36})/)?.[1];
    ok(id);
    const j = await run(["chat", "-s", id, "-p", "again", "--json"], d, env);
    equal(j.code, 0, j.stderr);
    const events = j.stdout.trim().split("\n").map((l) => JSON.parse(l));
    deepEqual(
      events.map((e) => e.type),
      ["turn_start", "text", "text", "turn_end"].slice(0, 1)
        .concat(events.slice(1, -1).map(() => "text"), ["turn_end"]),
    );
    equal(events.at(-1).result.text, "Second.");
    // The resumed session carried the first turn to the model.
    match(JSON.stringify(fake.requests[1]), /Hello from the replayed model/);
    const q = await run(["chat", "-p", "write a.txt"], d, env);
    equal(q.code, 4, q.stderr);
    match(q.stderr, /deferred/);
    match(q.stdout, /[0-9a-f-]{36}/);
  } finally {
    await fake.close();
  }
});

Deno.test("astrid chat killed with SIGKILL mid-turn loses no completed turn; resume marks it interrupted", async () => {
  const d = await dirs();
  const fake = startFakeAnthropic([
    { text: "first answer" },
    { text: "this never finishes", fault: { after: 3, kind: "hang" } },
    { text: "third answer" },
  ]);
  try {
    const env = modelEnv(fake.url);
    const first = await run(["chat", "-p", "one"], d, env);
    equal(first.code, 0, first.stderr);
    const id = first.stderr.match(/session ([0-9a-f-]{36})/)?.[1];
    ok(id);

    const child = command(["chat", "-s", id, "-p", "two"], d, env).spawn();
    for (let i = 0; i < 600 && fake.requests.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    equal(fake.requests.length, 2);
    await new Promise((r) => setTimeout(r, 200));
    child.kill("SIGKILL");
    const status = await child.status;
    equal(status.signal, "SIGKILL");

    // The launcher was killed; the runtime under it notices and ends right after.
    let view: { turns: { status: string }[]; messages: unknown } = { turns: [], messages: [] };
    for (let i = 0; i < 50; i++) {
      const shown = await run(["sessions", "show", id, "--json"], d);
      equal(shown.code, 0, shown.stderr);
      view = JSON.parse(shown.stdout);
      if (view.turns.at(-1)?.status !== "running") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    deepEqual(view.turns.map((t) => t.status), ["completed", "interrupted"]);
    match(JSON.stringify(view.messages), /first answer/);

    const third = await run(["chat", "-s", id, "-p", "three"], d, env);
    equal(third.code, 0, third.stderr);
    equal(third.stdout, "third answer\n");
    match(third.stderr, /interrupted/);
    const after = JSON.parse((await run(["sessions", "show", id, "--json"], d)).stdout);
    deepEqual(after.turns.map((t: { status: string }) => t.status), [
      "completed",
      "interrupted",
      "completed",
    ]);
    // The model saw the first turn and both prompts on resume.
    const body = JSON.stringify(fake.requests[2]);
    ok(body.includes("first answer") && body.includes("two") && body.includes("three"));
  } finally {
    await fake.close();
  }
});

Deno.test("astrid chat without -p and without a terminal is a usage error; without a key it says how to set one", async () => {
  const d = await dirs();
  const noKey = await run(["chat"], d);
  equal(noKey.code, 1);
  match(noKey.stderr, /export ANTHROPIC_API_KEY=/);
  const fake = startFakeAnthropic([]);
  try {
    const r = await run(["chat"], d, modelEnv(fake.url));
    equal(r.code, 2, r.stderr);
    match(r.stderr, /Cannot start the interactive chat: stdin is not a terminal; pass -p PROMPT/);
    equal(fake.requests.length, 0);
  } finally {
    await fake.close();
  }
});

Deno.test("astrid chat prices an unknown model on a local endpoint at $0 with a notice, and a model from [pricing]", async () => {
  const d = await dirs();
  const fake = startFakeAnthropic([
    { text: "free locally", usage: { inputTokens: 10, outputTokens: 5 } },
    { text: "priced locally", usage: { inputTokens: 10, outputTokens: 5 } },
  ]);
  try {
    const env = { ...modelEnv(fake.url), ASTRID_MODEL_MODEL: "local-model" };
    const unpriced = await run(["chat", "-p", "hi"], d, env);
    equal(unpriced.code, 0, unpriced.stderr);
    equal(unpriced.stdout, "free locally\n");
    match(unpriced.stderr, /local-model/);
    await Deno.writeTextFile(
      join(d.home, "config.toml"),
      '[pricing."local-model"]\ninput_per_mtok = 0\noutput_per_mtok = 0\n',
    );
    const priced = await run(["chat", "-p", "hi"], d, env);
    equal(priced.code, 0, priced.stderr);
    equal(priced.stdout, "priced locally\n");
    // A workspace may not set prices (a zero price would switch the budget off).
    await Deno.writeTextFile(
      join(d.ws, ".astrid", "config.toml"),
      '[pricing."claude-sonnet-4-6"]\ninput_per_mtok = 0\noutput_per_mtok = 0\n',
    );
    const hostile = await run(["chat", "-p", "hi"], d, modelEnv(fake.url));
    equal(hostile.code, 1);
    match(hostile.stderr, /may not be set by a workspace config/);
  } finally {
    await fake.close();
  }
});

Deno.test("astrid chat takes its round limit from [agent] max_rounds; --max-turns overrides it", async () => {
  const d = await dirs();
  const call = (id: string) => ({
    toolCalls: [{ id, name: "list_directory", args: { path: "." } }],
  });
  const fake = startFakeAnthropic([call("a"), call("b"), call("c"), { text: "done" }]);
  try {
    await Deno.writeTextFile(join(d.home, "config.toml"), "[agent]\nmax_rounds = 1\n");
    const env = { ...modelEnv(fake.url), ASTRID_WORKSPACE_MODE: "autonomous" };
    const limited = await run(["chat", "-p", "look"], d, env);
    equal(limited.code, 1);
    match(limited.stderr, /max_turns/);
    equal(fake.requests.length, 1);
    const more = await run(["chat", "-p", "look", "--max-turns", "3"], d, env);
    equal(more.code, 0, more.stderr);
    equal(more.stdout, "done\n");
    equal(fake.requests.length, 4);
  } finally {
    await fake.close();
  }
});
