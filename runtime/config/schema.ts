/**
 * The shape of `config.toml` and its built-in defaults.
 *
 * Every section is a strict zod object (unknown keys are errors). A later issue adds a section
 * by adding one entry to {@link CONFIG_SECTIONS} and its defaults to `DEFAULT_CONFIG` (defaults.ts)
 * (the compiler insists on both), plus, when it holds walls or limits, a line in `merge.ts`.
 *
 * @module
 */
import { z } from "zod";

const stringList = z.array(z.string());
const nonNegative = z.number().nonnegative();
const positiveInt = z.int().positive();

/**
 * One `[servers.NAME]` table: an MCP server the runtime may start. Only types are checked
 * here; runtime/mcp checks the name and that stdio has a `command` and http a `url`.
 */
const mcpServer = z.strictObject({
  transport: z.enum(["stdio", "http"]).default("stdio"),
  command: z.string().min(1).optional(),
  args: stringList.default([]),
  url: z.string().min(1).optional(),
  env: z.record(z.string(), z.string()).default({}),
  cwd: z.string().min(1).optional(),
  auto_start: z.boolean().default(false),
  restart_policy: z.enum(["never", "on_failure", "always"]).default("on_failure"),
  binary_hash: z.string().regex(/^blake3:[0-9a-f]{64}$/).optional(),
  /**
   * `"on"` (the default): the server runs inside the same wall as bash (runtime/sandbox).
   * `"off"` runs it as a plain child process; `servers list` shows it.
   */
  sandbox: z.enum(["on", "off"]).default("on"),
  /** The walled server may use the network (default: no network). */
  network: z.boolean().default(false),
  /** Paths the walled server may write (absolute, or `~/…`); everything else is read-only. */
  writable: stringList.default([]),
});

/**
 * One `[pricing."MODEL"]` table: USD per million tokens (see runtime/llm `ModelPrice`). Cache
 * rates default to the input rate when absent.
 */
const modelPrice = z.strictObject({
  input_per_mtok: nonNegative,
  output_per_mtok: nonNegative,
  cache_read_per_mtok: nonNegative.optional(),
  cache_write_per_mtok: nonNegative.optional(),
});

/**
 * One zod schema per `[section]`; keys are snake_case exactly as written in TOML.
 *
 * @example Validate one section on its own
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { CONFIG_SECTIONS } from "./schema.ts";
 * ok(CONFIG_SECTIONS.workspace.safeParse({ mode: "guided", escape_policy: "deny" }).success);
 * ok(!CONFIG_SECTIONS.workspace.safeParse({ mode: "yolo", escape_policy: "ask" }).success);
 * ```
 */
