import { deepEqual, equal, ok } from "node:assert/strict";
import { compileCapsule } from "../../../toolchain/compile.ts";
import { loadCapsule } from "../loader.ts";
import { CapsuleInstance } from "../engines/wasm.ts";
import { capsuleConfig } from "../env_store.ts";
import { testGate } from "../_testing.ts";
import type { HostEnv } from "./context.ts";
import { MAX_LLM_REQUEST_CHARS } from "./llm.ts";
import { startFakeAnthropic } from "../../llm/replay_anthropic.ts";
import { createProvider } from "../../llm/create_provider.ts";
import { providerCompleter } from "../../llm/complete.ts";
import { DEFAULT_PRICING } from "../../llm/pricing.ts";
import { SessionBudget } from "../../security/budget.ts";
import { DEFAULT_CONFIG } from "../../config/mod.ts";

// The capsule calls the raw host functions, so the test does not depend on the prelude's wrappers.
const SOURCE = `
import { defineCapsule } from "@astrid/sdk";
const call = (name, arg) => JSON.parse(globalThis.__astrid_host[name](JSON.stringify(arg)));
export default defineCapsule({
  tools: {
    ask: { description: "Asks the model", run: (a) => call("llm-complete", a) },
    emit: { description: "Emits a chunk", run: (a) => call("llm-emit", a) },
  },
});
`;

let built: Promise<string> | undefined;
function build(): Promise<string> {
  built ??= (async () => {
    const src = await Deno.makeTempDir({ prefix: "astrid-llm-src-" });
    await Deno.writeTextFile(
      `${src}/Capsule.toml`,
      '[package]\nname = "asker"\nversion = "0.1.0"\n',
    );
    await Deno.writeTextFile(`${src}/mod.ts`, SOURCE);
    const out = await Deno.makeTempDir({ prefix: "astrid-llm-" });
    await compileCapsule(src, { out, typeCheck: false });
    await Deno.remove(src, { recursive: true });
    return out;
  })();
  return built;
}

/** A copy of the compiled capsule whose manifest asks for `llm` when `llm` is true. */
async function capsuleDir(llm: boolean): Promise<string> {
  const out = await build();
  const dir = await Deno.makeTempDir({ prefix: "astrid-asker-" });
  await Deno.copyFile(`${out}/capsule.wasm`, `${dir}/capsule.wasm`);
  const toml = await Deno.readTextFile(`${out}/Capsule.toml`);
  await Deno.writeTextFile(
    `${dir}/Capsule.toml`,
    llm ? `${toml}\n[capabilities]\nllm = true\n` : toml,
  );
  return dir;
}

const BUDGET = {
  sessionUsd: DEFAULT_CONFIG.budget.session_usd,
  perActionUsd: DEFAULT_CONFIG.budget.per_action_usd,
  warnAt: DEFAULT_CONFIG.budget.warn_at,
};

interface Setup extends AsyncDisposable {
  readonly instance: CapsuleInstance;
  readonly gate: Awaited<ReturnType<typeof testGate>>;
  readonly requests: unknown[];
  spent(): Promise<number>;
}

