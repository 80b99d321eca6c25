import { equal, ok, throws } from "node:assert/strict";
import { startFakeAnthropic } from "./replay_anthropic.ts";
import { startFakeOpenAI } from "./replay_openai.ts";
import { createProvider, type ModelConfig } from "./create_provider.ts";
import { LlmError } from "./provider.ts";

const BASE: ModelConfig = {
  provider: "anthropic",
  model: "claude-sonnet-4-6",
  api_key: "sk-test",
  api_url: "",
  max_tokens: 256,
  temperature: 1,
};

const isAuth = (err: unknown) => err instanceof LlmError && err.code === "AUTH";

Deno.test("createProvider() builds each provider from its config", () => {
  const a = createProvider(BASE);
  equal(a.name, "anthropic");
  equal(a.model, "claude-sonnet-4-6");
  const o = createProvider({ ...BASE, provider: "openai", model: "gpt-4.1" });
  equal(o.name, "openai");
});

Deno.test("createProvider() explains how to set a missing key", () => {
  throws(() => createProvider({ ...BASE, api_key: "" }), (err: unknown) => {
    ok(isAuth(err));
    ok((err as Error).message.includes("ANTHROPIC_API_KEY"));
    return true;
  });
  throws(() => createProvider({ ...BASE, provider: "openai", api_key: "" }), isAuth);
});

Deno.test("createProvider() allows a keyless OpenAI-compatible local server", () => {
  equal(
    createProvider({
      ...BASE,
      provider: "openai",
      api_key: "",
      api_url: "http://127.0.0.1:11434/v1",
    }).name,
    "openai",
  );
});

Deno.test("createProvider() rejects malformed settings", () => {
  throws(() => createProvider({ ...BASE, model: " " }), TypeError);
  throws(() => createProvider({ ...BASE, max_tokens: 0 }), RangeError);
  throws(() => createProvider({ ...BASE, max_tokens: 1.5 }), RangeError);
  throws(() => createProvider({ ...BASE, temperature: -0.1 }), RangeError);
  throws(() => createProvider({ ...BASE, temperature: Number.NaN }), RangeError);
  throws(() => createProvider({ ...BASE, api_url: "not a url" }), TypeError);
  throws(() => createProvider({ ...BASE, api_url: "file:///etc/passwd" }), TypeError);
  throws(() => createProvider({ ...BASE, provider: "gemini" as "openai" }), TypeError);
});

Deno.test("createProvider() points the SDK at api_url and passes retry options through", async () => {
  const anthropic = startFakeAnthropic([{ error: { status: 503 } }, { text: "hi" }]);
  const openai = startFakeOpenAI([{ text: "hi" }]);
  try {
    const retry = { baseDelayMs: 1, maxDelayMs: 1 };
    const a = createProvider({ ...BASE, api_url: anthropic.url }, { retry });
    const o = createProvider({ ...BASE, provider: "openai", model: "m", api_url: openai.url }, {
      retry,
    });
    equal(
      (await Array.fromAsync(a.stream({ system: "", tools: [], messages: [] }))).at(-1)?.type,
      "done",
    );
    equal(
      (await Array.fromAsync(o.stream({ system: "", tools: [], messages: [] }))).at(-1)?.type,
      "done",
    );
    equal(anthropic.requests.length, 2);
    equal(openai.requests.length, 1);
  } finally {
    await anthropic.close();
    await openai.close();
  }
});
