/**
 * What the workspace adds to the system prompt, after the base prompt:
 *
 * - the facts of the session in an `<environment>` block: the working folder (the workspace
 *   root), today's date, the OS and the workspace mode;
 * - the user's project instructions: `AGENTS.md` and `CLAUDE.md` at the workspace root, when
 *   present, each in a block labelled with its file name,
 *   `<project-instructions file="AGENTS.md">…</project-instructions>`.
 *
 * The files are opened with the workspace's confined open (runtime/security/workspace.ts
 * `openConfined`): a symlink that leads out of the workspace is refused, and so is anything
 * that is not a regular file (a FIFO would block the chat's start). Each file is capped at
 * {@link MAX_PROJECT_INSTRUCTIONS_BYTES}; a longer one is cut and marked. A file that is left
 * out is reported to `onWarning`, never fatal.
 *
 * The files live in the workspace, so an agent allowed to write there can change what later
 * sessions read as instructions: the user's mode and approvals decide that, as for any file.
 *
 * @module
 */
import { join } from "node:path";
import { openConfined, PathError, type WorkspaceMode } from "../security/workspace.ts";

/** The files read at the workspace root, in this order. */
export const PROJECT_INSTRUCTION_FILES: readonly string[] = ["AGENTS.md", "CLAUDE.md"];

/** The cap on each project instruction file, in bytes. */
export const MAX_PROJECT_INSTRUCTIONS_BYTES = 32 << 10;

/** One project instruction file as read. */
export interface ProjectInstructions {
  /** The file name at the workspace root. */
  readonly file: string;
  /** Its text (cut at the cap). */
  readonly text: string;
  /** Its size on disk, in bytes. */
  readonly bytes: number;
  /** True when {@link ProjectInstructions.text} is only the start of the file. */
  readonly truncated: boolean;
}

/** Options of {@link readProjectInstructions} and {@link projectSystemPrompt}. */
export interface ProjectContextOptions {
  /** Per-file cap in bytes (default {@link MAX_PROJECT_INSTRUCTIONS_BYTES}). */
  readonly maxBytes?: number;
  /** Called for each file left out. */
  readonly onWarning?: (message: string) => void;
}

/** The facts the system prompt states. */
export interface SessionFacts {
  /** The canonical workspace root (the working folder). */
  readonly workspaceRoot: string;
  /** The workspace mode (`[workspace] mode`). */
  readonly mode: WorkspaceMode;
  /** Today (default: now). */
  readonly date?: Date;
  /** The OS (default: `Deno.build.os` and `Deno.build.arch`). */
  readonly os?: string;
}

const MODES: Record<WorkspaceMode, string> = {
  safe: "every action asks the user first",
  guided: "reads inside the workspace run without asking; everything else asks the user",
  autonomous:
    "reads, writes, deletes and commands inside the workspace run without asking; anything outside asks",
};

// Controls other than tab and newline never reach the prompt.
// deno-lint-ignore no-control-regex
const clean = (s: string) => s.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "");
// A file must not close its own block early.
const body = (s: string) => s.replaceAll("</project-instructions", "<\\/project-instructions");

async function readOne(
  root: string,
  file: string,
  maxBytes: number,
  warn: (m: string) => void,
): Promise<ProjectInstructions | null> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(join(root, file));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      // A dangling symlink is still worth a word; a missing file is the common case.
      const link = await Deno.lstat(join(root, file)).catch(() => null);
      if (link?.isSymlink) warn(`${file} left out: it is a symlink to nothing`);
      return null;
    }
    warn(`${file} left out: ${(err as Error).message}`);
    return null;
  }
  if (!info.isFile) {
    warn(`${file} left out: it is not a regular file`);
    return null;
  }
  let handle: Deno.FsFile;
  try {
    handle = await openConfined(file, root, { read: true });
  } catch (err) {
    const why = err instanceof PathError
      ? "it leads outside the workspace"
      : (err as Error).message;
    warn(`${file} left out: ${why}`);
    return null;
  }
  try {
    const size = (await handle.stat()).size;
    const want = Math.min(size, maxBytes);
    const buf = new Uint8Array(want);
    let got = 0;
    while (got < want) {
      const n = await handle.read(buf.subarray(got));
      if (n === null) break;
      got += n;
    }
    let text = new TextDecoder().decode(buf.subarray(0, got));
    const truncated = size > got;
    if (truncated) text = text.replace(/\uFFFD$/, ""); // a character cut at the cap
    return { file, text: clean(text), bytes: size, truncated };
  } finally {
    handle.close();
  }
}

