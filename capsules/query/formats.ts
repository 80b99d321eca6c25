/**
 * Parsing JSON, YAML and TOML workspace files into plain JSON values: JSON with `JSON.parse`,
 * YAML with `yaml` (every document of a multi-document stream; aliases expanded up to a cap, so
 * an alias bomb fails instead of exhausting memory), TOML with `smol-toml` (dates become ISO
 * strings).
 *
 * @module
 */
import { parseAllDocuments } from "yaml";
import { parse as parseToml } from "smol-toml";

/** The formats `query` reads. */
export type Format = "json" | "yaml" | "toml";

/** The format a file name implies, or null. */
export function formatOf(path: string): Format | null {
  const ext = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase();
  if (
    ext === "json" || ext === "jsonc" || ext === "geojson" ||
    ext === "webmanifest"
  ) {
    return "json";
  }
  if (ext === "yaml" || ext === "yml") return "yaml";
  if (ext === "toml") return "toml";
  return null;
}

/** Turns parser output (TOML dates, YAML maps) into plain JSON values. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value) ?? "null");
}

/**
 * Parses `text` as `format`.
 *
 * @param text the file's content
 * @param format its format
 * @returns the document (a multi-document YAML stream: the array of its documents)
 *
 * @example
 * ```ts ignore
 * parseAs("a: [1, 2]", "yaml"); // { a: [1, 2] }
 * ```
 */
export function parseAs(text: string, format: Format): unknown {
  try {
    if (format === "json") return JSON.parse(text);
    if (format === "toml") return plain(parseToml(text));
    const docs = parseAllDocuments(text);
    if (docs.length === 0) return null; // an empty stream
    const values = docs.map((d) => {
      const err = d.errors[0];
      if (err) throw err;
      return d.toJS({ maxAliasCount: 1000 });
    });
    return plain(values.length === 1 ? values[0] : values);
  } catch (e) {
    throw new SyntaxError(
      `Cannot parse the file as ${format.toUpperCase()}: ${
        (e as Error).message.split("\n")[0]
      }`,
    );
  }
}
