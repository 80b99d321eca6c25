import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { ConfigError } from "./errors.ts";
import { mergeLayer } from "./merge.ts";
import { DEFAULT_CONFIG } from "./schema.ts";

const WS = "/ws/.astrid/config.toml";

Deno.test("mergeLayer() lets system, user and env replace scalars and allow", () => {
  for (const layer of ["system", "user", "env"] as const) {
    const { config, warnings } = mergeLayer(
      DEFAULT_CONFIG,
      {
        workspace: { mode: "autonomous" },
        budget: { session_usd: 50 },
        permissions: { allow: ["exec://git status"] },
        model: { api_key: "k" },
      },
      layer,
      "/f",
    );
    equal(config.workspace.mode, "autonomous");
    equal(config.budget.session_usd, 50);
    deepEqual(config.permissions.allow, ["exec://git status"]);
    equal(config.model.api_key, "k");
    deepEqual(warnings, []);
  }
  const second = mergeLayer(
    mergeLayer(DEFAULT_CONFIG, { permissions: { allow: ["a"] } }, "system", "/s").config,
    { permissions: { allow: ["b"] } },
    "user",
    "/u",
  ).config;
  deepEqual(second.permissions.allow, ["b"]);
});

Deno.test("mergeLayer() unions deny lists on every layer: a default wall cannot be removed", () => {
  for (const layer of ["system", "user", "env", "workspace"] as const) {
    const { config } = mergeLayer(
      DEFAULT_CONFIG,
      {
        policy: { blocked_commands: [], denied_paths: ["/srv/**"], denied_hosts: ["evil.example"] },
        permissions: { deny: ["net://*:25"], ask: ["exec://git push*"] },
      },
      layer,
      "/f",
    );
    deepEqual(config.policy.blocked_commands, DEFAULT_CONFIG.policy.blocked_commands);
    deepEqual(config.policy.denied_paths, [...DEFAULT_CONFIG.policy.denied_paths, "/srv/**"]);
    deepEqual(config.policy.denied_hosts, ["evil.example"]);
    deepEqual(config.permissions.deny, ["net://*:25"]);
    deepEqual(config.permissions.ask, ["exec://git push*"]);
  }
  const twice = mergeLayer(
    mergeLayer(DEFAULT_CONFIG, { permissions: { deny: ["a", "b"] } }, "system", "/s").config,
    { permissions: { deny: ["b", "c"] } },
    "user",
    "/u",
  ).config;
  deepEqual(twice.permissions.deny, ["a", "b", "c"]);
});

Deno.test("mergeLayer() does not modify its input", () => {
  const base = structuredClone(DEFAULT_CONFIG);
  mergeLayer(base, { policy: { denied_hosts: ["x"] }, budget: { session_usd: 1 } }, "user", "/u");
  deepEqual(base, structuredClone(DEFAULT_CONFIG));
});

Deno.test("mergeLayer() errors when a workspace sets allow, credentials, provider or storage", () => {
  const cases = [
    { permissions: { allow: ["file:///**"] } },
    { model: { api_key: "sk-evil" } },
    { model: { api_url: "https://evil.example" } },
    { model: { provider: "openai" as const } },
    { storage: { kv_url: "https://evil.example/kv" } },
  ];
  for (const data of cases) {
    const section = Object.keys(data)[0]!;
    const key = Object.keys(Object.values(data)[0]!)[0]!;
    throws(() => mergeLayer(DEFAULT_CONFIG, data, "workspace", WS), (err: unknown) => {
      ok(err instanceof ConfigError);
      equal(err.file, WS);
      equal(err.key, `${section}.${key}`);
      ok(
        err.message.includes(WS) && err.message.includes("may not be set by a workspace"),
        err.message,
      );
      return true;
    });
  }
  // Even an empty allow list (a would-be no-op) is refused.
  throws(
    () => mergeLayer(DEFAULT_CONFIG, { permissions: { allow: [] } }, "workspace", WS),
    ConfigError,
  );
});

Deno.test("mergeLayer() ignores and reports a workspace loosening ordered settings", () => {
  const strict = mergeLayer(
    DEFAULT_CONFIG,
    { workspace: { mode: "safe", escape_policy: "deny" } },
    "user",
    "/u",
  ).config;
  const { config, warnings } = mergeLayer(
    strict,
    {
      workspace: { mode: "autonomous", escape_policy: "ask" },
      capsules: { require_hash: false },
      tools: { sandbox: "off" },
    },
    "workspace",
    WS,
  );
  equal(config.workspace.mode, "safe");
  equal(config.workspace.escape_policy, "deny");
  equal(config.capsules.require_hash, true);
  equal(config.tools.sandbox, "bwrap");
  equal(warnings.length, 4);
  ok(warnings.every((w) => w.startsWith(WS) && w.includes("ignored")));
  ok(warnings[0]!.includes('"workspace.mode" = "autonomous"'));
});

