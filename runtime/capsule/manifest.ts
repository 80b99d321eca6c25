/**
 * `Capsule.toml`: the capsule's manifest. {@link parseManifest} checks every section with one zod
 * schema; unknown keys and bad types are errors that name the key and its line.
 *
 * - `[capabilities] fs_read`/`fs_write` are paths inside the workspace, relative to its root:
 *   an absolute path is refused with the supported form (a capsule cannot reach it).
 * - `[[cron]] schedule` is five cron fields, a macro (`@daily`) or `@every <n>s|m|h`; `action`
 *   names the tool or cron handler it runs. The daemon schedules them.
 * - `[[interceptor]] event` accepts the seed's PascalCase names (`BeforeToolCall`) and is
 *   normalised to snake_case (`before_tool_call`); `priority` defaults to 0.
 * - `[[llm_provider]] capabilities` is a list of `text`, `vision`, `tools`, `streaming`,
 *   `thinking`.
 * - `[[command]]` has a `prompt` or a `path` (a prompt command), or neither when the capsule has
 *   a `[component]` (a wasm command: its `on_hook` handles `command:<name>`).
 *
 * @module
 */
import { parse as parseToml, TomlError } from "smol-toml";
import { z } from "zod";
import { CapsuleError } from "./errors.ts";
import { lineOf } from "./_toml_lines.ts";
import { CRON_FORMS, cronScheduleError } from "./_cron.ts";