async function setup(
  opts: { llm: boolean; provider: boolean; sessionUsd?: number },
): Promise<Setup> {
  const fake = startFakeAnthropic([
    { text: "Paris is the capital.", usage: { inputTokens: 1000, outputTokens: 200 } },
  ]);
  const gate = await testGate({
    frontend: null,
    config: {
      permissions: { ...DEFAULT_CONFIG.permissions, allow: ["capsule://asker/**"] },
      ...(opts.sessionUsd === undefined
        ? {}
        : { budget: { ...DEFAULT_CONFIG.budget, session_usd: opts.sessionUsd } }),
    },
  });
  const dir = await capsuleDir(opts.llm);
  const loaded = await loadCapsule(dir, { requireHash: true });
  const provider = createProvider({
    provider: "anthropic",
    model: "claude-sonnet-4-6",
    api_key: "sk-test",
    api_url: fake.url,
    max_tokens: 1024,
    temperature: 1,
  }, { retry: { maxAttempts: 1 } });
  const { values, secretKeys } = capsuleConfig(loaded.manifest, {});
  const env: HostEnv = {
    capsule: "asker",
    manifest: loaded.manifest,
    workspaceRoot: gate.root,
    interceptor: gate.interceptor,
    store: gate.store,
    config: values,
    secretKeys,
    ...(opts.provider ? { llm: providerCompleter(provider, DEFAULT_PRICING) } : {}),
  };
  const instance = await CapsuleInstance.create(loaded, env, { timeoutMs: 30_000, memoryMb: 64 });
  return {
    instance,
    gate,
    requests: fake.requests,
    spent: async () => {
      const limits = { ...BUDGET, ...(opts.sessionUsd ? { sessionUsd: opts.sessionUsd } : {}) };
      return (await SessionBudget.load(gate.store, "s-test", limits)).state().spentUsd;
    },
    async [Symbol.asyncDispose]() {
      await instance.close();
      await fake.close();
      await gate[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const ASK = {
  systemPrompt: "Answer in one sentence.",
  messages: [{ role: "user", content: "What is the capital of France?" }],
  maxTokens: 500,
  purpose: "geography check",
};

Deno.test("llm-complete answers through the gate, audits the call and charges the budget", async () => {
  await using s = await setup({ llm: true, provider: true });
  const reply = await s.instance.callTool("ask", ASK) as {
    ok: { text: string; model: string; provider: string; usage: { costUsd: number } };
  };
  equal(reply.ok.text, "Paris is the capital.");
  equal(reply.ok.provider, "anthropic");
  equal(reply.ok.model, "claude-sonnet-4-6");
  const cost = (1000 * 3 + 200 * 15) / 1e6;
  ok(Math.abs(reply.ok.usage.costUsd - cost) < 1e-12);
  ok(Math.abs(await s.spent() - cost) < 1e-9);
  const sent = s.requests[0] as { system?: unknown; max_tokens: number; tools?: unknown[] };
  equal(sent.max_tokens, 500);
  ok(JSON.stringify(sent.system).includes("Answer in one sentence."));
  const entries = await s.gate.audit.list();
  const mine = entries.filter((e) => JSON.stringify(e).includes("capsule://asker/llm_complete"));
  deepEqual(mine.map((e) => e.decision), ["allowed", "outcome"]);
  ok(JSON.stringify(mine[1]).includes('"outputTokens":200'));
});

Deno.test("llm-complete is refused and audited when the capsule does not request llm", async () => {
  await using s = await setup({ llm: false, provider: true });
  const reply = await s.instance.callTool("ask", ASK) as { error: { code: string } };
  equal(reply.error.code, "CAPABILITY");
  equal(s.requests.length, 0);
  const denied = (await s.gate.audit.list()).filter((e) => e.decision === "denied");
  ok(denied.some((e) => JSON.stringify(e).includes("llm-complete")));
  equal(await s.spent(), 0);
});

Deno.test("llm-complete is refused when the budget cannot cover the estimate", async () => {
  // 4096 output tokens at $15/MTok is about $0.06: more than a $0.01 session allows.
  await using s = await setup({ llm: true, provider: true, sessionUsd: 0.01 });
  const reply = await s.instance.callTool("ask", { ...ASK, maxTokens: 4096 }) as {
    error: { code: string };
  };
  equal(reply.error.code, "BUDGET_EXCEEDED");
  equal(s.requests.length, 0);
  equal(await s.spent(), 0);
  const limits = { ...BUDGET, sessionUsd: 0.01 };
  equal((await SessionBudget.load(s.gate.store, "s-test", limits)).state().reservedUsd, 0);
  const denied = (await s.gate.audit.list()).filter((e) => e.decision === "denied");
  ok(denied.some((e) => JSON.stringify(e).includes("capsule://asker/llm_complete")));
});

Deno.test("llm-complete fails with NO_PROVIDER when the runtime has no model for capsules", async () => {
  await using s = await setup({ llm: true, provider: false });
  const reply = await s.instance.callTool("ask", ASK) as { error: { code: string } };
  equal(reply.error.code, "NO_PROVIDER");
});

Deno.test("llm-complete refuses an oversized request before any gate or model", async () => {
  await using s = await setup({ llm: true, provider: true });
  const big = { messages: [{ role: "user", content: "x".repeat(MAX_LLM_REQUEST_CHARS + 1) }] };
  const reply = await s.instance.callTool("ask", big) as { error: { code: string } };
  equal(reply.error.code, "TOO_LARGE");
  equal(s.requests.length, 0);
  equal(await s.spent(), 0);
});

Deno.test("llm-emit fails with NOT_STREAMING outside an [[llm_provider]] call", async () => {
  await using s = await setup({ llm: true, provider: true });
  const reply = await s.instance.callTool("emit", { type: "text", text: "hi" }) as {
    error: { code: string };
  };
  equal(reply.error.code, "NOT_STREAMING");
});
