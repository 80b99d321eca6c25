/**
 * The `bash` tool: classifies a command line into one `execute_command` per simple command
 * (found by the real shell parser in `security/shell.ts`), `file_write`/`file_read` for
 * redirect targets, and `network_request` for every host it would contact. A line whose words
 * hold expansions (`$X`, `$(…)`), or whose relative redirects follow a `cd`, also yields the
 * whole line as `bash -c LINE`, so a rule over its visible parts never covers what the
 * expansion turns out to be. Here-documents and here-strings are input, never file paths.
 * A command that hands code to an interpreter the policy cannot read (`… | sh`,
 * `python3 -c`, `eval "$x"`: see `security/opaque.ts`) is marked `opaque`, and so is the
 * whole-line action of its line.
 *
 * @module
 */
import type { Action } from "../security/action.ts";
import { parseCommandLine } from "../security/shell.ts";
import { canonicalizePath } from "../security/workspace.ts";
import { argsObject, optInt, reqString } from "./_args.ts";
import {
  type BashArgs,
  type BuiltinTool,
  DEFAULT_BASH_TIMEOUT_MS,
  MAX_BASH_TIMEOUT_MS,
} from "./types.ts";

const WRITE_OPS: ReadonlySet<string> = new Set([">", ">>", ">|", "&>", "&>>", ">&", "<>"]);
const READ_OPS: ReadonlySet<string> = new Set(["<"]);
// `<<`, `<<-` and `<<<` feed text, `<&` duplicates a descriptor: none names a file.
const CWD_MOVERS: ReadonlySet<string> = new Set(["cd", "pushd", "popd"]);
const HARMLESS_TARGETS: ReadonlySet<string> = new Set([
  "/dev/null",
  "/dev/stdout",
  "/dev/stderr",
  "/dev/tty",
]);

/**
 * The `bash` tool.
 *
 * @example Classify a line with a redirect and a download
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { bashTool } from "./bash_tool.ts";
 * const root = await Deno.realPath(await Deno.makeTempDir());
 * const ctx = { workspaceRoot: root, sessionId: "s", cwd: root };
 * const args = bashTool.parse({ command: "curl -s https://example.com/x > out.txt" });
 * deepEqual((await bashTool.classify(args, ctx)).map((a) => a.kind), [
 *   "execute_command",
 *   "file_write",
 *   "network_request",
 * ]);
 * ```
 */
export const bashTool: BuiltinTool<BashArgs> = {
  definition: {
    name: "bash",
    description:
      "Run a bash command line in the workspace sandbox. The working directory persists between calls. " +
      "The filesystem outside the workspace is read-only, /tmp is private, and there is no network unless approved. " +
      "Output (stdout and stderr together) is capped.",
    inputSchema: {
      type: "object",
      properties: {
        command: { type: "string", description: "The command line" },
        timeout: {
          type: "integer",
          description:
            `Timeout in milliseconds (default ${DEFAULT_BASH_TIMEOUT_MS}, max ${MAX_BASH_TIMEOUT_MS})`,
          minimum: 1,
          maximum: MAX_BASH_TIMEOUT_MS,
        },
      },
      required: ["command"],
      additionalProperties: false,
    },
  },
  parse(args) {
    const o = argsObject("bash", args, ["command", "timeout"]);
    return {
      command: reqString("bash", o, "command", { path: true }),
      timeout: optInt("bash", o, "timeout", 1, MAX_BASH_TIMEOUT_MS) ?? DEFAULT_BASH_TIMEOUT_MS,
    };
  },
  async classify(args, ctx) {
    const line = args.command;
    const parsed = parseCommandLine(line); // SyntaxError on a line that does not parse
    // What only a command line needs loads with the first one: a file tool's call never pays it.
    const [{ opaqueReasons }, { networkTargets }] = await Promise.all([
      import("../security/opaque.ts"),
      import("./network_need.ts"),
    ]);
    const reasons = opaqueReasons(parsed);
    const actions: Action[] = parsed.commands.map((argv, i) =>
      command(argv, line, ctx.cwd, reasons[i])
    );
    // A `cd` earlier in the line moves where relative redirects land, so they are only a guess.
    const movesCwd = parsed.commands.some((argv) => CWD_MOVERS.has(argv[0] ?? ""));
    const redirects = parsed.redirects.filter(({ op, target }) =>
      (WRITE_OPS.has(op) || READ_OPS.has(op)) && target !== "" && !HARMLESS_TARGETS.has(target) &&
      !(op === ">&" && /^(\d+-?|-)$/.test(target)) // `2>&1`, `>&-`: a descriptor, not a file
    );
    const guessed = movesCwd && redirects.some(({ target }) => !target.startsWith("/"));
    if (parsed.dynamic || guessed || parsed.commands.length === 0) {
      const opaque = reasons.find((r) => r !== undefined);
      actions.push(command(["bash", "-c", line], line, ctx.cwd, opaque));
    }
    for (const { op, target } of redirects) {
      const path = await canonicalizePath(target, ctx.cwd);
      actions.push({ kind: WRITE_OPS.has(op) ? "file_write" : "file_read", path });
    }
    const urls = new Set(parsed.commands.flatMap((argv) => networkTargets(argv)));
    for (const url of urls) actions.push({ kind: "network_request", url });
    return actions;
  },
  run: (args, ctx, env, options) => env.shell.run(args, ctx, options),
};

function command(
  argv: string[],
  line: string,
  cwd: string,
  opaque: string | undefined,
): Action {
  const action = { kind: "execute_command", argv, line, cwd } as const;
  return opaque === undefined ? action : { ...action, opaque };
}
