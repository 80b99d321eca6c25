/**
 * The agent runtime: the loop ({@link Agent}), input classification, persisted sessions,
 * the tool registry seam and sub-agents for the `task` tool.
 *
 * @example Create a session store
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openStore } from "../storage/mod.ts";
 * import { SessionStore } from "./mod.ts";
 * using store = await openStore(":memory:");
 * equal((await new SessionStore(store).list()).length, 0);
 * ```
 *
 * @module
 */
export * from "./loop.ts";
export * from "./session.ts";
export * from "./classify.ts";
export * from "./registry.ts";
export * from "./sub_agent.ts";
export * from "./open.ts";
export {
  capsuleToolRegistry,
  type ExternalToolOptions,
  mcpToolRegistry,
  providerSampler,
} from "./external_tools.ts";
export * from "./capsule_context.ts";