export const CONFIG_SECTIONS = {
  workspace: z.strictObject({
    mode: z.enum(["safe", "guided", "autonomous"]),
    escape_policy: z.enum(["ask", "deny"]),
  }),
  policy: z.strictObject({
    blocked_commands: stringList,
    denied_paths: stringList,
    denied_hosts: stringList,
    max_argument_bytes: positiveInt,
    blocked_tools: stringList,
    blocked_capsules: stringList,
  }),
  permissions: z.strictObject({ allow: stringList, ask: stringList, deny: stringList }),
  budget: z.strictObject({
    session_usd: nonNegative,
    per_action_usd: nonNegative,
    warn_at: z.number().gt(0).lte(1),
  }),
  approval: z.strictObject({ timeout_seconds: positiveInt, always_ttl_seconds: positiveInt }),
  audit: z.strictObject({
    checkpoint_every: positiveInt,
    checkpoint_seconds: z.number().positive(),
    /**
     * The append-only witness file every signed checkpoint is also written to (outside
     * `state.kv`). Empty: `$ASTRID_HOME/audit-witness.jsonl`.
     */
    witness_path: z.string(),
  }),
  storage: z.strictObject({ kv_url: z.string() }),
  model: z.strictObject({
    /**
     * `anthropic`, `openai`, or `capsule:<name>`: an installed capsule's `[[llm_provider]]`
     * answers (runtime/llm/capsule_provider.ts); `model` then picks among its models.
     */
    provider: z.union([
      z.enum(["anthropic", "openai", "ollama", "zai"]),
      z.templateLiteral(["capsule:", z.string().max(64).regex(/^[a-z0-9](?:[a-z0-9-]|_(?!_))*$/)]),
    ]),
    model: z.string().min(1),
    api_key: z.string(),
    api_url: z.string(),
    max_tokens: positiveInt,
    temperature: nonNegative,
    /**
     * `"auto"`: a local endpoint (a loopback or private address in `api_url`) costs $0, other
     * models are priced from `[pricing]` (an unknown model at `UNKNOWN_MODEL_PRICE`, with a
     * warning). `"free"`: every model costs $0. `"metered"`: always the table, even for a local
     * endpoint (a local proxy in front of a paid API).
     */
    pricing: z.enum(["auto", "free", "metered"]),
  }),
  tools: z.strictObject({
    sandbox: z.enum(["bwrap", "off"]),
    bash_timeout_seconds: positiveInt.max(600),
    output_limit_chars: positiveInt,
  }),
  /** The OS wall around every process the runtime starts (bash, MCP servers). */
  sandbox: z.strictObject({
    /** Extra paths hidden inside the wall (absolute, or `~/…`), besides the built-in list. */
    hide: stringList,
  }),
  /** What the runtime process itself may reach (Deno's permission flags, see runtime/cli/launch.ts). */
  runtime: z.strictObject({
    /** Extra hosts (`host` or `host:port`) the runtime may contact, e.g. an OAuth server. */
    allow_net: stringList,
  }),
  capsules: z.strictObject({
    require_hash: z.boolean(),
    memory_mb: positiveInt.max(64),
    timeout_seconds: positiveInt.max(30),
  }),
  /** `[servers.NAME]` tables, keyed by server name (a workspace may not add or change them). */
  servers: z.object({}).catchall(mcpServer),
  /**
   * `[pricing."MODEL"]` tables, laid over runtime/llm's `DEFAULT_PRICING` (a workspace may not
   * set prices: a zero price would switch the budget off).
   */
  pricing: z.object({}).catchall(modelPrice),
  /** The agent loop and its sub-agents (`task` tool); a workspace may only lower these. */
  agent: z.strictObject({
    max_rounds: positiveInt,
    task_budget_usd: nonNegative,
    max_concurrency: positiveInt,
    max_depth: positiveInt,
    task_timeout_seconds: positiveInt,
  }),
  /**
   * The daemon's web inbox: `notify_command` (argv, empty = none) runs when an approval waits
   * with no frontend attached; `link_ttl_seconds` is how long a one-time approval link lives.
   */
  daemon: z.strictObject({
    notify_command: stringList,
    link_ttl_seconds: positiveInt,
  }),
} as const;

/** The section names, in file order. */
export type ConfigSection = keyof typeof CONFIG_SECTIONS;

/**
 * The whole merged config: every section and every key present.
 *
 * @example Parse a full config
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { configSchema, DEFAULT_CONFIG } from "./schema.ts";
 * equal(configSchema.parse(DEFAULT_CONFIG).budget.session_usd, 5);
 * ```
 */
export const configSchema = z.strictObject(CONFIG_SECTIONS);

/** The merged, validated config every other module receives. */
export type AstridConfig = z.output<typeof configSchema>;

/** What one layer (a file or the environment) may hold: any subset of any section. */
export type ConfigLayerData = { [S in ConfigSection]?: Partial<AstridConfig[S]> };

export { DEFAULT_CONFIG, MODEL_PRESETS, type ModelPreset } from "./defaults.ts";

/**
 * A human description of what a key's schema accepts, e.g. `an integer`, `one of "a", "b"`.
 *
 * @example Describe a key
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { CONFIG_SECTIONS, describeExpected } from "./schema.ts";
 * equal(describeExpected(CONFIG_SECTIONS.budget.shape.session_usd), "a number");
 * equal(describeExpected(CONFIG_SECTIONS.workspace.shape.mode), 'one of "safe", "guided", "autonomous"');
 * ```
 */
export function describeExpected(schema: z.ZodType): string {
  const def = schema._zod.def;
  switch (def.type) {
    case "number":
      return (schema as z.ZodNumber).format?.includes("int") ? "an integer" : "a number";
    case "string":
      return "a string";
    case "boolean":
      return "a boolean";
    case "array":
      return "a list of strings";
    case "enum":
      return "one of " + (schema as z.ZodEnum).options.map((o) => JSON.stringify(o)).join(", ");
    case "object":
      return "a table";
    default:
      return def.type;
  }
}
