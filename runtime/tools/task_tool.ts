/**
 * The `task` tool: delegates to a sub-agent. The runner is injected by the agent runtime
 * (`ToolEnv.subAgent`); without it the call fails with code `UNAVAILABLE`.
 *
 * @module
 */
import { argsObject, reqString } from "./_args.ts";
import { type BuiltinTool, type TaskArgs, ToolError } from "./types.ts";

/**
 * The `task` tool.
 *
 * @example It classifies as a sub-agent spawn
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { taskTool } from "./task_tool.ts";
 * const ctx = { workspaceRoot: "/ws", sessionId: "s1", cwd: "/ws" };
 * const args = taskTool.parse({ description: "tests", prompt: "run the tests" });
 * deepEqual(await taskTool.classify(args, ctx), [
 *   { kind: "sub_agent_spawn", parentSession: "s1", description: "tests" },
 * ]);
 * ```
 */
export const taskTool: BuiltinTool<TaskArgs> = {
  definition: {
    name: "task",
    description:
      "Delegate a self-contained job to a sub-agent, which works with the same tools and the same security checks and returns its final answer.",
    inputSchema: {
      type: "object",
      properties: {
        description: { type: "string", description: "A short (3-5 word) label for the job" },
        prompt: { type: "string", description: "Complete instructions for the sub-agent" },
      },
      required: ["description", "prompt"],
      additionalProperties: false,
    },
  },
  parse(args) {
    const o = argsObject("task", args, ["description", "prompt"]);
    return {
      description: reqString("task", o, "description"),
      prompt: reqString("task", o, "prompt"),
    };
  },
  classify: (args, ctx) =>
    Promise.resolve([
      { kind: "sub_agent_spawn", parentSession: ctx.sessionId, description: args.description },
    ]),
  run(args, ctx, env) {
    if (!env.subAgent) {
      return Promise.reject(
        new ToolError("UNAVAILABLE", "Cannot run task: sub-agents are not available yet"),
      );
    }
    return env.subAgent(args, ctx);
  },
};
