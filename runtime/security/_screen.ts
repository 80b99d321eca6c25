/**
 * Screening one tool call before its actions reach the interceptor's capability step: every
 * action must pass the admin policy and the workspace boundary, then the capsules'
 * `before_tool_call` hooks run. A block (`HOOK_BLOCKED`) or a failing hook (`HOOK_FAILED`: it
 * threw, trapped, timed out or answered garbage) denies, failing closed. A rewrite rebuilds the
 * actions from the new arguments and starts again from the policy, at most
 * {@link MAX_HOOK_REWRITES} times, so a hook can never allow what policy or the boundary would
 * refuse. An approval request is carried in the result (`screen.approval`) for step 4.
 *
 * @module
 */
import type { Action } from "./action.ts";
import type {
  CallToScreen,
  Denied,
  DenyCode,
  HookRun,
  HookVerdict,
  InterceptContext,
  Screened,
  ScreenRecord,
  ToolCallHooks,
} from "./interceptor_types.ts";

/** How many times hooks may rewrite one call's arguments before the call is denied. */
export const MAX_HOOK_REWRITES = 3;

/** What screening needs from the interceptor. */
export interface ScreenDeps {
  readonly hooks: ToolCallHooks | null;
  readonly sessionId: string;
  /** Step 1 for one action: null when it passes policy and the boundary. */
  walls(action: Action, ctx: InterceptContext): Promise<Denied | null>;
  /** Denies `action` with an audit entry. */
  deny(action: Action, code: DenyCode, reason: string, ctx: InterceptContext): Promise<Denied>;
  /** Denies a call that has no action to name (its arguments did not build one). */
  refuse(tool: string, reason: string, ctx: InterceptContext, code?: DenyCode): Promise<Denied>;
}

/**
 * Screens `call` (see the module doc). `ctx.tool` names the call in audit entries.
 */
export async function screenCall(
  call: CallToScreen,
  ctx: InterceptContext,
  deps: ScreenDeps,
): Promise<Screened | Denied> {
  let args = call.args;
  const runs: HookRun[] = [];
  let approval: ScreenRecord["approval"];
  for (let rewrites = 0;; rewrites++) {
    let actions: Action[];
    try {
      actions = await call.build(args);
    } catch (err) {
      const why = rewrites > 0 ? `after a hook rewrote its arguments: ` : "";
      return await deps.refuse(call.tool, `${why}${(err as Error).message}`, ctx);
    }
    const walled: InterceptContext = runs.length ? { ...ctx, screened: { runs, approval } } : ctx;
    for (const action of actions) {
      const denied = await deps.walls(action, walled);
      if (denied) return denied;
    }
    if (!deps.hooks) return { outcome: "screened", args, actions, screen: { runs } };
    const verdict = await runHooks(deps, call.tool, args, call.toolCallId, ctx.signal);
    runs.push(...verdict.runs);
    const record: InterceptContext = { ...ctx, screened: { runs, approval } };
    const first = actions[0];
    const deny = (code: DenyCode, reason: string) =>
      first ? deps.deny(first, code, reason, record) : deps.refuse(call.tool, reason, record, code);
    switch (verdict.kind) {
      case "pass":
        return { outcome: "screened", args, actions, screen: { runs, approval } };
      case "approve":
        approval = {
          capsule: verdict.capsule,
          reason: `${verdict.title}: ${verdict.description}`,
        };
        return { outcome: "screened", args, actions, screen: { runs, approval } };
      case "block":
        return await deny(
          "HOOK_BLOCKED",
          `capsule ${verdict.capsule} blocked the call: ${verdict.reason}`,
        );
      case "failed":
        return await deny("HOOK_FAILED", `capsule ${verdict.capsule}: ${verdict.reason}`);
      case "rewrite":
        if (rewrites >= MAX_HOOK_REWRITES) {
          return await deny(
            "HOOK_FAILED",
            `capsule ${verdict.capsule} kept rewriting the call (limit ${MAX_HOOK_REWRITES})`,
          );
        }
        args = verdict.params;
    }
  }
}

/** Runs the hooks; a hooks object that itself throws fails the call closed. */
async function runHooks(
  deps: ScreenDeps,
  tool: string,
  params: unknown,
  toolCallId: string | undefined,
  signal: AbortSignal | undefined,
): Promise<HookVerdict> {
  try {
    return await deps.hooks!.beforeToolCall(
      { toolName: tool, params, toolCallId, sessionId: deps.sessionId },
      signal,
    );
  } catch (err) {
    return { kind: "failed", capsule: "?", reason: (err as Error).message, runs: [] };
  }
}