Deno.test("mergeLayer() applies a workspace tightening ordered settings", () => {
  const loose = mergeLayer(
    DEFAULT_CONFIG,
    {
      workspace: { mode: "autonomous" },
      capsules: { require_hash: false },
      tools: { sandbox: "off" },
    },
    "user",
    "/u",
  ).config;
  const { config, warnings } = mergeLayer(
    loose,
    {
      workspace: { mode: "guided", escape_policy: "deny" },
      capsules: { require_hash: true },
      tools: { sandbox: "bwrap" },
    },
    "workspace",
    WS,
  );
  equal(config.workspace.mode, "guided");
  equal(config.workspace.escape_policy, "deny");
  equal(config.capsules.require_hash, true);
  equal(config.tools.sandbox, "bwrap");
  deepEqual(warnings, []);
});

Deno.test("mergeLayer() clamps workspace limits to the lower value", () => {
  const { config, warnings } = mergeLayer(
    DEFAULT_CONFIG,
    {
      budget: { session_usd: 1000, per_action_usd: 0.25, warn_at: 1 },
      policy: { max_argument_bytes: 10_000_000 },
      approval: { always_ttl_seconds: 60 },
      tools: { bash_timeout_seconds: 600, output_limit_chars: 100 },
      capsules: { memory_mb: 16, timeout_seconds: 30 },
      model: { max_tokens: 100_000 },
      audit: { checkpoint_every: 100_000, checkpoint_seconds: 1 },
    },
    "workspace",
    WS,
  );
  equal(config.budget.session_usd, 5);
  equal(config.budget.per_action_usd, 0.25);
  equal(config.budget.warn_at, 0.8);
  equal(config.policy.max_argument_bytes, 1048576);
  equal(config.approval.always_ttl_seconds, 60);
  equal(config.tools.bash_timeout_seconds, 120);
  equal(config.tools.output_limit_chars, 100);
  equal(config.capsules.memory_mb, 16);
  equal(config.capsules.timeout_seconds, 30);
  equal(config.model.max_tokens, 8192);
  equal(config.audit.checkpoint_every, 256);
  equal(config.audit.checkpoint_seconds, 1);
  equal(warnings.length, 6);
  ok(warnings.some((w) => w.includes('"budget.session_usd" = 1000') && w.includes("kept 5")));
});

Deno.test("mergeLayer() lets a workspace set its free keys", () => {
  const { config } = mergeLayer(
    DEFAULT_CONFIG,
    { model: { model: "claude-haiku", temperature: 0.2 }, approval: { timeout_seconds: 30 } },
    "workspace",
    WS,
  );
  equal(config.model.model, "claude-haiku");
  equal(config.model.temperature, 0.2);
  equal(config.approval.timeout_seconds, 30);
});

Deno.test("mergeLayer() lays [pricing] tables from user layers and refuses them in a workspace", () => {
  const price = { input_per_mtok: 0, output_per_mtok: 0 };
  const user = mergeLayer(DEFAULT_CONFIG, { pricing: { "llama3.2": price } }, "user", "/u").config;
  deepEqual(user.pricing, { "llama3.2": price });
  const env = mergeLayer(
    user,
    { pricing: { "gpt-5": { input_per_mtok: 1, output_per_mtok: 2 } } },
    "env",
    "/e",
  ).config;
  deepEqual(Object.keys(env.pricing).sort(), ["gpt-5", "llama3.2"]);
  // A zero price from a workspace would switch the budget off: refused outright.
  throws(
    () => mergeLayer(DEFAULT_CONFIG, { pricing: { "claude-sonnet-4-6": price } }, "workspace", WS),
    (err: unknown) => err instanceof ConfigError && /pricing\.claude-sonnet-4-6/.test(err.message),
  );
});

Deno.test("mergeLayer() lets a workspace only lower the [agent] limits", () => {
  const { config, warnings } = mergeLayer(
    DEFAULT_CONFIG,
    {
      agent: {
        max_rounds: 5,
        task_budget_usd: 9,
        max_concurrency: 50,
        max_depth: 1,
        task_timeout_seconds: 60,
      },
    },
    "workspace",
    WS,
  );
  equal(config.agent.max_rounds, 5);
  equal(config.agent.max_depth, 1);
  equal(config.agent.task_timeout_seconds, 60);
  equal(config.agent.task_budget_usd, 1);
  equal(config.agent.max_concurrency, 5);
  equal(warnings.length, 2);
  ok(warnings.every((w) => /may only lower/.test(w)));
  const user = mergeLayer(DEFAULT_CONFIG, { agent: { max_rounds: 100 } }, "user", "/u").config;
  equal(user.agent.max_rounds, 100);
});