// Letters, digits, `-` and single `_` (never `__`), so `<capsule>__<tool>` splits at the first `__`.
const CAPSULE_NAME = /^[a-z0-9](?:[a-z0-9-]|_(?!_))*$/;
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HASH = /^blake3:[0-9a-f]{64}$/;
// A host, `*.domain`, or either with `:port`; IPv6 in brackets.
const NET_HOST = /^(?:\*\.)?(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/;
// Skill names become tool names (`<capsule>__skill_<name>`): no dots, which model APIs refuse.
const SKILL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The `[[interceptor]] event` names, in snake_case. */
export const INTERCEPTOR_EVENTS = [
  "before_tool_call",
  "after_tool_call",
  "message_received",
  "message_sending",
  "session_start",
  "session_end",
  "gateway_start",
  "gateway_stop",
  "agent_end",
  "llm_input",
  "llm_output",
  "before_agent_reply",
] as const;

/** The `[[llm_provider]] capabilities` values. */
export const LLM_PROVIDER_CAPABILITIES = [
  "text",
  "vision",
  "tools",
  "streaming",
  "thinking",
] as const;

/** `BeforeToolCall` → `before_tool_call`; snake_case stays as it is. */
function snakeCase(name: string): string {
  return name.trim().replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

/** A path inside the capsule or the workspace: relative, no `..`, no NUL. */
const relativePath = z.string().min(1).refine(
  (p) => !p.startsWith("/") && !p.includes("\0") && !p.split(/[\\/]/).includes(".."),
  { message: "must be a relative path without '..'" },
);
const list = <T extends z.ZodType>(item: T) => z.array(item).default([]);

/** `[capabilities] fs_read`/`fs_write`: a path inside the workspace, relative to its root. */
const workspacePath = (key: "fs_read" | "fs_write") =>
  z.string().min(1).superRefine((p, ctx) => {
    const example = key === "fs_read" ? '["docs", "config/app.json"]' : '["out", "notes/log.md"]';
    if (p.startsWith("/") || p.startsWith("~") || /^[A-Za-z]:[\\/]/.test(p)) {
      ctx.addIssue({
        code: "custom",
        message: `must be a path inside the workspace, relative to its root (e.g. ${key} = ` +
          `${example}); absolute paths such as ${JSON.stringify(p)} are not reachable from a ` +
          "capsule",
      });
    } else if (p.includes("\0") || p.split(/[\\/]/).includes("..")) {
      ctx.addIssue({
        code: "custom",
        message: `must stay inside the workspace: current value ${JSON.stringify(p)} uses '..'`,
      });
    }
  });

const capsuleName = z.string().max(64).regex(CAPSULE_NAME, {
  message: "must be lower-case letters, digits, '-' or single '_'",
});
const toolName = z.string().regex(TOOL_NAME, { message: "must be 1-128 of A-Z a-z 0-9 _ . -" })
  .refine((n) => !n.includes(".."), { message: "must not contain '..'" });

const SCHEMA = z.strictObject({
  package: z.strictObject({
    name: capsuleName,
    version: z.string().min(1).max(64),
    description: z.string().max(2000).optional(),
    authors: list(z.string()),
    license: z.string().optional(),
    repository: z.string().optional(),
    homepage: z.string().optional(),
    keywords: list(z.string()),
  }),
  component: z.strictObject({
    entrypoint: relativePath.default("capsule.wasm"),
    hash: z.string().regex(HASH, { message: 'must be "blake3:" and 64 lower-case hex digits' })
      .optional(),
  }).optional(),
  capabilities: z.strictObject({
    net: list(z.string().toLowerCase().regex(NET_HOST, { message: "must be a host[:port]" })),
    fs_read: list(workspacePath("fs_read")),
    fs_write: list(workspacePath("fs_write")),
    kv: z.boolean().default(false),
    host_process: list(z.string().min(1)),
    /** May call the runtime's model through the `llm-complete` host function (gated, budgeted). */
    llm: z.boolean().default(false),
  }).default({ net: [], fs_read: [], fs_write: [], kv: false, host_process: [], llm: false }),
  env: z.record(
    z.string().regex(ENV_NAME, { message: "must be an identifier" }),
    z.strictObject({
      type: z.enum(["secret", "string"]).default("string"),
      request: z.string().optional(),
      default: z.string().optional(),
      required: z.boolean().default(false),
    }),
  ).default({}),
  tool: list(z.strictObject({
    name: toolName,
    description: z.string().default(""),
    input_schema: z.record(z.string(), z.unknown()).optional(),
  })),
  mcp_server: list(z.strictObject({
    id: capsuleName,
    type: z.literal("stdio"),
    command: z.string().min(1),
    args: list(z.string()),
  })),
  cron: list(z.strictObject({
    name: z.string().min(1).max(128),
    schedule: z.string().min(1).superRefine((v, ctx) => {
      const why = cronScheduleError(v);
      if (why) {
        ctx.addIssue({
          code: "custom",
          message: `must be a cron schedule: current value ${JSON.stringify(v)} is not one ` +
            `(${why}); use ${CRON_FORMS}`,
        });
      }
    }),
    /** The tool of this capsule, or the cron handler, the job runs. */
    action: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, {
      message: "must name a tool or cron handler (1-128 of A-Z a-z 0-9 _ . : -)",
    }).optional(),
    description: z.string().optional(),
  })),
  interceptor: list(z.strictObject({
    event: z.string().min(1).transform(snakeCase).pipe(z.enum(INTERCEPTOR_EVENTS, {
      error: (issue) =>
        `must be one of ${INTERCEPTOR_EVENTS.join(", ")} (PascalCase such as BeforeToolCall ` +
        `is accepted too): current value ${JSON.stringify(issue.input)} is not`,
    })),
    action: z.string().min(1).optional(),
    priority: z.int().default(0),
  })),
  llm_provider: list(z.strictObject({
    id: z.string().min(1),
    description: z.string().optional(),
    models: list(z.string()),
    capabilities: list(z.enum(LLM_PROVIDER_CAPABILITIES, {
      error: (issue) =>
        `must be one of ${LLM_PROVIDER_CAPABILITIES.join(", ")}: current value ` +
        `${JSON.stringify(issue.input)} is not`,
    })),
  })),
  skill: list(z.strictObject({
    name: z.string().regex(SKILL_NAME, { message: "must be 1-64 of A-Z a-z 0-9 _ -" }),
    path: relativePath,
    description: z.string().default(""),
  })),
  context_file: list(z.strictObject({
    name: z.string().min(1).optional(),
    path: relativePath,
  })),
  command: list(z.strictObject({
    name: toolName,
    description: z.string().default(""),
    path: relativePath.optional(),
    prompt: z.string().optional(),
  })),
}).superRefine((m, ctx) => {
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: "custom", path, message });
  unique(m.cron, "cron", issue);
  unique(m.skill, "skill", issue);
  unique(m.command, "command", issue);
  m.command.forEach((c, i) => {
    if (c.prompt !== undefined && c.path !== undefined) {
      issue(["command", i, "path"], "cannot be given with prompt: a command has one or the other");
    } else if (c.prompt === undefined && c.path === undefined && !m.component) {
      issue(
        ["command", i],
        `needs a prompt or a path (a prompt command), or a [component] whose on_hook handles ` +
          `"command:${c.name}" (a wasm command)`,
      );
    }
  });
});