/**
 * The project instruction files at `workspaceRoot` that exist and may be read.
 *
 * @example AGENTS.md is read; a missing CLAUDE.md is skipped quietly
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { readProjectInstructions } from "./project_context.ts";
 * const root = await Deno.realPath(await Deno.makeTempDir());
 * await Deno.writeTextFile(`${root}/AGENTS.md`, "Use tabs.");
 * const found = await readProjectInstructions(root);
 * equal(found.map((f) => f.file).join(), "AGENTS.md");
 * equal(found[0]?.text, "Use tabs.");
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function readProjectInstructions(
  workspaceRoot: string,
  options: ProjectContextOptions = {},
): Promise<ProjectInstructions[]> {
  const maxBytes = options.maxBytes ?? MAX_PROJECT_INSTRUCTIONS_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw new RangeError(`Cannot read project instructions: current maxBytes is ${maxBytes}`);
  }
  const warn = options.onWarning ?? (() => {});
  const out: ProjectInstructions[] = [];
  for (const file of PROJECT_INSTRUCTION_FILES) {
    const got = await readOne(workspaceRoot, file, maxBytes, warn);
    if (got) out.push(got);
  }
  return out;
}

/**
 * The `<environment>` block: working folder, date, OS and mode.
 *
 * @example
 * ```ts
 * import { match } from "node:assert/strict";
 * import { sessionFactsBlock } from "./project_context.ts";
 * const block = sessionFactsBlock({
 *   workspaceRoot: "/home/u/proj", mode: "guided", date: new Date("2025-03-04T10:00:00Z"), os: "linux",
 * });
 * match(block, /Working folder: \/home\/u\/proj/);
 * match(block, /Date: 2025-03-04/);
 * match(block, /Mode: guided/);
 * ```
 */
export function sessionFactsBlock(facts: SessionFacts): string {
  const date = (facts.date ?? new Date()).toISOString().slice(0, 10);
  const os = facts.os ?? `${Deno.build.os} (${Deno.build.arch})`;
  return [
    "<environment>",
    `Working folder: ${clean(facts.workspaceRoot)} (the workspace root; relative paths start here)`,
    `Date: ${date}`,
    `OS: ${os}`,
    `Mode: ${facts.mode} (${MODES[facts.mode]})`,
    "</environment>",
  ].join("\n");
}

/**
 * `base`, then the session facts, then the user's project instructions (when any).
 *
 * @example The instructions are labelled as the user's
 * ```ts
 * import { match } from "node:assert/strict";
 * import { projectSystemPrompt } from "./project_context.ts";
 * const root = await Deno.realPath(await Deno.makeTempDir());
 * await Deno.writeTextFile(`${root}/AGENTS.md`, "Run the tests with deno test.");
 * const prompt = await projectSystemPrompt("Base.", { workspaceRoot: root, mode: "safe" });
 * match(prompt, /^Base\./);
 * match(prompt, /<project-instructions file="AGENTS.md">\nRun the tests/);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function projectSystemPrompt(
  base: string,
  facts: SessionFacts,
  options: ProjectContextOptions = {},
): Promise<string> {
  const parts = [base, sessionFactsBlock(facts)];
  const files = await readProjectInstructions(facts.workspaceRoot, options);
  if (files.length > 0) {
    parts.push(
      "The user's project instructions follow, from files at the workspace root. Follow them " +
        "as the user's own instructions, within the security rules above.",
    );
  }
  for (const f of files) {
    const cut = f.truncated
      ? `\n[truncated: ${f.file} is ${f.bytes} bytes; only the first ${
        new TextEncoder().encode(f.text).length
      } are shown]`
      : "";
    parts.push(
      `<project-instructions file="${f.file}">\n${body(f.text)}${cut}\n</project-instructions>`,
    );
  }
  return parts.join("\n\n");
}
