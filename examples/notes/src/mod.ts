/**
 * The notes capsule: a multi-file example with an npm dependency (zod/mini, for argument
 * schemas) that keeps Markdown notes in the workspace's `notes/` folder and an index in KV.
 * Compile it with `deno run -A toolchain/compile.ts examples/notes`.
 *
 * @module
 */
import { defineCapsule } from "@astrid/sdk";
import { AddNoteArgs, ListNotesArgs, parseArgs, ReadNoteArgs } from "./schema.ts";
import { loadNote, type NoteEntry, readIndex, saveNote } from "./store.ts";

/**
 * The capsule definition: `add_note`, `list_notes` and `read_note`.
 *
 * @example Bad arguments are refused before any host call
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import notes from "./mod.ts";
 * await rejects(async () => await notes.tools.add_note.run({ title: "", body: "x" }), /title/);
 * ```
 */
export default defineCapsule({
  tools: {
    add_note: {
      description: "Saves a Markdown note in the workspace's notes/ folder",
      input: {
        type: "object",
        properties: {
          title: { type: "string", description: "Title (1 to 80 characters)" },
          body: { type: "string", description: "Markdown text" },
          tags: { type: "array", items: { type: "string" } },
        },
        required: ["title", "body"],
      },
      run: async (args: unknown): Promise<NoteEntry> =>
        await saveNote(parseArgs(AddNoteArgs, args)),
    },
    list_notes: {
      description: "Lists the saved notes, optionally only those with a tag",
      input: { type: "object", properties: { tag: { type: "string" } } },
      run: async (args: unknown): Promise<NoteEntry[]> => {
        const { tag } = parseArgs(ListNotesArgs, args);
        const index = await readIndex();
        return tag === undefined ? index : index.filter((e) => e.tags.includes(tag));
      },
    },
    read_note: {
      description: "Returns the text of the note with this title",
      input: {
        type: "object",
        properties: { title: { type: "string" } },
        required: ["title"],
      },
      run: async (args: unknown): Promise<{ title: string; text: string }> => {
        const { title } = parseArgs(ReadNoteArgs, args);
        const note = await loadNote(title);
        if (!note) {
          throw new Error(
            `Cannot read note ${JSON.stringify(title)}: no such note`,
          );
        }
        return { title: note.entry.title, text: note.text };
      },
    },
  },
});