/** Reports the second entry of `section` that reuses a name. */
function unique(
  entries: readonly { readonly name: string }[],
  section: string,
  issue: (path: (string | number)[], message: string) => void,
): void {
  const seen = new Set<string>();
  entries.forEach((e, i) => {
    if (seen.has(e.name)) {
      issue([section, i, "name"], `must be unique: ${JSON.stringify(e.name)} is used twice`);
    }
    seen.add(e.name);
  });
}

/**
 * A validated `Capsule.toml` (defaults applied).
 *
 * @example Read the name and capabilities
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { type CapsuleManifest, parseManifest } from "./manifest.ts";
 * const m: CapsuleManifest = parseManifest('[package]\nname = "hi"\nversion = "1.0.0"\n').manifest;
 * equal(m.package.name, "hi");
 * equal(m.capabilities.kv, false);
 * ```
 */
export type CapsuleManifest = z.output<typeof SCHEMA>;

/** What {@link parseManifest} returns. */
export interface ParsedManifest {
  readonly manifest: CapsuleManifest;
  /** One sentence per entry that parsed but will not act (an ungranted `[[mcp_server]]`). */
  readonly warnings: readonly string[];
}

/**
 * Parses and validates `Capsule.toml` text. `file` names the file in messages.
 *
 * @throws {CapsuleError} `MANIFEST`, naming the key and line
 *
 * @example An unknown key names itself and its line
 * ```ts
 * import { equal, throws } from "node:assert/strict";
 * import { parseManifest } from "./manifest.ts";
 * throws(
 *   () => parseManifest('[package]\nname = "hi"\nversion = "1"\nnmae = "x"\n'),
 *   (e: unknown) => (e as { key: string; line: number }).key === "package.nmae" &&
 *     (e as { line: number }).line === 4,
 * );
 * const { manifest } = parseManifest(
 *   '[package]\nname = "hi"\nversion = "1"\n[[interceptor]]\nevent = "BeforeToolCall"\n',
 * );
 * equal(manifest.interceptor[0]?.event, "before_tool_call");
 * ```
 */
export function parseManifest(text: string, file = "Capsule.toml"): ParsedManifest {
  if (typeof text !== "string") {
    throw new TypeError(`Cannot parse ${file}: current value is ${typeof text}, not text`);
  }
  let data: unknown;
  try {
    data = parseToml(text);
  } catch (e) {
    const line = e instanceof TomlError ? e.line : undefined;
    const why = (e as Error).message.split("\n")[0];
    throw new CapsuleError(
      "MANIFEST",
      `Cannot parse ${file}${line ? `:${line}` : ""}: ${why}`,
      { line },
    );
  }
  const parsed = SCHEMA.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = [...issue.path] as (string | number)[];
    let what = issue.message;
    if (issue.code === "unrecognized_keys") {
      path.push(issue.keys[0]!);
      what = "unknown key";
    }
    const key = dotted(path);
    const line = lineOf(text, path);
    throw new CapsuleError(
      "MANIFEST",
      `Cannot accept ${file}:${line}: key "${key}" ${what.replace(/^Invalid input: /, "")}`,
      { key, line },
    );
  }
  const manifest = parsed.data;
  const warnings: string[] = [];
  const granted = new Set(manifest.capabilities.host_process);
  for (const s of manifest.mcp_server) {
    if (!granted.has(s.command)) {
      warnings.push(
        `${file}: [[mcp_server]] "${s.id}" will not start: its command "${s.command}" is not ` +
          `in [capabilities] host_process`,
      );
    }
  }
  return { manifest, warnings };
}

function dotted(path: readonly (string | number)[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out ? `.${p}` : p;
  }
  return out || "(root)";
}

/**
 * Reads and parses `<dir>/Capsule.toml`.
 *
 * @throws {CapsuleError} `NOT_FOUND` when the file is missing, `MANIFEST` when it is invalid
 *
 * @example Read a manifest from a folder
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { readManifest } from "./manifest.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/Capsule.toml`, '[package]\nname = "hi"\nversion = "1"\n');
 * equal((await readManifest(dir)).manifest.package.name, "hi");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readManifest(dir: string): Promise<ParsedManifest> {
  const path = `${dir.replace(/\/+$/, "")}/Capsule.toml`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new CapsuleError("NOT_FOUND", `Cannot read ${path}: no such file`);
    }
    throw e;
  }
  return parseManifest(text, path);
}
