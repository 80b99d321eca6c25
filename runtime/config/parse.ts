/**
 * Reading one config layer: bounded file read, TOML parse, strict schema check, and error
 * messages that name the file, the dotted key and the expected type.
 *
 * @module
 */
import { parse as parseToml, TomlError } from "smol-toml";
import { z } from "zod";
import { ConfigError } from "./errors.ts";
import {
  CONFIG_SECTIONS,
  type ConfigLayerData,
  type ConfigSection,
  describeExpected,
} from "./schema.ts";
import { MAX_CONFIG_BYTES } from "./defaults.ts";

export { MAX_CONFIG_BYTES } from "./defaults.ts";

/**
 * The parse options of the config's schemas: without zod's JIT, which compiles an object
 * schema's parser (`new Function`) on its first parse; a config is parsed once per process, so
 * compiling costs more than it saves (measured: a first config load of 9–11 ms became 4–5 ms).
 * Same checks, same errors.
 */
export const PARSE_ONCE = Object.freeze({ jitless: true });

const layerSchema = z.strictObject(
  Object.fromEntries(
    Object.entries(CONFIG_SECTIONS).map(([name, section]) => [name, section.partial().optional()]),
  ),
);

function isSection(name: string): name is ConfigSection {
  return Object.hasOwn(CONFIG_SECTIONS, name);
}

/**
 * The schema of one key, or null when the path does not name a known key.
 *
 * @example Look up a key
 * ```ts
 * import { equal, ok } from "node:assert/strict";
 * import { keySchema } from "./parse.ts";
 * ok(keySchema("budget", "session_usd"));
 * equal(keySchema("budget", "constructor"), null);
 * ```
 */
export function keySchema(section: string, key: string): z.ZodType | null {
  if (!isSection(section)) return null;
  const shape: Record<string, z.ZodType> = CONFIG_SECTIONS[section].shape;
  return Object.hasOwn(shape, key) ? shape[key] ?? null : null;
}

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (value instanceof Date) return "a date";
  if (typeof value === "object") return "a table";
  if (typeof value === "bigint") return "an integer too large to represent";
  return typeof value;
}

function shown(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "string") {
    return JSON.stringify(value.length > 60 ? value.slice(0, 60) + "…" : value);
  }
  return kindOf(value);
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const step of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[step];
  }
  return cur;
}

function expectedAt(path: readonly PropertyKey[]): string {
  const [section, key] = path;
  if (path.length === 1) return "a table";
  const schema = keySchema(String(section), String(key));
  if (!schema) return "a known key";
  return path.length > 2 ? "a string" : describeExpected(schema);
}

/** Turns the first zod issue into a ConfigError worded for people. */
function issueToError(
  issue: z.core.$ZodIssue,
  raw: unknown,
  where: string,
  file: string,
): ConfigError {
  const path = issue.path;
  if (issue.code === "unrecognized_keys") {
    const name = issue.keys[0] ?? "";
    const key = [...path.map(String), name].join(".");
    const known = path.length === 0
      ? Object.keys(CONFIG_SECTIONS)
      : Object.keys(CONFIG_SECTIONS[String(path[0]) as ConfigSection]?.shape ?? {});
    const what = path.length === 0 ? "section" : "setting";
    const expected = `one of: ${known.join(", ")}`;
    return new ConfigError(
      `Cannot ${where}: key "${key}" is not a known ${what} (expected ${expected})`,
      { file, key, expected },
    );
  }
  const key = path.map(String).join(".");
  const value = valueAt(raw, path);
  let expected = expectedAt(path);
  let got = issue.code === "invalid_type" ? kindOf(value) : shown(value);
  if (issue.code === "invalid_type" && typeof value === "number") got = shown(value);
  if (issue.code === "too_small" || issue.code === "too_big") {
    const op = issue.code === "too_small"
      ? (issue.inclusive ? ">=" : ">")
      : (issue.inclusive ? "<=" : "<");
    const bound = issue.code === "too_small" ? issue.minimum : issue.maximum;
    expected = issue.origin === "string"
      ? "a non-empty string"
      : `${expected} ${op} ${String(bound)}`;
  }
  return new ConfigError(`Cannot ${where}: key "${key}" must be ${expected}, got ${got}`, {
    file,
    key,
    expected,
  });
}

