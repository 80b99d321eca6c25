/**
 * Skills as tools. Every `[[skill]]` of an installed capsule is a tool the model may call,
 * `<capsule>__skill_<name>`, with no arguments: it returns the skill's text. The system prompt
 * lists the skills (runtime/agent/capsule_context.ts), so the model loads one only when it needs
 * it. The call is a `capsule_tool_call` action (`capsule://<capsule>/skill_<name>`) through the
 * interceptor, gated and audited like any capsule tool; it starts no wasm and only reads the
 * skill's file inside the capsule folder. Its output is untrusted, like every tool result.
 *
 * @module
 */
import { type InvokeOptions, type InvokeOutcome, refusedOutcome } from "../tools/invoke.ts";
import { capOutput, DEFAULT_MAX_OUTPUT_CHARS } from "../tools/output.ts";
import type { SecurityInterceptor } from "../security/interceptor.ts";
import type { InstalledCapsule } from "./install.ts";
import { readStatic } from "./engines/static.ts";
import { SKILL_TOOL_PREFIX } from "./tool_list.ts";

export { isSkillTool, SKILL_TOOL_PREFIX, type SkillToolInfo, skillTools } from "./tool_list.ts";

/**
 * Runs a skill tool: interceptor first (`capsule_tool_call`), then the skill's file is read.
 * A deferred call is re-run by the `capsule_tool` executor with the same payload as any capsule
 * tool (`{ tool: "<capsule>__skill_<name>", args }`).
 *
 * @example An unknown skill is an error outcome
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { callSkillTool } from "./skills.ts";
 * const capsule = { record: { name: "notes" }, loaded: { manifest: { skill: [] } } };
 * const out = await callSkillTool({} as never, capsule as never, "skill_x", {});
 * equal(out.status, "error");
 * ```
 */
export async function callSkillTool(
  interceptor: SecurityInterceptor,
  installed: InstalledCapsule,
  tool: string,
  args: unknown,
  opts: InvokeOptions & { readonly outputLimitChars?: number | undefined } = {},
): Promise<InvokeOutcome> {
  const capsule = installed.record.name;
  const name = `${capsule}__${tool}`;
  const skill = installed.loaded.manifest.skill
    .find((s) => `${SKILL_TOOL_PREFIX}${s.name}` === tool);
  if (!skill) {
    return {
      status: "error",
      code: "UNKNOWN_TOOL",
      message: `Cannot call ${name}: capsule ${capsule} has no such skill`,
    };
  }
  const summary = `Load skill ${skill.name} of capsule ${capsule}`;
  const decision = await interceptor.intercept(
    { kind: "capsule_tool_call", capsule, tool, args },
    {
      tool: name,
      capsule,
      provenance: opts.provenance,
      argumentBytes: new TextEncoder().encode(JSON.stringify(args) ?? "").length,
      execution: { executor: "capsule_tool", payload: { tool: name, args } },
      answer: opts.answer,
      signal: opts.signal,
    },
  );
  if (decision.outcome !== "allowed") return refusedOutcome(decision, summary);
  let text: string;
  try {
    text = await readStatic(installed.loaded, skill.path);
  } catch (e) {
    const message = (e as Error).message;
    await decision.complete({ ok: false, detail: { message } });
    return { status: "error", code: "CAPSULE_FAILED", message };
  }
  const capped = capOutput(text, opts.outputLimitChars ?? DEFAULT_MAX_OUTPUT_CHARS);
  await decision.complete({ ok: true, detail: { truncatedChars: capped.cut } });
  return {
    status: "ok",
    result: { output: capped.text, isError: false, truncatedChars: capped.cut },
    proofs: [decision.proof],
    trust: "untrusted",
  };
}
