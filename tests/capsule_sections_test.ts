/**
 * Every static Capsule.toml section acts, end to end through the CLI: a capsule installed with
 * `astrid capsule install` adds its context file and its skill list to the system prompt the
 * model server receives, its skill tool returns the skill's text through the gate, `capsule
 * info` shows its cron job, and `capsule run` expands its prompt command. The model is the
 * loopback replay server; everything else is the real thing.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { startFakeAnthropic } from "../runtime/llm/replay_anthropic.ts";
import { runCli, tempDirs } from "./cli.ts";

const MANIFEST = `[package]
name = "notes"
version = "1.0.0"
description = "House notes"

[[context_file]]
path = "STYLE.md"

[[skill]]
name = "tone"
description = "How to word replies"
path = "skills/tone.md"

[[command]]
name = "review"
description = "Review a file"
prompt = "Review $ARGUMENTS for style."

[[cron]]
name = "tidy"
schedule = "*/30 * * * *"
action = "tidy_notes"

[[interceptor]]
event = "SessionStart"
priority = 3
`;

async function staticCapsule(home: string): Promise<string> {
  const src = join(home, "notes-src");
  await Deno.mkdir(join(src, "skills"), { recursive: true });
  await Deno.writeTextFile(join(src, "Capsule.toml"), MANIFEST);
  await Deno.writeTextFile(join(src, "STYLE.md"), "Always answer in haiku.");
  await Deno.writeTextFile(join(src, "skills", "tone.md"), "Be warm and brief; never shout.");
  return src;
}

Deno.test("an installed static capsule's context file, skill, cron and command all act", async () => {
  const { home, ws } = await tempDirs();
  const fake = startFakeAnthropic([
    { toolCalls: [{ id: "t1", name: "notes__skill_tone", args: {} }] },
    { text: "Loaded the tone skill." },
  ]);
  try {
    equal((await runCli(["init", ws], { home })).code, 0);
    const src = await staticCapsule(home);
    const install = await runCli(["capsule", "install", src, "--yes"], { home, cwd: ws });
    equal(install.code, 0, install.stderr);
    ok(!install.stderr.includes("not yet supported"), install.stderr);

    // One agent turn: the context file and the skill list reach the system prompt, and the
    // skill tool (a gated capsule tool call) returns the skill's text to the model.
    const chat = await runCli(["chat", "-p", "hello", "--approve", "once"], {
      home,
      cwd: ws,
      env: { ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: fake.url },
    });
    equal(chat.code, 0, chat.stderr);
    match(chat.stdout, /Loaded the tone skill\./);
    equal(fake.requests.length, 2);
    const first = fake.requests[0] as {
      system: string | { text: string }[];
      tools: { name: string }[];
    };
    const system = typeof first.system === "string"
      ? first.system
      : first.system.map((b) => b.text).join("");
    match(system, /^You are an agent/);
    match(
      system,
      /\n\n<capsule-context capsule="notes" file="STYLE\.md">\nAlways answer in haiku\.\n<\/capsule-context>/,
    );
    match(system, /- notes__skill_tone: skill "tone" of capsule notes \(How to word replies\)/);
    ok(first.tools.some((t) => t.name === "notes__skill_tone"), "the skill tool is offered");
    const second = JSON.stringify(fake.requests[1]);
    match(second, /Be warm and brief; never shout\./, "the skill's text went back to the model");
    match(second, /untrusted/);
    const audit = JSON.parse((await runCli(["audit", "list", "--json"], { home, cwd: ws })).stdout);
    ok(
      audit.some((e: { action: { resource: string }; decision: string }) =>
        e.action.resource === "capsule://notes/skill_tone" && e.decision === "allowed"
      ),
      "the skill load went through the interceptor",
    );

    // capsule info: the cron job (and the other sections).
    const info = await runCli(["capsule", "info", "notes"], { home, cwd: ws });
    equal(info.code, 0, info.stderr);
    match(
      info.stdout,
      /cron: tidy {2}schedule "\*\/30 \* \* \* \*" {2}action tidy_notes {2}\(runs when the daemon is running\)/,
    );
    match(info.stdout, /interceptor: session_start {2}priority 3/);
    match(info.stdout, /skill: tone {2}How to word replies {2}\(tool notes__skill_tone\)/);
    match(info.stdout, /command: \/review \(prompt\) {2}Review a file/);
    match(info.stdout, /context file: STYLE\.md/);
    const json = JSON.parse(
      (await runCli(["capsule", "info", "notes", "--json"], { home, cwd: ws })).stdout,
    );
    deepEqual(json.cron, [{
      name: "tidy",
      schedule: "*/30 * * * *",
      action: "tidy_notes",
      description: null,
      runs: "when the daemon is running",
    }]);

    // capsule run: a prompt command prints its expansion.
    const run = await runCli(["capsule", "run", "notes", "review", "src/app.ts"], {
      home,
      cwd: ws,
    });
    equal(run.code, 0, run.stderr);
    equal(run.stdout, "Review src/app.ts for style.\n");
    const unknown = await runCli(["capsule", "run", "notes", "nope"], { home, cwd: ws });
    equal(unknown.code, 2);
    match(unknown.stderr, /has no such command \(it has: review\)/);
  } finally {
    await fake.close();
    await Deno.remove(home, { recursive: true }).catch(() => {});
    await Deno.remove(ws, { recursive: true }).catch(() => {});
  }
});
