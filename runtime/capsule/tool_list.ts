/**
 * What a capsule offers as tools, read from its install record and manifest alone: the recorded
 * tool list (`<capsule>__<tool>`) and one tool per `[[skill]]` (`<capsule>__skill_<name>`). No
 * wasm, no process and none of the engines: listing (`tools list`, the daemon's `tools.list`, the
 * agent's tool list) loads only this module; calling a tool goes through registry.ts and
 * skills.ts.
 *
 * @module
 */
import type { InstalledCapsule } from "./install.ts";

/** One capsule tool, as listed to the model. */
export interface CapsuleToolInfo {
  /** `<capsule>__<tool>`. */
  readonly name: string;
  readonly capsule: string;
  readonly tool: string;
  readonly description: string;
  readonly inputSchema: Record<string, unknown>;
}

/** The prefix that marks a skill tool after `<capsule>__`. */
export const SKILL_TOOL_PREFIX = "skill_";

/** One skill tool, shaped as registry.ts lists capsule tools. */
export interface SkillToolInfo {
  /** `<capsule>__skill_<name>`. */
  readonly name: string;
  readonly capsule: string;
  /** `skill_<name>`. */
  readonly tool: string;
  readonly description: string;
  readonly inputSchema: Record<string, unknown>;
}

const NO_ARGS = { type: "object", properties: {}, additionalProperties: false };

/**
 * The skill tools of `capsules`, from their manifests (no file is read).
 *
 * @example One tool per skill
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { skillTools } from "./tool_list.ts";
 * const capsule = {
 *   record: { name: "notes" },
 *   loaded: { manifest: { skill: [{ name: "style", path: "s.md", description: "House style" }] } },
 * };
 * const [tool] = skillTools([capsule as never]);
 * equal(tool?.name, "notes__skill_style");
 * ```
 */
export function skillTools(capsules: readonly InstalledCapsule[]): SkillToolInfo[] {
  return capsules.flatMap(({ record, loaded }) =>
    loaded.manifest.skill.map((s) => ({
      name: `${record.name}__${SKILL_TOOL_PREFIX}${s.name}`,
      capsule: record.name,
      tool: `${SKILL_TOOL_PREFIX}${s.name}`,
      description: `Load the skill "${s.name}" of capsule ${record.name}` +
        (s.description ? `: ${s.description}` : "") + ". Returns the skill's instructions.",
      inputSchema: NO_ARGS,
    }))
  );
}

/**
 * True when `tool` (the part after `<capsule>__`) names a skill of `installed`.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { isSkillTool } from "./tool_list.ts";
 * const capsule = { loaded: { manifest: { skill: [{ name: "style" }] } } };
 * equal(isSkillTool(capsule as never, "skill_style"), true);
 * equal(isSkillTool(capsule as never, "style"), false);
 * ```
 */
export function isSkillTool(installed: InstalledCapsule, tool: string): boolean {
  return tool.startsWith(SKILL_TOOL_PREFIX) &&
    installed.loaded.manifest.skill.some((s) => `${SKILL_TOOL_PREFIX}${s.name}` === tool);
}

/**
 * Lists the tools of `capsules` from their install records: no wasm instance, no process.
 * (The other parameters are accepted for older callers and unused.)
 *
 * @example Tools come from the record
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { capsuleDirs } from "./install.ts";
 * import { listInstalled } from "./installed.ts";
 * import { listCapsuleTools } from "./tool_list.ts";
 * import { testInstall, testRecords } from "./_testing.ts";
 * using records = await testRecords();
 * const src = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${src}/Capsule.toml`,
 *   '[package]\nname = "docs"\nversion = "1"\n[[tool]]\nname = "search"\ndescription = "Search"\n');
 * const dirs = capsuleDirs(await Deno.makeTempDir(), null);
 * await testInstall(dirs, src, records);
 * const { capsules } = await listInstalled(dirs, { requireHash: true, records });
 * const tools = await listCapsuleTools(capsules);
 * equal(tools[0]?.name, "docs__search");
 * ```
 */
export function listCapsuleTools(
  capsules: readonly InstalledCapsule[],
  _limits?: unknown,
  _mcp?: unknown,
): Promise<CapsuleToolInfo[]> {
  const out: CapsuleToolInfo[] = [];
  for (const { record } of capsules) {
    for (const t of record.tools) {
      out.push({
        name: `${record.name}__${t.name}`,
        capsule: record.name,
        tool: t.name,
        description: t.description,
        inputSchema: t.inputSchema,
      });
    }
  }
  out.push(...skillTools(capsules)); // `<capsule>__skill_<name>`
  return Promise.resolve(out);
}
