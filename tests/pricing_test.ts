import { equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDirs } from "./cli.ts";
import { startFakeOpenAI } from "../runtime/llm/replay_openai.ts";
import { costOf, pricingFromConfig, pricingNotice } from "../runtime/llm/pricing.ts";
import { createProvider } from "../runtime/llm/create_provider.ts";
import { DEFAULT_CONFIG, loadConfig, resolvePaths } from "../runtime/config/mod.ts";
import type { AstridConfig } from "../runtime/config/mod.ts";

async function cleanup(...dirs: string[]): Promise<void> {
  for (const d of dirs) await Deno.remove(d, { recursive: true });
}

/** Runs `chat -p hi --json` against `url` and returns the turn's cost and stderr. */
async function chatTurn(url: string, env: Record<string, string>) {
  const { home, ws } = await tempDirs();
  try {
    equal((await runCli(["init", ws], { home })).code, 0);
    const r = await runCli(["chat", "-p", "hi", "--json"], {
      home,
      cwd: ws,
      env: {
        ASTRID_MODEL_PROVIDER: "openai",
        ASTRID_MODEL_API_URL: url,
        ASTRID_MODEL_MAX_TOKENS: "1024",
        ...env,
      },
    });
    equal(r.code, 0, r.stderr);
    const end = r.stdout.trim().split("\n").map((l) => JSON.parse(l)).at(-1);
    equal(end.type, "turn_end");
    return { cost: end.result.costUsd as number, stderr: r.stderr };
  } finally {
    await cleanup(home, ws);
  }
}

Deno.test("chat with a local model (llama3 on 127.0.0.1) costs $0 on the first turn, with a notice", async () => {
  const fake = startFakeOpenAI([{ text: "hi", usage: { inputTokens: 1000, outputTokens: 500 } }]);
  try {
    const { cost, stderr } = await chatTurn(fake.url, { ASTRID_MODEL_MODEL: "llama3" });
    equal(cost, 0);
    match(stderr, /notice: model "llama3" at the local endpoint .* is priced at \$0/);
    equal(stderr.match(/notice:/g)?.length, 1, "one notice per session");
  } finally {
    await fake.close();
  }
});

Deno.test("chat with an unknown metered model is budgeted at the default price with a warning", async () => {
  const fake = startFakeOpenAI([{ text: "hi", usage: { inputTokens: 1000, outputTokens: 500 } }]);
  try {
    // `pricing = "metered"` treats the loopback server as a paid API (a local proxy).
    const { cost, stderr } = await chatTurn(fake.url, {
      ASTRID_MODEL_MODEL: "mystery-model",
      ASTRID_MODEL_PRICING: "metered",
    });
    ok(Math.abs(cost - (1000 * 5 + 500 * 25) / 1e6) < 1e-9, `cost ${cost}`);
    match(stderr, /warning: model "mystery-model" has no price: budgeting it at the default/);
  } finally {
    await fake.close();
  }
});

function withModel(model: Partial<AstridConfig["model"]>): AstridConfig {
  return { ...DEFAULT_CONFIG, model: { ...DEFAULT_CONFIG.model, ...model } };
}

Deno.test("pricingFromConfig() never fails: remote unknown gets the default, free is $0, known local models keep their price", () => {
  const usage = { inputTokens: 1_000_000, outputTokens: 1_000_000 };
  const remote = withModel({
    provider: "openai",
    model: "nova",
    api_url: "https://llm.example/v1",
  });
  equal(costOf(usage, "nova", pricingFromConfig(remote)), 30);
  equal(pricingNotice(remote)?.level, "warning");
  const free = withModel({ model: "claude-sonnet-4-6", pricing: "free" });
  equal(costOf(usage, "claude-sonnet-4-6", pricingFromConfig(free)), 0);
  match(pricingNotice(free)?.message ?? "", /pricing = "free"/);
  // A local proxy forwarding a known paid model keeps its price.
  const proxy = withModel({ model: "claude-sonnet-4-6", api_url: "http://127.0.0.1:4000" });
  equal(costOf(usage, "claude-sonnet-4-6", pricingFromConfig(proxy)), 18);
  equal(pricingNotice(proxy), null);
  // A configured [pricing.default] wins over the built-in default.
  const own = { ...remote, pricing: { default: { input_per_mtok: 1, output_per_mtok: 1 } } };
  equal(costOf(usage, "nova", pricingFromConfig(own)), 2);
  equal(pricingNotice(own), null);
});