/**
 * Validates already-parsed data as one layer. `where` completes "Cannot …" in messages
 * (e.g. `load /etc/astrid/config.toml`); `file` is stored on the error.
 *
 * @example A wrong type names the key and the expected type
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { validateLayer } from "./parse.ts";
 * throws(
 *   () => validateLayer({ budget: { session_usd: "5" } }, "load /u/c.toml", "/u/c.toml"),
 *   /key "budget.session_usd" must be a number, got string/,
 * );
 * ```
 */
export function validateLayer(raw: unknown, where: string, file: string): ConfigLayerData {
  const result = layerSchema.safeParse(raw, PARSE_ONCE);
  if (result.success) return result.data as ConfigLayerData;
  const issue = result.error.issues[0];
  if (!issue) {
    throw new ConfigError(`Cannot ${where}: it is not valid`, { file, key: null, expected: null });
  }
  throw issueToError(issue, raw, where, file);
}

/**
 * Parses TOML text as one layer. Syntax errors name the file, line and column.
 *
 * @example Parse a small layer
 * ```ts
 * import { deepEqual, throws } from "node:assert/strict";
 * import { parseConfigText } from "./parse.ts";
 * deepEqual(parseConfigText('[workspace]\nmode = "guided"\n', "/w/c.toml"), { workspace: { mode: "guided" } });
 * throws(() => parseConfigText("[budget\n", "/w/c.toml"), /\/w\/c\.toml.*line 1/);
 * ```
 */
export function parseConfigText(text: string, file: string): ConfigLayerData {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = (err.message.split("\n")[0] ?? "").replace(/^Invalid TOML document:\s*/, "");
      throw new ConfigError(
        `Cannot load ${file}: invalid TOML at line ${err.line}, column ${err.column}: ${reason}`,
        { file, key: null, expected: "valid TOML" },
        { cause: err },
      );
    }
    throw err;
  }
  return validateLayer(raw, `load ${file}`, file);
}

/**
 * Reads a config file as UTF-8, at most {@link MAX_CONFIG_BYTES}. Returns null when it does not
 * exist; any other failure (not a file, unreadable, too large, bad UTF-8) is a ConfigError, so a
 * layer that exists but cannot be read fails closed instead of being skipped.
 *
 * @example A missing file is skipped
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { readConfigFile } from "./parse.ts";
 * equal(await readConfigFile("/nonexistent/astrid/config.toml"), null);
 * ```
 */
export async function readConfigFile(path: string): Promise<string | null> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw new ConfigError(`Cannot load ${path}: ${(err as Error).message}`, {
      file: path,
      key: null,
      expected: "a readable file",
    }, { cause: err });
  }
  try {
    const info = await file.stat();
    if (!info.isFile) {
      throw new ConfigError(`Cannot load ${path}: it is not a regular file`, {
        file: path,
        key: null,
        expected: "a regular file",
      });
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      total += n;
      if (total > MAX_CONFIG_BYTES) {
        throw new ConfigError(
          `Cannot load ${path}: it is larger than ${MAX_CONFIG_BYTES} bytes`,
          { file: path, key: null, expected: `at most ${MAX_CONFIG_BYTES} bytes` },
        );
      }
      chunks.push(buf.slice(0, n));
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (err) {
      throw new ConfigError(`Cannot load ${path}: it is not valid UTF-8`, {
        file: path,
        key: null,
        expected: "UTF-8 text",
      }, { cause: err });
    }
  } finally {
    file.close();
  }
}
