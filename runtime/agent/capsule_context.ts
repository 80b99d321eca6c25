/**
 * What installed capsules add to the system prompt, after the base prompt:
 *
 * - each `[[context_file]]`, in a block labelled with its capsule and file name,
 *   `<capsule-context capsule="notes" file="STYLE.md">…</capsule-context>`, the blocks together
 *   capped at {@link MAX_CAPSULE_CONTEXT_BYTES} (the block that crosses the cap is cut and
 *   marked, later ones are left out and named);
 * - a list of the `[[skill]]`s (capsule, name, description) with the tool that loads each
 *   (`<capsule>__skill_<name>`, runtime/capsule/skills.ts).
 *
 * Only installed capsules (a verified install record) reach here. A capsule whose files cannot
 * be read is left out with a warning.
 *
 * @module
 */
import { type InstalledCapsule, loadStatic, SKILL_TOOL_PREFIX } from "../capsule/mod.ts";

/** The cap on all context-file blocks together, in UTF-8 bytes. */
export const MAX_CAPSULE_CONTEXT_BYTES = 64 << 10;

/** Options for {@link capsuleSystemPrompt}. */
export interface CapsuleContextOptions {
  /** Default {@link MAX_CAPSULE_CONTEXT_BYTES}. */
  readonly maxBytes?: number;
  /** Called for each capsule left out, and when the cap cuts. */
  readonly onWarning?: (message: string) => void;
}

// The label's values are names from a validated manifest, but a file name may hold anything.
const attr = (s: string) => s.replace(/[&"<>\n\r]/g, (c) => `&#${c.charCodeAt(0)};`);
// A file must not close its own block early.
const body = (s: string) => s.replaceAll("</capsule-context", "<\\/capsule-context");

/**
 * `base` followed by what `capsules` add (unchanged when they add nothing).
 *
 * @example A context file and a skill
 * ```ts
 * import { match } from "node:assert/strict";
 * import { capsuleDirs, InstallRecords, installCapsule, listInstalled } from "../capsule/mod.ts";
 * import { openStore } from "../storage/mod.ts";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { capsuleSystemPrompt } from "./capsule_context.ts";
 * using store = await openStore(":memory:");
 * const records = new InstallRecords(store, signerFromSeed(generateSeed()));
 * const src = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${src}/Capsule.toml`, '[package]\nname = "notes"\nversion = "1"\n' +
 *   '[[context_file]]\npath = "STYLE.md"\n[[skill]]\nname = "tone"\npath = "tone.md"\ndescription = "Tone"\n');
 * await Deno.writeTextFile(`${src}/STYLE.md`, "Use short sentences.");
 * await Deno.writeTextFile(`${src}/tone.md`, "Be warm.");
 * const dirs = capsuleDirs(await Deno.makeTempDir(), null);
 * await installCapsule(dirs, src, { scope: "user", requireHash: true, records, tools: () => Promise.resolve([]) });
 * const { capsules } = await listInstalled(dirs, { requireHash: true, records });
 * const system = await capsuleSystemPrompt("Base.", capsules);
 * match(system, /^Base\.\n\n/);
 * match(system, /<capsule-context capsule="notes" file="STYLE\.md">\nUse short sentences\.\n<\/capsule-context>/);
 * match(system, /notes__skill_tone/);
 * ```
 */
export async function capsuleSystemPrompt(
  base: string,
  capsules: readonly InstalledCapsule[],
  opts: CapsuleContextOptions = {},
): Promise<string> {
  const max = opts.maxBytes ?? MAX_CAPSULE_CONTEXT_BYTES;
  const enc = new TextEncoder();
  const blocks: string[] = [];
  const skills: string[] = [];
  const omitted: string[] = [];
  let used = 0;
  for (const c of capsules) {
    let offer;
    try {
      offer = await loadStatic(c.loaded);
    } catch (e) {
      opts.onWarning?.(
        `capsule ${c.record.name} adds no context or skills: ${(e as Error).message}`,
      );
      continue;
    }
    for (const f of offer.contextFiles) {
      const open = `<capsule-context capsule="${attr(f.capsule)}" file="${attr(f.name)}">\n`;
      const close = "\n</capsule-context>";
      const text = body(f.content);
      const size = enc.encode(open + text + close).length;
      if (used + size <= max) {
        blocks.push(open + text + close);
        used += size;
        continue;
      }
      const room = max - used - enc.encode(open + close).length - 80;
      if (room > 0 && omitted.length === 0) {
        const cut = truncateUtf8(text, room);
        const marker = `\n[truncated: the capsule context is capped at ${max} bytes]`;
        blocks.push(open + cut + marker + close);
        used = max;
        opts.onWarning?.(`capsule context cut at ${max} bytes in ${f.capsule}/${f.name}`);
      } else omitted.push(`${f.capsule}/${f.name}`);
    }
    for (const s of offer.skills) {
      skills.push(
        `- ${s.capsule}__${SKILL_TOOL_PREFIX}${s.name}: skill "${s.name}" of capsule ${s.capsule}` +
          (s.description ? ` (${s.description.replace(/\s+/g, " ")})` : ""),
      );
    }
  }
  if (omitted.length > 0) {
    blocks.push(
      `[capsule context left out, over the ${max}-byte cap: ${omitted.join(", ")}]`,
    );
    opts.onWarning?.(`capsule context over ${max} bytes: left out ${omitted.join(", ")}`);
  }
  const parts = [base];
  if (blocks.length > 0) {
    parts.push(
      "The user's installed capsules add this context:\n\n" + blocks.join("\n\n"),
    );
  }
  if (skills.length > 0) {
    parts.push(
      "Skills from the user's installed capsules. When a task needs one, call its tool (no " +
        "arguments) to load its instructions:\n" + skills.join("\n"),
    );
  }
  return parts.join("\n\n");
}

/** The longest prefix of `text` of at most `bytes` UTF-8 bytes, never splitting a character. */
function truncateUtf8(text: string, bytes: number): string {
  const enc = new TextEncoder();
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (enc.encode(text.slice(0, mid)).length <= bytes) lo = mid;
    else hi = mid - 1;
  }
  let cut = text.slice(0, lo);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return cut;
}
