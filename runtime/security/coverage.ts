/**
 * Step 2 of the interceptor: what already covers an action without asking a human, in this
 * order: a standing `allow` rule, a signed token, a session allowance, the workspace mode.
 *
 * Nothing absorbs an escape, or code the policy cannot read, by accident:
 * - an action that leaves the workspace is covered by a rule, token or allowance only when
 *   the pattern itself names each outside path (the exact path, or a folder holding it that is
 *   neither `/` nor a folder holding the workspace); a wildcard that merely matches
 *   (`exec://ls src*` against `ls src /root`) is not enough, and the human is asked;
 * - an opaque command (code handed to an interpreter: `… | sh`, `python3 -c`) is never covered
 *   by a rule, token or allowance; only the workspace mode or a human allows it;
 * - an action whose arguments came from untrusted content and that leaves the workspace is
 *   always asked (or deferred), whatever a rule, token, allowance or mode says; in safe mode
 *   every untrusted action is asked.
 *
 * @module
 */
import type { Action, ActionInfo, Permission } from "./action.ts";
import { type Provenance, suggestPatterns } from "./approval.ts";
import { matchResource } from "./resource.ts";
import { normalizePath } from "./_policy_match.ts";
import type { BoundaryDecision, WorkspaceMode } from "./workspace.ts";

/** Proof of cover, or why a human must be asked. */
export type Cover = { proof: string; needsAsk?: never } | { proof?: never; needsAsk: string };

/** What step 2 consults. */
export interface CoverageDeps {
  readonly rules: { readonly allow: readonly string[]; readonly ask: readonly string[] };
  readonly tokens: {
    findCovering(
      resources: readonly string[],
      permission: Permission,
      subjects: readonly string[],
      accept?: (token: { readonly resource: string }) => boolean,
    ): { readonly id: string; readonly resource: string; readonly singleUse: boolean } | null;
    consume(token: never): Promise<{ ok: boolean }>;
  };
  readonly allowances: {
    find(
      resources: readonly string[],
      permission: Permission,
      accept?: (pattern: string) => boolean,
    ): { readonly id: string } | null;
  };
  readonly mode: WorkspaceMode;
  readonly workspaceRoot: string;
  /** Token subjects: the session id and the workspace id. */
  readonly subjects: readonly string[];
}

const WILDCARD = /[*?]/;

function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root === "/" ? "/" : `${root}/`);
}

/**
 * True when `pattern` names every path in `outside` itself: each is one of the pattern's
 * literal words, or starts with a literal word that ends in `/` or is cut short by a wildcard
 * (`/srv/data/*`, `/etc/host*`), whose folder is neither `/` nor a folder holding the
 * workspace. A `*` that runs on into other words never names what it swallows.
 *
 * @example A prefix that merely matches does not name /root
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { patternNames } from "./coverage.ts";
 * ok(!patternNames("exec://ls src*", ["/root"], "/ws"));
 * ok(patternNames("exec://cat /etc/hosts", ["/etc/hosts"], "/ws"));
 * ok(patternNames("file:///etc/**", ["/etc/hosts"], "/ws"));
 * ok(!patternNames("file:///**", ["/etc/hosts"], "/ws"));
 * ok(!patternNames("file:///home/**", ["/home/other/.bashrc"], "/home/me/ws"));
 * ```
 */
