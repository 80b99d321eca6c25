/**
 * The OpenClaw section of `astrid demo`: an unmodified OpenClaw plugin (testdata/openclaw/forecast,
 * written for Node against OpenClaw's plugin SDK) is compiled into a capsule, installed and called
 * through the gate; arguments that break its TypeBox schema never reach it, and a plugin that
 * shells out is refused at compile time.
 *
 * @module
 */
import { join } from "node:path";
import type { AgentDemoContext, DemoRun } from "./_demo_agent.ts";

const FIXTURES = decodeURIComponent(
  new URL("../../../testdata/openclaw", import.meta.url).pathname,
);

/** Runs the section; `expect` throws when a step exits with another code. */
export async function openClawDemo(
  ctx: AgentDemoContext,
  expect: (run: DemoRun, code: number, what: string) => void,
): Promise<void> {
  const { home, note } = ctx;
  const out = join(home, "forecast-capsule");
  note("An OpenClaw tool plugin (definePluginEntry, TypeBox parameters, ./src/x.js imports):");
  expect(
    await ctx.astrid(["capsule", "compile", join(FIXTURES, "forecast"), "-o", out, "--no-check"]),
    0,
    "compile an OpenClaw plugin",
  );
  expect(
    await ctx.astrid(["capsule", "install", out, "--yes", "--env", "units=metric"]),
    0,
    "install it",
  );
  note("Its tool runs in its own wasm sandbox, behind the same gate as every other tool:");
  const args = (v: unknown) => ["--args", JSON.stringify(v)];
  expect(
    await ctx.astrid([
      "tools",
      "call",
      "forecast__forecast",
      ...args({ city: "Oslo", days: 2 }),
      "--approve",
      "once",
    ]),
    0,
    "call it",
  );
  note("Arguments that break its schema are refused before the plugin runs (exit 2):");
  expect(
    await ctx.astrid(["tools", "call", "forecast__forecast", ...args({ city: "Oslo" })]),
    2,
    "schema check",
  );
  note("A plugin that imports child_process is refused at compile time, by file and line:");
  expect(
    await ctx.astrid([
      "capsule",
      "compile",
      join(FIXTURES, "refuse", "child-process"),
      "-o",
      join(home, "refused"),
    ]),
    1,
    "refusal",
  );
}
