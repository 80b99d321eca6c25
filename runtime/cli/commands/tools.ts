/**
 * `astrid tools list [--json]` and `astrid tools call NAME --args JSON [--approve …] [--session ID]`.
 * A call runs through the full interceptor in the current workspace. With no TTY and no
 * `--approve`, an action that needs approval is deferred (exit 4, the id is printed). What the
 * commands do is in _tools_run.ts.
 *
 * @module
 */
import { Command, Option } from "commander";
import type { CliIo } from "../context.ts";
import {
  callToolAction,
  type CallToolOpts,
  listToolsAction,
  MCP_LIST_TIMEOUT_MS,
} from "./_tools_run.ts";

/** Builds the `tools` command tree. */
export function toolsCommand(io: CliIo): Command {
  const tools = new Command("tools")
    .description(
      "List and call tools: the built-in ones, installed capsules' (<capsule>__<tool>) and " +
        "configured MCP servers' (mcp__<server>__<tool>)",
    )
    .addHelpText(
      "after",
      "\nTool names:\n" +
        "  read_file, write_file, bash, …   built-in tools (`astrid tools list`)\n" +
        "  <capsule>__<tool>               a tool of an installed capsule (`astrid capsule list`)\n" +
        "  mcp__<server>__<tool>           a tool of a configured MCP server (`astrid servers tools`)\n" +
        "Every call passes the security interceptor; `tools list` gives each MCP server " +
        `${MCP_LIST_TIMEOUT_MS / 1000} s to answer and marks the slow ones.\n`,
    );
  tools.command("list")
    .description("List the tools (built-in, capsule and MCP) with their parameters")
    .option("--json", "machine-readable output (definitions with JSON schemas)")
    .action(async (_opts: unknown, cmd: Command) => {
      await listToolsAction(io, cmd);
    });
  tools.command("call")
    .description("Call a tool through the security interceptor")
    .argument("<name>", "tool name (see `astrid tools list`)")
    .option("--args <json>", "the tool's arguments as a JSON object", "{}")
    .addOption(
      new Option("--approve <answer>", "the human's answer given up front")
        .choices(["once", "session", "always", "deny"]),
    )
    .option(
      "--session <id>",
      "session id, or a unique prefix of a known one (default: a fresh session)",
    )
    .option("--json", "print the outcome as JSON")
    .action(async (name: string, opts: CallToolOpts, cmd: Command) => {
      await callToolAction(io, name, opts, cmd);
    });
  return tools;
}
