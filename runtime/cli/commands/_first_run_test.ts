import { equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import type { CliIo } from "../context.ts";
import { firstRun, userConfigText } from "./_first_run.ts";

function scripted(answers: string[], env: Record<string, string> = {}, isTty = true) {
  const asked: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    env,
    cwd: "/",
    isTty,
    stdout() {},
    stderr: (s) => void err.push(s),
    readLine: (prompt) => {
      asked.push(prompt);
      return Promise.resolve(answers.shift() ?? null);
    },
  };
  return { io, asked, err };
}

Deno.test("firstRun() keeps a key from the environment out of the file it writes (mode 0600)", async () => {
  const home = await Deno.makeTempDir();
  try {
    const path = join(home, "astrid", "config.toml");
    const t = scripted(["", "", ""], { ANTHROPIC_API_KEY: "sk-env" });
    equal(await firstRun(t.io, path), true);
    const text = await Deno.readTextFile(path);
    match(text, /provider = "anthropic"/);
    match(text, /model = "claude-sonnet-4-6"/);
    ok(!text.includes("sk-env"));
    ok(!text.includes("api_key ="));
    equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    match(t.err.join(""), /comes from \$ANTHROPIC_API_KEY/);
    // A second run leaves the file alone and asks nothing.
    const again = scripted([]);
    equal(await firstRun(again.io, path), false);
    equal(again.asked.length, 0);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("firstRun() writes a typed key, re-asks an unknown provider, and says what to export otherwise", async () => {
  const home = await Deno.makeTempDir();
  try {
    const typed = join(home, "typed.toml");
    const t = scripted(["y", "mistral", "openai", "gpt-4.1", "sk-typed"]);
    equal(await firstRun(t.io, typed), true);
    const text = await Deno.readTextFile(typed);
    match(text, /provider = "openai"/);
    match(text, /model = "gpt-4.1"/);
    match(text, /api_key = "sk-typed"/);
    match(t.err.join(""), /mistral is not one of/);

    const skipped = join(home, "skipped.toml");
    const s = scripted(["", "zai", "", ""]);
    equal(await firstRun(s.io, skipped), true);
    ok(!(await Deno.readTextFile(skipped)).includes("api_key ="));
    match(s.err.join(""), /export ZAI_API_KEY=/);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("firstRun() asks nothing without a terminal and writes nothing when declined", async () => {
  const home = await Deno.makeTempDir();
  try {
    const path = join(home, "config.toml");
    const piped = scripted(["y"], {}, false);
    equal(await firstRun(piped.io, path), false);
    equal(piped.asked.length, 0);
    const declined = scripted(["n"]);
    equal(await firstRun(declined.io, path), false);
    equal(await Deno.stat(path).then(() => true, () => false), false);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("userConfigText() names the variable the key comes from", () => {
  match(
    userConfigText({ provider: "openai", model: "gpt-4o-mini", apiKey: null }),
    /\$OPENAI_API_KEY/,
  );
  ok(!userConfigText({ provider: "ollama", model: "llama3.2", apiKey: null }).includes("$"));
});
