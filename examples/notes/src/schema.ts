/**
 * Argument schemas of the notes tools, written with `zod/mini` (the npm dependency pinned in
 * package.json; rolldown bundles it into the capsule).
 *
 * @module
 */
import * as z from "zod/mini";

/**
 * A note's title: what `add_note` stores and `read_note` looks up.
 *
 * @example Between 1 and 80 characters
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { Title } from "./schema.ts";
 * equal(Title.safeParse("Ideas").success, true);
 * equal(Title.safeParse("").success, false);
 * ```
 */
export const Title = z.string().check(z.minLength(1), z.maxLength(80));

/**
 * Arguments of `add_note`.
 *
 * @example Tags are optional
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { AddNoteArgs } from "./schema.ts";
 * deepEqual(AddNoteArgs.parse({ title: "t", body: "b" }), { title: "t", body: "b" });
 * ```
 */
export const AddNoteArgs = z.object({
  title: Title,
  body: z.string().check(z.maxLength(16_384)),
  tags: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(32)))),
});

/**
 * Arguments of `read_note`.
 *
 * @example A title is required
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { ReadNoteArgs } from "./schema.ts";
 * equal(ReadNoteArgs.safeParse({}).success, false);
 * ```
 */
export const ReadNoteArgs = z.object({ title: Title });

/**
 * Arguments of `list_notes`.
 *
 * @example The tag filter is optional
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { ListNotesArgs } from "./schema.ts";
 * equal(ListNotesArgs.safeParse({}).success, true);
 * ```
 */
export const ListNotesArgs = z.object({ tag: z.optional(z.string()) });

/** Parsed `add_note` arguments. */
export type AddNote = z.infer<typeof AddNoteArgs>;

/**
 * Parses `args` with `schema` or throws an error whose message names the first bad field.
 *
 * @example A missing title is reported by field
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { AddNoteArgs, parseArgs } from "./schema.ts";
 * throws(() => parseArgs(AddNoteArgs, { body: "x" }), /title/);
 * ```
 */
export function parseArgs<T>(schema: z.ZodMiniType<T>, args: unknown): T {
  const result = schema.safeParse(args);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.join(".") || "arguments";
  throw new TypeError(`Cannot use ${where}: ${issue?.message ?? "invalid"}`);
}
