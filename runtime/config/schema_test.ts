import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { CONFIG_SECTIONS, configSchema, DEFAULT_CONFIG } from "./schema.ts";
import { isClassified } from "./merge.ts";

Deno.test("DEFAULT_CONFIG passes the full schema and holds the documented defaults", () => {
  deepEqual(configSchema.parse(DEFAULT_CONFIG), DEFAULT_CONFIG);
  equal(DEFAULT_CONFIG.workspace.escape_policy, "ask");
  deepEqual(DEFAULT_CONFIG.policy.denied_paths, [
    "/etc/**",
    "/boot/**",
    "/sys/**",
    "/proc/**",
    "/dev/**",
  ]);
  equal(DEFAULT_CONFIG.policy.max_argument_bytes, 1048576);
  equal(DEFAULT_CONFIG.model.model, "claude-sonnet-4-6");
  equal(DEFAULT_CONFIG.tools.output_limit_chars, 30000);
  equal(DEFAULT_CONFIG.capsules.require_hash, true);
});

Deno.test("DEFAULT_CONFIG is deeply frozen so no caller can mutate the walls", () => {
  throws(() => {
    (DEFAULT_CONFIG.policy.blocked_commands as string[]).push("x");
  }, TypeError);
  throws(() => {
    (DEFAULT_CONFIG.workspace as { mode: string }).mode = "autonomous";
  }, TypeError);
});

Deno.test("every config key has a workspace rule (fail closed for new sections)", () => {
  for (const [section, schema] of Object.entries(CONFIG_SECTIONS)) {
    for (const key of Object.keys(schema.shape)) {
      ok(isClassified(`${section}.${key}`), `${section}.${key} has no workspace rule`);
    }
  }
});

Deno.test("configSchema rejects out-of-range limits", () => {
  const bad = structuredClone(DEFAULT_CONFIG);
  bad.tools.bash_timeout_seconds = 601;
  ok(!configSchema.safeParse(bad).success);
  const bad2 = structuredClone(DEFAULT_CONFIG);
  bad2.capsules.memory_mb = 65;
  ok(!configSchema.safeParse(bad2).success);
  const bad3 = structuredClone(DEFAULT_CONFIG);
  bad3.budget.warn_at = 0;
  ok(!configSchema.safeParse(bad3).success);
});

Deno.test("configSchema checks [pricing] tables and [agent] limits", () => {
  const good = structuredClone(DEFAULT_CONFIG);
  good.pricing = { "llama3.2": { input_per_mtok: 0, output_per_mtok: 0, cache_read_per_mtok: 0 } };
  ok(configSchema.safeParse(good).success);
  for (
    const price of [
      { input_per_mtok: -1, output_per_mtok: 0 },
      { input_per_mtok: 1 },
      { input_per_mtok: 1, output_per_mtok: 1, per_request: 2 },
      { input_per_mtok: "1", output_per_mtok: 1 },
    ]
  ) {
    const bad = structuredClone(DEFAULT_CONFIG) as unknown as { pricing: unknown };
    bad.pricing = { m: price };
    ok(!configSchema.safeParse(bad).success, JSON.stringify(price));
  }
  for (const key of ["max_rounds", "max_concurrency", "max_depth", "task_timeout_seconds"]) {
    const bad = structuredClone(DEFAULT_CONFIG) as unknown as { agent: Record<string, unknown> };
    bad.agent[key] = 0;
    ok(!configSchema.safeParse(bad).success, key);
  }
});

Deno.test('a [pricing."MODEL"] table in TOML parses, and a bad price names its key', async () => {
  const { parseConfigText } = await import("./parse.ts");
  const data = parseConfigText(
    '[pricing."claude-sonnet-4-6"]\ninput_per_mtok = 2\noutput_per_mtok = 10\n' +
      "[agent]\nmax_rounds = 7\n",
    "/u/config.toml",
  );
  equal(data.pricing?.["claude-sonnet-4-6"]?.input_per_mtok, 2);
  equal(data.agent?.max_rounds, 7);
  throws(
    () => parseConfigText('[pricing."m"]\ninput_per_mtok = -1\noutput_per_mtok = 1\n', "/u/c.toml"),
    /pricing\.m\.input_per_mtok/,
  );
});
