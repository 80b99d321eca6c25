/**
 * Checks a capsule tool call's arguments against the tool's recorded input schema (JSON Schema,
 * as TypeBox and zod-to-json-schema produce it) before anything else sees them. The validator is
 * ajv, imported on the first capsule tool call only (CLI start-up stays light). Compiled
 * validators are memoised by the schema's SHA-256 (a bounded, content-keyed cache: the same
 * schema always compiles to the same function). A schema that does not compile is treated as
 * `{type: "object"}`, with one warning per schema.
 *
 * @module
 */

type Validate = ((data: unknown) => boolean) & { errors?: AjvError[] | null };
interface AjvError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly message?: string;
  readonly params: Record<string, unknown>;
}
type AjvCtor = new (opts: Record<string, unknown>) => { compile(schema: unknown): Validate };

const MAX_CACHED = 256;
const cache = new Map<string, Validate>();
let ajvClass: Promise<AjvCtor> | undefined;

function loadAjv(): Promise<AjvCtor> {
  ajvClass ??= import("ajv").then((m) => {
    const d = m.default as unknown as AjvCtor & { default?: AjvCtor };
    return d.default ?? d;
  });
  return ajvClass;
}

async function schemaKey(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function validatorFor(
  schema: unknown,
  warn: (message: string) => void,
): Promise<Validate> {
  const text = JSON.stringify(schema ?? { type: "object" });
  const key = await schemaKey(text);
  const hit = cache.get(key);
  if (hit) return hit;
  const Ajv = await loadAjv();
  // One instance per schema: two tools whose schemas share an `$id` must not collide.
  const make = () => new Ajv({ strict: false, allErrors: false, validateFormats: false });
  let validate: Validate;
  try {
    validate = make().compile(JSON.parse(text));
  } catch (err) {
    warn(
      `Cannot compile a tool's input schema: ${(err as Error).message}; ` +
        "checking only that the arguments are an object",
    );
    validate = make().compile({ type: "object" });
  }
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
  cache.set(key, validate);
  return validate;
}

/** `/a/0/b` → `a[0].b`; the root is `arguments`. */
function fieldOf(pointer: string, extra?: unknown): string {
  const parts = pointer.split("/").slice(1).map((p) =>
    p.replaceAll("~1", "/").replaceAll("~0", "~")
  );
  if (typeof extra === "string") parts.push(extra);
  if (parts.length === 0) return "arguments";
  return parts.map((p, i) => /^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`).join("");
}

/**
 * Checks `args` against `schema`: null when they conform, else one line naming the field
 * (`days: must be integer`, `city: is required`).
 *
 * @example A wrong type names the field
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { checkArgs } from "./_args_check.ts";
 * const schema = { type: "object", properties: { days: { type: "integer" } }, required: ["days"] };
 * equal(await checkArgs(schema, { days: 2 }), null);
 * equal(await checkArgs(schema, { days: "x" }), "days: must be integer");
 * equal(await checkArgs(schema, {}), "days: is required");
 * ```
 */
export async function checkArgs(
  schema: unknown,
  args: unknown,
  warn: (message: string) => void = () => {},
): Promise<string | null> {
  const validate = await validatorFor(schema, warn);
  if (validate(args)) return null;
  const e = validate.errors?.[0];
  if (!e) return "arguments: do not match the tool's input schema";
  if (e.keyword === "required") {
    return `${fieldOf(e.instancePath, e.params.missingProperty)}: is required`;
  }
  if (e.keyword === "additionalProperties") {
    return `${fieldOf(e.instancePath, e.params.additionalProperty)}: is not allowed`;
  }
  return `${fieldOf(e.instancePath)}: ${e.message ?? "is invalid"}`;
}
