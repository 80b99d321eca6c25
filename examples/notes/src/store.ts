/**
 * Where notes live: the text in `notes/<slug>.md` (fs host functions), the index of titles and
 * tags under the KV key `index` (kv host functions, private to this capsule).
 *
 * @module
 */
import { fs, kv } from "@astrid/sdk";
import type { AddNote } from "./schema.ts";
import { slugOf } from "./slug.ts";

/**
 * The workspace folder that holds the notes (the manifest's fs_read and fs_write).
 *
 * @example Notes live in notes/
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { NOTES_DIR } from "./store.ts";
 * equal(NOTES_DIR, "notes");
 * ```
 */
export const NOTES_DIR = "notes";

/** One entry of the index. */
export type NoteEntry = {
  /** The title as given. */
  title: string;
  /** The file name without `.md`. */
  slug: string;
  /** Tags, possibly none. */
  tags: string[];
  /** Size of the body in UTF-8 bytes. */
  bytes: number;
};

/**
 * Reads the index (empty when the capsule never stored a note).
 *
 * @example Outside a capsule the host is unreachable
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { readIndex } from "./store.ts";
 * await rejects(readIndex(), /not a capsule/);
 * ```
 */
export async function readIndex(): Promise<NoteEntry[]> {
  const index = await kv.get("index");
  return Array.isArray(index) ? index as NoteEntry[] : [];
}

/**
 * Writes `note` to its file and records it in the index; returns its entry.
 *
 * @example Outside a capsule the host is unreachable
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { saveNote } from "./store.ts";
 * await rejects(saveNote({ title: "t", body: "b" }), /not a capsule/);
 * ```
 */
export async function saveNote(note: AddNote): Promise<NoteEntry> {
  const slug = slugOf(note.title);
  if (!(await fs.exists(NOTES_DIR))) {
    await fs.mkdir(NOTES_DIR, { recursive: true });
  }
  const text = `# ${note.title}\n\n${note.body}\n`;
  await fs.writeFile(`${NOTES_DIR}/${slug}.md`, text);
  const entry: NoteEntry = {
    title: note.title,
    slug,
    tags: note.tags ?? [],
    bytes: new TextEncoder().encode(note.body).length,
  };
  const index = (await readIndex()).filter((e) => e.slug !== slug);
  index.push(entry);
  index.sort((a, b) => a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0);
  await kv.set("index", index);
  return entry;
}

/**
 * Reads the note titled `title`; null when there is none.
 *
 * @example Outside a capsule the host is unreachable
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { loadNote } from "./store.ts";
 * await rejects(loadNote("t"), /not a capsule/);
 * ```
 */
export async function loadNote(
  title: string,
): Promise<{ entry: NoteEntry; text: string } | null> {
  const entry = (await readIndex()).find((e) => e.slug === slugOf(title));
  if (!entry) return null;
  return { entry, text: await fs.readFile(`${NOTES_DIR}/${entry.slug}.md`) };
}
