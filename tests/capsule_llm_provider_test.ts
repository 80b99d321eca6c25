/**
 * A capsule as the session's model, end to end through the CLI: a native capsule with
 * `[[llm_provider]]` is compiled and installed, `[model] provider = "capsule:echo-llm"` is set in
 * the user config, and one `astrid chat -p` turn runs on it. The capsule streams its text with
 * `ctx.emit`, asks for a `read_file` tool call on the first round (run through the gate) and
 * answers with the file's text on the second. Both model calls are audited and priced from
 * `[pricing."echo-1"]`, and the turn's cost is charged to the session budget.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDirs } from "./cli.ts";

const MANIFEST = `[package]
name = "echo-llm"
version = "0.1.0"
description = "A scripted model"

[[llm_provider]]
id = "echo"
description = "Reads the file the prompt names, then quotes it"
models = ["echo-1"]
`;

const SOURCE = `
import { defineCapsule } from "@astrid/sdk";
export default defineCapsule({
  providers: {
    echo: {
      models: ["echo-1"],
      complete(req, ctx) {
        const last = req.messages[req.messages.length - 1]!;
        const result = last.content.find((c) => c.type === "tool_result");
        if (result?.type !== "tool_result") {
          const first = last.content.find((c) => c.type === "text");
          const prompt = first?.type === "text" ? first.text : "";
          const path = prompt.slice(prompt.indexOf("/"));
          ctx.emit({ type: "text", text: "Reading " });
          ctx.emit({ type: "text", text: "the note." });
          return {
            content: [
              { type: "text", text: "Reading the note." },
              { type: "tool_use", id: "call_1", name: "read_file", input: { file_path: path } },
            ],
            stop_reason: "tool_use",
            usage: { input_tokens: 1000, output_tokens: 100 },
          };
        }
        const quoted = result.content.includes("violets are blue") ? "violets are blue" : "nothing";
        ctx.emit({ type: "text", text: "The note says: " });
        ctx.emit({ type: "text", text: quoted });
        return {
          content: [{ type: "text", text: "The note says: " + quoted }],
          stop_reason: "end_turn",
          usage: { input_tokens: 2000, output_tokens: 50 },
        };
      },
    },
  },
});
`;

const USER_CONFIG = `[model]
provider = "capsule:echo-llm"
model = "echo-1"

[pricing."echo-1"]
input_per_mtok = 3
output_per_mtok = 15
`;

Deno.test("a capsule's [[llm_provider]] answers a chat turn: streamed, gated, audited and budgeted", async () => {
  const { home, ws } = await tempDirs();
  try {
    equal((await runCli(["init", ws], { home })).code, 0);
    const src = join(home, "echo-src");
    await Deno.mkdir(src);
    await Deno.writeTextFile(join(src, "Capsule.toml"), MANIFEST);
    await Deno.writeTextFile(join(src, "mod.ts"), SOURCE);
    const out = join(home, "echo-build");
    const compile = await runCli(["capsule", "compile", src, "-o", out], { home, cwd: ws });
    equal(compile.code, 0, compile.stderr);
    const install = await runCli(["capsule", "install", out, "--yes"], { home, cwd: ws });
    equal(install.code, 0, install.stderr);
    await Deno.writeTextFile(join(home, "config.toml"), USER_CONFIG);
    await Deno.writeTextFile(join(ws, "note.txt"), "roses are red, violets are blue\n");

    const chat = await runCli(
      ["chat", "-p", `Quote ${ws}/note.txt`, "--approve", "once", "--json"],
      { home, cwd: ws },
    );
    equal(chat.code, 0, chat.stderr);
    const events = chat.stdout.trim().split("\n").map((l) => JSON.parse(l));
    // Each emitted chunk streams as its own event, and the returned text is not repeated.
    deepEqual(
      events.filter((e) => e.type === "text").map((e) => e.text),
      ["Reading ", "the note.", "The note says: ", "violets are blue"],
    );
    const tool = events.find((e) => e.type === "tool_end");
    equal(tool?.name, "read_file");
    equal(tool?.status, "ok");
    const end = events.find((e) => e.type === "turn_end");
    equal(end.result.status, "completed");
    equal(end.result.text, "The note says: violets are blue");
    equal(end.result.rounds, 2);
    // (1000 + 2000) input tokens at $3/MTok and (100 + 50) output tokens at $15/MTok.
    const cost = (3000 * 3 + 150 * 15) / 1e6;
    ok(Math.abs(end.result.costUsd - cost) < 1e-9, `cost ${end.result.costUsd}`);

    const audit = await runCli(["audit", "list", "--json"], { home, cwd: ws });
    equal(audit.code, 0, audit.stderr);
    const entries = JSON.parse(audit.stdout) as {
      action: { resource: string };
      decision: string;
    }[];
    const model = entries.filter((e) =>
      e.action.resource === "capsule://echo-llm/llm_provider:echo"
    );
    deepEqual(model.map((e) => e.decision), ["allowed", "outcome", "allowed", "outcome"]);
    ok(
      entries.some((e) => e.action.resource.endsWith("/note.txt") && e.decision === "allowed"),
      "the tool call went through the gate",
    );

    const sessionId = events.find((e) => e.type === "turn_start").sessionId;
    const shown = await runCli(["sessions", "show", sessionId, "--json"], { home, cwd: ws });
    equal(shown.code, 0, shown.stderr);
    match(shown.stdout, /capsule:echo-llm/);
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
    await Deno.remove(ws, { recursive: true }).catch(() => {});
  }
});

Deno.test("a capsule provider that is not installed is a config error at start-up", async () => {
  const { home, ws } = await tempDirs();
  try {
    equal((await runCli(["init", ws], { home })).code, 0);
    await Deno.writeTextFile(join(home, "config.toml"), USER_CONFIG);
    const chat = await runCli(["chat", "-p", "hi"], { home, cwd: ws });
    equal(chat.code, 1, chat.stderr);
    match(chat.stderr, /capsule echo-llm is not installed/);
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
    await Deno.remove(ws, { recursive: true }).catch(() => {});
  }
});
