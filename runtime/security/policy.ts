/**
 * The admin policy: hard walls that no token, rule or human approval overrides. `check` is
 * pure and fast: every pattern is compiled in the constructor, and paths arrive already
 * canonicalised (workspace.ts).
 *
 * @module
 */
import { type Action, actionHost, actionPath, aliasResources, describeAction } from "./action.ts";
import { compileResourcePattern, execResource, type ResourcePattern } from "./resource.ts";
import { CommandLineParser, type ParsedCommandLine } from "./shell.ts";
import { basename, wrapperChain } from "./_argv.ts";
import { BlockedCommand, EXPANSION_CHARS, PathMatcher, plainArgv } from "./_policy_match.ts";
import { HostMatcher, hostsIn, NET_COMMANDS } from "./_hosts.ts";
import { NO_WALLS, type Walls } from "./walls.ts";
import { checkConfigWalls } from "./_config_walls.ts";
import type { PolicyConfig, PolicyContext, PolicyVerdict } from "./policy_types.ts";

export {
  DEFAULT_POLICY,
  type PolicyConfig,
  type PolicyContext,
  type PolicyVerdict,
} from "./policy_types.ts";

const ALLOW: PolicyVerdict = Object.freeze({ ok: true });
const REDIRECT_NON_FILE = new Set(["<<", "<<-", "<<<"]);

function deny(rule: string, reason: string): PolicyVerdict {
  return { ok: false, code: "POLICY", rule, reason };
}

/**
 * The compiled admin policy.
 *
 * @example Denies what the admin walled off, whatever else allows it
 * ```ts
 * import { deepEqual, equal } from "node:assert/strict";
 * import { AdminPolicy, DEFAULT_POLICY } from "./policy.ts";
 * const policy = new AdminPolicy(DEFAULT_POLICY);
 * const verdict = policy.check({ kind: "execute_command", argv: ["sh"], line: "echo ok && sudo id" });
 * equal(verdict.ok, false);
 * deepEqual(policy.check({ kind: "execute_command", argv: ["git", "status"] }), { ok: true });
 * ```
 */
export class AdminPolicy {
  #max: number;
  #tools: Set<string>;
  #capsules: Set<string>;
  #paths: PathMatcher;
  #hosts: HostMatcher;
  #commands: BlockedCommand[];
  #rules: ResourcePattern[];
  #walls: Walls;
  #sandboxed: boolean;
  #shell = new CommandLineParser();