async function load(env: Record<string, string>, userToml = "") {
  const home = await Deno.makeTempDir({ prefix: "astrid-home-" });
  try {
    if (userToml) await Deno.writeTextFile(join(home, "config.toml"), userToml);
    const paths = await resolvePaths({
      env: { ASTRID_HOME: home },
      cwd: home,
      systemConfig: join(home, "none.toml"),
    });
    return await loadConfig(paths, { ASTRID_HOME: home, ...env });
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("presets: ollama is $0 at 127.0.0.1:11434; zai is OpenAI-compatible at api.z.ai with GLM prices", async () => {
  const ollama = (await load({}, '[model]\nprovider = "ollama"\nmodel = "llama3"\n')).config;
  equal(ollama.model.provider, "openai");
  equal(ollama.model.api_url, "http://127.0.0.1:11434/v1");
  equal(costOf({ inputTokens: 9, outputTokens: 9 }, "llama3", pricingFromConfig(ollama)), 0);
  const zai = await load({ ZAI_API_KEY: "zk" }, '[model]\nprovider = "zai"\nmodel = "glm-4.6"\n');
  equal(zai.config.model.api_url, "https://api.z.ai/api/paas/v4");
  equal(zai.config.model.api_key, "zk");
  const usage = { inputTokens: 1_000_000, outputTokens: 1_000_000 };
  ok(Math.abs(costOf(usage, "glm-4.6", pricingFromConfig(zai.config)) - 2.8) < 1e-9);
  equal(pricingNotice(zai.config), null);
  const keyless = await load({}, '[model]\nprovider = "zai"\nmodel = "glm-4.6"\n');
  match(keyless.warnings.join("\n"), /ZAI_API_KEY/);
  // createProvider() takes the preset names directly as well.
  const cfg = { model: "glm-4.6", api_key: "", api_url: "", max_tokens: 1, temperature: 0 };
  try {
    createProvider({ ...cfg, provider: "zai" });
    ok(false, "a zai provider without a key is refused");
  } catch (err) {
    match((err as Error).message, /ZAI_API_KEY/);
  }
  equal(createProvider({ ...cfg, provider: "ollama", model: "llama3" }).name, "openai");
});

Deno.test("ASTRID_MODEL_PROVIDER switching provider drops the files' api_url and key", async () => {
  const toml =
    '[model]\nprovider = "openai"\nmodel = "llama3"\napi_url = "http://127.0.0.1:11434/v1"\napi_key = "local"\n';
  const { config } = await load(
    { ASTRID_MODEL_PROVIDER: "anthropic", ANTHROPIC_API_KEY: "sk" },
    toml,
  );
  equal(config.model.provider, "anthropic");
  equal(config.model.api_url, "");
  equal(config.model.api_key, "sk");
  const kept = (await load({ ASTRID_MODEL_PROVIDER: "openai" }, toml)).config;
  equal(kept.model.api_url, "http://127.0.0.1:11434/v1");
});

Deno.test("an ASTRID_PRICING_* variable is refused with the keys a [pricing] table takes", async () => {
  const { home } = await tempDirs();
  try {
    const r = await runCli(["config", "show"], { home, env: { ASTRID_PRICING_LLAMA3: "0" } });
    ok(r.code !== 0);
    match(r.stderr, /ASTRID_PRICING_LLAMA3/);
    match(r.stderr, /input_per_mtok, output_per_mtok, cache_read_per_mtok, cache_write_per_mtok/);
    match(r.stderr, /ASTRID_MODEL_PRICING=free/);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("a failed model call names the URL that was called", async () => {
  const fake = startFakeOpenAI([]);
  const url = fake.url;
  await fake.close();
  const provider = createProvider(
    {
      provider: "openai",
      model: "llama3",
      api_key: "",
      api_url: url,
      max_tokens: 16,
      temperature: 0,
    },
    { retry: { maxAttempts: 1 } },
  );
  let message = "";
  for await (
    const ev of provider.stream({
      system: "",
      tools: [],
      messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
    })
  ) {
    if (ev.type === "error") message = ev.error.message;
  }
  ok(message.includes(`${url}/chat/completions`), message);
});