export function patternNames(pattern: string, outside: readonly string[], root: string): boolean {
  const body = pattern.replace(/^[a-z][a-z0-9+.-]*:\/\//, "");
  const exact: string[] = [];
  const prefixes: string[] = [];
  const chunks = body.split(WILDCARD);
  chunks.forEach((chunk, i) => {
    const words = chunk.split(/[ =]/);
    words.forEach((word, j) => {
      if (!word.startsWith("/") && !word.startsWith("~")) return;
      // A word cut short by a wildcard (`/etc/host*`) names what starts with it, within its
      // folder; a word ending in `/` names what lies in that folder.
      const cut = j === words.length - 1 && i < chunks.length - 1;
      if (cut || word.endsWith("/")) prefixes.push(word);
      else exact.push(normalizePath(word));
    });
  });
  const named = (p: string, prefix: string) => {
    const folder = normalizePath(prefix.slice(0, prefix.lastIndexOf("/") + 1) || "/");
    if (folder === "/" || folder === "~" || inside(root, folder)) return false;
    return inside(p, folder) && (p.startsWith(prefix) || `${p}/` === prefix);
  };
  return outside.every((p) => exact.includes(p) || prefixes.some((f) => named(p, f)));
}

/**
 * Decides step 2 for one action.
 *
 * @example An opaque command is covered only by the mode
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { coverAction } from "./coverage.ts";
 * const deps = {
 *   rules: { allow: ["exec://**"], ask: [] },
 *   tokens: { findCovering: () => null, consume: () => Promise.resolve({ ok: true }) },
 *   allowances: { find: () => null },
 *   mode: "safe" as const, workspaceRoot: "/ws", subjects: ["s"],
 * };
 * const action = { kind: "execute_command", argv: ["sh"], opaque: "a script piped into sh" } as const;
 * const info = { resource: "exec://sh", permission: "execute", risk: "high", summary: "sh" } as const;
 * const boundary = { inside: true, escape: false, autoApprove: false, reason: "", outside: [] };
 * const cover = await coverAction(deps, action, info, ["exec://sh"], boundary, undefined);
 * equal(cover.needsAsk?.includes("cannot see"), true);
 * ```
 */
export async function coverAction(
  deps: CoverageDeps,
  action: Action,
  info: ActionInfo,
  resources: readonly string[],
  boundary: BoundaryDecision,
  provenance: Provenance | undefined,
): Promise<Cover> {
  const opaque = action.kind === "execute_command" ? action.opaque : undefined;
  const untrusted = provenance?.trust === "untrusted";
  const names = (pattern: string) =>
    !boundary.escape || patternNames(pattern, boundary.outside, deps.workspaceRoot);
  const matches = (pattern: string) => resources.some((r) => matchResource(pattern, r));
  // Untrusted content steering an escape is always a human's call.
  if (untrusted && boundary.escape) {
    return {
      needsAsk: `it leaves the workspace (${boundary.outside.join(", ")}) and its arguments ` +
        `came from untrusted content (${provenance?.source ?? "unknown source"})`,
    };
  }
  const askRule = deps.rules.ask.find(matches);
  if (!askRule && !opaque) {
    const allowRule = deps.rules.allow.find((p) => matches(p) && names(p));
    if (allowRule) return { proof: `rule:${allowRule}` };
  }
  if (!opaque) {
    const token = deps.tokens.findCovering(
      resources,
      info.permission,
      deps.subjects,
      (t) => names(t.resource),
    );
    if (token) {
      // consume() also sees a revocation made by another process since this store opened.
      const used = await deps.tokens.consume(token as never);
      if (used.ok) return { proof: `token:${token.id}` };
    }
  }
  const untrustedInSafe = untrusted && deps.mode === "safe";
  if (!untrustedInSafe && !opaque) {
    const allowance = deps.allowances.find(resources, info.permission, names);
    if (allowance) return { proof: `allowance:${allowance.id}` };
  }
  if (askRule) return { needsAsk: `the rule ask = "${askRule}" requires a prompt` };
  if (boundary.autoApprove && !untrustedInSafe) return { proof: `mode:${deps.mode}` };
  if (untrustedInSafe) {
    return {
      needsAsk: `its arguments came from untrusted content (${
        provenance?.source ?? "unknown source"
      })`,
    };
  }
  if (opaque) {
    return {
      needsAsk: `the policy cannot see inside this command (${opaque}); no standing rule, token ` +
        "or session allowance covers it",
    };
  }
  if (boundary.escape) return { needsAsk: boundary.reason };
  return { needsAsk: `${deps.mode} mode asks about ${action.kind}` };
}

/**
 * The patterns a prompt offers for Allow Session / Always: the exact resource, then broader
 * ones (see `suggestPatterns`). Nothing offered is wider than the workspace unless the action
 * itself left it:
 * - an action that leaves the workspace gets only patterns that name its outside paths
 *   themselves, so an answer never grants more escape than the human saw;
 * - an action whose paths cannot be checked (words expanded at run time) gets only its exact
 *   resource, since a prefix of it could cover anything later;
 * - a folder pattern (`file:///ws/src/**`) is offered only for a folder inside the workspace.
 *
 * @example An escape gets no prefix that merely matches
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { suggestFor } from "./coverage.ts";
 * const escape = { inside: false, escape: true, autoApprove: false, reason: "", outside: ["/root"] };
 * deepEqual(suggestFor("exec://ls src /root", escape, "/ws"), ["exec://ls src /root"]);
 * const file = { ...escape, outside: ["/etc/hosts"] };
 * deepEqual(suggestFor("file:///etc/hosts", file, "/ws"), ["file:///etc/hosts", "file:///etc/**"]);
 * const unknown = { ...escape, escape: false, outside: [] };
 * deepEqual(suggestFor("exec://ls $HOME", unknown, "/ws"), ["exec://ls $HOME"]);
 * ```
 */
export function suggestFor(resource: string, boundary: BoundaryDecision, root: string): string[] {
  const all = suggestPatterns(resource);
  if (boundary.escape) return all.filter((p) => patternNames(p, boundary.outside, root));
  if (!boundary.inside) return all.slice(0, 1);
  return all.filter((p) => !p.endsWith("/**") || !p.startsWith("file://") || folderInside(p, root));
}

function folderInside(pattern: string, root: string): boolean {
  const folder = pattern.slice("file://".length, -"/**".length);
  return folder.startsWith("/") && inside(normalizePath(folder), root);
}