  constructor(config: PolicyConfig) {
    const max = config.max_argument_bytes;
    if (!Number.isSafeInteger(max) || max <= 0) {
      throw new RangeError(`Cannot use max_argument_bytes: current value is ${max}`);
    }
    this.#max = max;
    this.#tools = new Set(config.blocked_tools);
    this.#capsules = new Set(config.blocked_capsules);
    this.#paths = new PathMatcher(config.denied_paths);
    this.#hosts = new HostMatcher(config.denied_hosts);
    this.#commands = config.blocked_commands.map((entry) => {
      // Plain entries split as the shell would, without loading the shell parser (mvdan-sh).
      const first = plainArgv(entry) ?? this.#shell.parse(entry).commands[0];
      return new BlockedCommand(entry, first ?? []);
    });
    this.#rules = config.deny_rules.map((r) => compileResourcePattern(r));
    this.#walls = config.walls ?? NO_WALLS;
    this.#sandboxed = config.sandboxed === true;
  }

  /**
   * Checks one action. Pure: no I/O, no clock.
   *
   * @example A command hidden in a subshell is still denied
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { AdminPolicy, DEFAULT_POLICY } from "./policy.ts";
   * const v = new AdminPolicy(DEFAULT_POLICY).check({ kind: "execute_command", argv: ["sh"], line: "(sudo id)" });
   * equal(v.ok, false);
   * ```
   */
  check(action: Action, ctx: PolicyContext = {}): PolicyVerdict {
    if (ctx.tool !== undefined && this.#tools.has(ctx.tool)) {
      return deny("blocked_tools", `Cannot call tool ${ctx.tool}: the admin policy blocks it`);
    }
    for (const name of [ctx.capsule, "capsule" in action ? action.capsule : undefined]) {
      if (name !== undefined && this.#capsules.has(name)) {
        return deny("blocked_capsules", `Cannot run capsule ${name}: the admin policy blocks it`);
      }
    }
    if (ctx.argumentBytes !== undefined && !(ctx.argumentBytes <= this.#max)) {
      return deny(
        "max_argument_bytes",
        `Cannot accept arguments: current size is ${ctx.argumentBytes} bytes, over ${this.#max}`,
      );
    }
    const path = actionPath(action);
    if (path !== undefined) {
      const verdict = this.#checkSize(path) ?? this.#checkWalls(action) ?? this.#checkPath(path);
      if (verdict) return verdict;
    }
    if (action.kind === "network_request" || action.kind === "capsule_http_request") {
      let host: string | undefined;
      try {
        host = actionHost(action);
      } catch (e) {
        return deny("denied_hosts", `Cannot check host: ${(e as Error).message}`);
      }
      const verdict = host === undefined ? undefined : this.#checkHost(host);
      if (verdict) return verdict;
    }
    let extra: string[][] = [];
    if (action.kind === "execute_command") {
      let parsed: ParsedCommandLine;
      try {
        parsed = this.#shell.parseArgv(action.argv);
        if (action.line !== undefined) {
          const fromLine = this.#shell.parse(action.line);
          parsed.commands.push(...fromLine.commands);
          parsed.redirects.push(...fromLine.redirects);
        }
      } catch (e) {
        return deny(
          "shell_parse",
          `Cannot check command (denied, fail closed): ${(e as Error).message}`,
        );
      }
      const verdict = this.#checkWalls(action, parsed) ?? this.#checkCommands(parsed, action.cwd);
      if (verdict) return verdict;
      extra = parsed.commands.flatMap((c) => wrapperChain(c));
    }
    if (action.kind === "mcp_tool_call") {
      const verdict = this.#checkWalls(action);
      if (verdict) return verdict;
    }
    return this.#checkRules(action, extra) ?? ALLOW;
  }

  #checkWalls(action: Action, parsed?: ParsedCommandLine): PolicyVerdict | undefined {
    const why = checkConfigWalls(action, this.#walls, parsed);
    return why === undefined ? undefined : deny("config_walls", why);
  }

  #checkSize(value: string): PolicyVerdict | undefined {
    if (value.length * 3 <= this.#max) return undefined;
    const bytes = new TextEncoder().encode(value).length;
    if (bytes <= this.#max) return undefined;
    return deny(
      "max_argument_bytes",
      `Cannot accept argument: current size is ${bytes} bytes, over ${this.#max}`,
    );
  }

  #checkPath(path: string): PolicyVerdict | undefined {
    const glob = this.#paths.match(path);
    return glob === undefined ? undefined : deny(
      "denied_paths",
      `Cannot touch ${path}: the admin policy denies ${glob}`,
    );
  }

  #checkPathArg(arg: string, cwd: string | undefined): PolicyVerdict | undefined {
    let path: string | undefined;
    if (arg.startsWith("/") || arg.startsWith("~")) path = arg;
    else if (cwd !== undefined && /(^|\/)\.\.(\/|$)/.test(arg)) path = `${cwd}/${arg}`;
    if (path === undefined) return undefined;
    const glob = EXPANSION_CHARS.test(path)
      ? this.#paths.matchDynamic(path)
      : this.#paths.match(path);
    return glob === undefined
      ? undefined
      : deny("denied_paths", `Cannot touch ${arg}: the admin policy denies ${glob}`);
  }

  #checkHost(host: string): PolicyVerdict | undefined {
    const glob = this.#hosts.match(host);
    return glob === undefined
      ? undefined
      : deny("denied_hosts", `Cannot contact ${host}: the admin policy denies ${glob}`);
  }

  #checkCommands(parsed: ParsedCommandLine, cwd: string | undefined): PolicyVerdict | undefined {
    if (cwd !== undefined) {
      const verdict = this.#checkPathArg(cwd, undefined);
      if (verdict) return verdict;
    }
    for (const argv of parsed.commands) {
      let net = false;
      for (const level of wrapperChain(argv)) {
        net ||= NET_COMMANDS.has(basename(level[0] ?? ""));
        const name = level[0] ?? "";
        if (EXPANSION_CHARS.test(name)) {
          if (this.#sandboxed) continue; // opaque: asked, and contained by the wall
          return deny(
            "blocked_commands",
            `Cannot verify command ${name}: its name is only known at run time (fail closed)`,
          );
        }
        for (const blocked of this.#commands) {
          if (blocked.matches(level)) {
            return deny(
              "blocked_commands",
              `Cannot run ${level.join(" ")}: the admin policy blocks "${blocked.source}"`,
            );
          }
        }
      }
      for (const arg of argv) {
        const verdict = this.#checkSize(arg) ?? this.#checkArg(arg, cwd, net);
        if (verdict) return verdict;
      }
    }
    for (const { op, target } of parsed.redirects) {
      if (REDIRECT_NON_FILE.has(op) || target === "") continue;
      if ((op === ">&" || op === "<&") && /^(\d+-?|-)$/.test(target)) continue;
      const path = target.startsWith("/") || target.startsWith("~") || cwd === undefined
        ? target
        : `${cwd}/${target}`;
      const verdict = this.#checkPathArg(path, cwd);
      if (verdict) return verdict;
    }
    return undefined;
  }

  #checkArg(arg: string, cwd: string | undefined, net: boolean): PolicyVerdict | undefined {
    const eq = arg.indexOf("=");
    for (const candidate of eq === -1 ? [arg] : [arg, arg.slice(eq + 1)]) {
      const verdict = this.#checkPathArg(candidate, cwd);
      if (verdict) return verdict;
      for (const host of hostsIn(candidate, net)) {
        const v = this.#checkHost(host);
        if (v) return v;
      }
    }
    return undefined;
  }

  #checkRules(action: Action, commands: string[][]): PolicyVerdict | undefined {
    if (this.#rules.length === 0) return undefined;
    let resources: string[];
    try {
      resources = [describeAction(action).resource, ...aliasResources(action)];
      for (const argv of commands) if (argv.length > 0) resources.push(execResource(argv));
    } catch (e) {
      return deny(
        "deny_rules",
        `Cannot name the action's resource (fail closed): ${(e as Error).message}`,
      );
    }
    for (const rule of this.#rules) {
      for (const resource of resources) {
        if (rule.test(resource)) {
          return deny("deny_rules", `Cannot access ${resource}: denied by rule ${rule.source}`);
        }
      }
    }
    return undefined;
  }
}
