/**
 * `Capsule.toml`: the capsule's manifest. {@link parseManifest} checks every section with one zod
 * schema; unknown keys and bad types are errors that name the key and its line. Sections the
 * runtime does not act on yet (`[[cron]]`, `[[interceptor]]`, `[[llm_provider]]`) parse, but
 * each gives an explicit "not yet supported"
 * warning: nothing is accepted silently.
 *
 * @module
 */
import { parse as parseToml, TomlError } from "smol-toml";
import { z } from "zod";
import { CapsuleError } from "./errors.ts";
import { lineOf } from "./_toml_lines.ts";

// Letters, digits, `-` and single `_` (never `__`), so `<capsule>__<tool>` splits at the first `__`.
const CAPSULE_NAME = /^[a-z0-9](?:[a-z0-9-]|_(?!_))*$/;
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HASH = /^blake3:[0-9a-f]{64}$/;
// A host, `*.domain`, or either with `:port`; IPv6 in brackets.
const NET_HOST = /^(?:\*\.)?(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/;

/** A path inside the capsule or the workspace: relative, no `..`, no NUL. */
const relativePath = z.string().min(1).refine(
  (p) => !p.startsWith("/") && !p.includes("\0") && !p.split(/[\\/]/).includes(".."),
  { message: "must be a relative path without '..'" },
);
const list = <T extends z.ZodType>(item: T) => z.array(item).default([]);

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
    fs_read: list(relativePath),
    fs_write: list(relativePath),
    kv: z.boolean().default(false),
    host_process: list(z.string().min(1)),
  }).default({ net: [], fs_read: [], fs_write: [], kv: false, host_process: [] }),
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
    name: z.string().min(1),
    schedule: z.string().min(1),
    description: z.string().optional(),
  })),
  interceptor: list(z.strictObject({
    event: z.string().min(1),
    action: z.string().min(1).optional(),
    priority: z.int().optional(),
  })),
  llm_provider: list(z.strictObject({
    id: z.string().min(1),
    description: z.string().optional(),
    models: list(z.string()),
  })),
  skill: list(z.strictObject({
    name: toolName,
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
});

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
  /** One sentence per section that parsed but is not acted on yet. */
  readonly warnings: readonly string[];
}

const NOT_YET: readonly (keyof CapsuleManifest)[] = [
  "cron",
  "interceptor",
  "llm_provider",
];

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
 * const { warnings } = parseManifest(
 *   '[package]\nname = "hi"\nversion = "1"\n[[cron]]\nname = "c"\nschedule = "@daily"\n',
 * );
 * equal(warnings.length, 1);
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
  for (const section of NOT_YET) {
    const items = manifest[section] as readonly unknown[];
    if (items.length > 0) {
      warnings.push(
        `${file}: [[${section}]] is not yet supported by this runtime: ${items.length} ` +
          `entr${items.length === 1 ? "y" : "ies"} ignored`,
      );
    }
  }
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
