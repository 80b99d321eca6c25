/**
 * The query capsule: reads a JSON, YAML or TOML file of the workspace (the `read-file` host
 * function: confined to the workspace, gated by the interceptor) and answers a JSONPath query
 * over it (jsonpath-plus, with its safe evaluator for filters: no `eval`), or outlines its shape.
 *
 * @module
 */
import { defineCapsule, fs } from "@astrid/sdk";
import { JSONPath } from "jsonpath-plus";
import { type Format, formatOf, parseAs } from "./formats.ts";
import { outline } from "./outline.ts";

/** Arguments of `query`. */
export type QueryArgs = {
  path: string;
  query?: string;
  format?: Format;
  limit?: number;
};
/** Arguments of `outline`. */
export type OutlineArgs = { path: string; format?: Format; depth?: number };

/** The largest file read, in bytes. */
export const MAX_FILE_BYTES = 4 << 20;
/** The most characters of results returned (whole results only). */
export const MAX_RESULT_CHARS = 100_000;

async function load(
  path: string,
  format?: Format,
): Promise<{ format: Format; doc: unknown }> {
  const f = format ?? formatOf(path);
  if (f === null) {
    throw new TypeError(
      `Cannot tell the format of ${path}: give format ("json", "yaml" or "toml")`,
    );
  }
  const info = await fs.stat(path);
  if (!info.isFile) {
    throw new TypeError(`Cannot query ${path}: it is not a file`);
  }
  if (info.size > MAX_FILE_BYTES) {
    throw new RangeError(
      `Cannot query ${path}: current size is ${info.size} bytes, over ${MAX_FILE_BYTES}`,
    );
  }
  return { format: f, doc: parseAs(await fs.readFile(path), f) };
}

async function query(args: QueryArgs) {
  const { format, doc } = await load(args.path, args.format);
  const expr = args.query ?? "$";
  let found: { path: string; value: unknown }[];
  try {
    found = JSONPath({
      path: expr,
      json: doc as object,
      resultType: "all",
      eval: "safe",
      wrap: true,
    }) as { path: string; value: unknown }[];
  } catch (e) {
    throw new SyntaxError(
      `Cannot run the query ${expr}: ${(e as Error).message}`,
    );
  }
  const limit = args.limit ?? 50;
  const results: { path: string; value: unknown }[] = [];
  let chars = 0;
  for (const r of found) {
    if (results.length >= limit) break;
    const item = { path: r.path, value: r.value };
    chars += JSON.stringify(item).length;
    if (chars > MAX_RESULT_CHARS && results.length > 0) break;
    results.push(item);
  }
  return {
    path: args.path,
    format,
    query: expr,
    count: found.length,
    results,
    truncated: results.length < found.length,
  };
}

/**
 * The capsule definition: `query` and `outline`.
 *
 * @example
 * ```ts ignore
 * import q from "./mod.ts";
 * await q.tools.query.run({ path: "package.json", query: "$.dependencies" });
 * ```
 */
export default defineCapsule({
  tools: {
    query: {
      description: "Runs a JSONPath query (e.g. $.items[*].name, $..price, " +
        "$.items[?(@.price < 10)]) over a JSON, YAML or TOML file in the workspace and returns " +
        "each match with its path",
      input: {
        type: "object",
        properties: {
          path: {
            type: "string",
            minLength: 1,
            description: "File, relative to the workspace",
          },
          query: {
            type: "string",
            maxLength: 2000,
            description: "JSONPath (default $)",
          },
          format: {
            type: "string",
            enum: ["json", "yaml", "toml"],
            description: "Default: from the file extension",
          },
          limit: {
            type: "integer",
            minimum: 1,
            maximum: 1000,
            description: "Most matches returned (default 50)",
          },
        },
        required: ["path"],
        additionalProperties: false,
      },
      run: query,
    },
    outline: {
      description:
        "Outlines the shape of a JSON, YAML or TOML file in the workspace: keys, " +
        "types and sizes down to a depth, to plan a query",
      input: {
        type: "object",
        properties: {
          path: {
            type: "string",
            minLength: 1,
            description: "File, relative to the workspace",
          },
          format: { type: "string", enum: ["json", "yaml", "toml"] },
          depth: {
            type: "integer",
            minimum: 1,
            maximum: 6,
            description: "Default 2",
          },
        },
        required: ["path"],
        additionalProperties: false,
      },
      run: async (args: OutlineArgs) => {
        const { format, doc } = await load(args.path, args.format);
        return {
          path: args.path,
          format,
          outline: outline(doc, args.depth ?? 2),
        };
      },
    },
  },
});
