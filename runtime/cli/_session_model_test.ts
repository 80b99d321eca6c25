import { equal, fail, match, ok, rejects } from "node:assert/strict";
import { world } from "../agent/_testing.ts";
import { createProvider, DEFAULT_PRICING } from "../llm/mod.ts";
import type { CliIo } from "./context.ts";
import { Repl } from "./repl.ts";
import { SessionModel } from "./_session_model.ts";

const BASE_IO: CliIo = { env: {}, cwd: "/", isTty: true, stdout() {}, stderr() {} };

Deno.test("/model lists the models, switches the session to a priced one (audited, priced at its rate), and refuses an unpriced one", async () => {
  const million = { inputTokens: 1_000_000, outputTokens: 0 };
  const w = await world([{ text: "on sonnet", usage: million }, {
    text: "on haiku",
    usage: million,
  }]);
  try {
    const make = (model: string) =>
      createProvider({
        ...w.config.model,
        provider: "anthropic",
        model,
        api_key: "sk-test",
        api_url: w.fake.url,
      }, { retry: { maxAttempts: 1 } });
    const model = new SessionModel({
      initial: w.provider,
      make,
      pricing: DEFAULT_PRICING,
      configured: "claude-sonnet-4-6",
    });
    let screen = "";
    let keyboard!: ReadableStreamDefaultController<Uint8Array>;
    const input = new ReadableStream<Uint8Array>({ start: (c) => void (keyboard = c) });
    const repl = new Repl({
      terminal: { input, write: (s) => (screen += s), colour: false, columns: 100 },
      historyFile: null,
    });
    const opened = await w.open({
      provider: model,
      pricing: model.pricing,
      frontend: repl.frontend(BASE_IO),
      onEvent: (e) => repl.onEvent(e),
    });
    const running = repl.run({
      opened,
      audit: w.audit,
      model: { ...w.config.model, provider: "anthropic", model: "claude-sonnet-4-6" },
      models: { model, audit: w.audit },
    });
    const enc = new TextEncoder();
    let mark = 0;
    const waitFor = async (pattern: RegExp) => {
      for (let i = 0; i < 1000; i++) {
        const found = pattern.exec(screen.slice(mark));
        if (found) return void (mark += found.index + found[0].length);
        await new Promise((r) => setTimeout(r, 10));
      }
      fail(`the screen never showed ${pattern}:\n${screen.slice(mark)}`);
    };
    const press = (text: string) => keyboard.enqueue(enc.encode(text));

    press("/model\r");
    await waitFor(/model\s+claude-sonnet-4-6 \(from config\)/);
    await waitFor(/● claude-sonnet-4-6 +\$3\.00 \/ \$15\.00/);
    press("hi\r");
    await waitFor(/\$3\.00 · 1 model call/);

    press("/model no-such-model\r");
    await waitFor(/error: Cannot price model "no-such-model"/);
    equal(model.model, "claude-sonnet-4-6");

    press("/model claude-haiku-4-5\r");
    await waitFor(/model\s+now claude-haiku-4-5 \(\$1\.00 in, \$5\.00 out per Mtok\)/);
    press("/model\r");
    await waitFor(/model\s+claude-haiku-4-5 \(config: claude-sonnet-4-6\)/);
    press("again\r");
    // The same usage now costs Haiku's rate, and the request named the new model.
    await waitFor(/\$1\.00 · 1 model call/);
    press("\x04");
    await running;
    equal((w.fake.requests[0] as { model: string }).model, "claude-sonnet-4-6");
    equal((w.fake.requests[1] as { model: string }).model, "claude-haiku-4-5");
    const switches = (await w.audit.list({ sessionId: opened.session.id }))
      .filter((e) => e.action.kind === "model_switch");
    equal(switches.length, 1, "one audited switch; the refused one left no entry");
    equal(switches[0]!.decision, "event");
    match(switches[0]!.action.summary, /from claude-sonnet-4-6 to claude-haiku-4-5/);
    ok(opened.gate.budget.state().spentUsd >= 4 - 1e-9);
  } finally {
    await w.close();
  }
});

Deno.test("SessionModel.switchTo() keeps the model when the audit write fails, and refuses malformed names", async () => {
  const fake = (model: string) => ({
    name: "fake",
    model,
    stream: () => (async function* () {})(),
  });
  const m = new SessionModel({
    initial: fake("claude-sonnet-4-6"),
    make: fake,
    pricing: DEFAULT_PRICING,
    configured: "claude-sonnet-4-6",
  });
  const broken = { append: () => Promise.reject(new Error("disk full")) };
  await rejects(m.switchTo("claude-haiku-4-5", { audit: broken, sessionId: "s" }), /disk full/);
  equal(m.model, "claude-sonnet-4-6");
  const audit = { append: () => Promise.resolve({} as never) };
  await rejects(m.switchTo("gpt-5\x1b[2J", { audit, sessionId: "s" }), RangeError);
  await rejects(m.switchTo("  ", { audit, sessionId: "s" }), RangeError);
  equal(m.model, "claude-sonnet-4-6");
  ok(m.priced().some((p) => p.model === "claude-sonnet-4-6" && p.current));
});
