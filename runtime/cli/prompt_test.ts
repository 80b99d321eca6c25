import { deepEqual, equal, match, ok } from "node:assert/strict";
import { McpServerManager } from "../mcp/mod.ts";
import { frontendElicitor } from "../mcp/elicitation.ts";
import { fixtureServer } from "../mcp/_testing.ts";
import type { CliIo } from "./context.ts";
import type { ApprovalRequest } from "../security/approval.ts";
import type { Key } from "./_line_editor.ts";
import {
  describeRequest,
  provenanceSources,
  provenanceSummary,
  TerminalFrontend,
} from "./prompt.ts";

function scriptedIo(lines: (string | null)[]): CliIo & { shown: string[] } {
  const shown: string[] = [];
  return {
    env: {},
    cwd: "/",
    isTty: true,
    shown,
    stdout: (s) => void shown.push(s),
    stderr: (s) => void shown.push(s),
    readLine: (prompt) => {
      shown.push(prompt);
      return Promise.resolve(lines.length ? lines.shift()! : null);
    },
  };
}

Deno.test("a server's form elicitation is asked at the terminal, defaults applied", async () => {
  const io = scriptedIo(["Ada", "", "y"]);
  const elicitor = frontendElicitor(new TerminalFrontend(io))!;
  await using manager = new McpServerManager({
    servers: [fixtureServer("e", "mcp_elicitation_server.ts")],
    parentEnv: { PATH: Deno.env.get("PATH") },
    baseDir: "/",
    connection: { elicitor },
  });
  const result = await manager.callTool("e", "ask_name", {});
  const text = (result.content as { text: string }[])[0]!.text;
  deepEqual(JSON.parse(text), { action: "accept", content: { name: "Ada", color: "blue" } });
  match(io.shown.join(""), /MCP server e asks: What is your name\?/);
});

Deno.test("a URL elicitation shows the URL and a decline goes back to the server", async () => {
  const io = scriptedIo(["d"]);
  const elicitor = frontendElicitor(new TerminalFrontend(io))!;
  await using manager = new McpServerManager({
    servers: [fixtureServer("e", "mcp_elicitation_server.ts")],
    parentEnv: { PATH: Deno.env.get("PATH") },
    baseDir: "/",
    connection: { elicitor },
  });
  const result = await manager.callTool("e", "ask_login", {});
  const text = (result.content as { text: string }[])[0]!.text;
  equal(JSON.parse(text).action, "decline");
  match(io.shown.join(""), /https:\/\/example\.com\/login/);
});

Deno.test("a frontend that cannot elicit gives no elicitor (not advertised)", () => {
  equal(frontendElicitor(null), null);
  equal(frontendElicitor({ canAsk: () => true, ask: () => Promise.reject(new Error("x")) }), null);
});

/** A request as the interceptor builds it; the provenance repeats sources, as it did in the issue. */
function request(suggestions: string[] = []): ApprovalRequest {
  const source = "write_file b.txt; read_file a.txt; write_file b.txt";
  return {
    id: "r1",
    sessionId: "s1",
    action: { kind: "file_write", path: "/ws/b.txt" } as never,
    info: { risk: "medium", summary: "write /ws/b.txt", resource: "file:///ws/b.txt" } as never,
    reason: `its arguments came from untrusted content (${source})`,
    provenance: { trust: "untrusted", source },
    suggestions,
  };
}

/** Single keys fed to the prompt one by one, and everything it showed. */
function keyed(
  keys: (Key | null)[],
): { frontend: TerminalFrontend; shown: string[]; left: () => number } {
  const io = scriptedIo([]);
  const queue = [...keys];
  const frontend = new TerminalFrontend(io, {
    readKey: () => Promise.resolve(queue.length ? queue.shift()! : null),
    writeRaw: (s) => void io.shown.push(s),
    colour: false,
  });
  return { frontend, shown: io.shown, left: () => queue.length };
}

const ch = (text: string): Key => ({ kind: "char", text });
const signal = new AbortController().signal;

Deno.test("ask() takes one keypress: o, s, a and d answer at once, n denies", async () => {
  for (const [key, choice] of [["o", "once"], ["O", "once"], ["d", "deny"], ["n", "deny"]]) {
    const p = keyed([ch(key!)]);
    deepEqual(await p.frontend.ask(request(), signal), { choice });
    equal(p.left(), 0);
  }
  // With a single suggestion there is no scope question.
  const p = keyed([ch("a"), ch("x")]);
  deepEqual(await p.frontend.ask(request(["file:///ws/b.txt"]), signal), { choice: "always" });
  equal(p.left(), 1, "the next key is not read");
});

Deno.test("ask(): Enter alone decides nothing; arrows pick; Esc, Ctrl-C and end of input deny", async () => {
  let p = keyed([{ kind: "enter" }, ch("x"), { kind: "right" }, { kind: "right" }, {
    kind: "enter",
  }]);
  deepEqual(await p.frontend.ask(request(["file:///ws/b.txt"]), signal), { choice: "session" });
  match(p.shown.join(""), /please press o, s, a or d/);
  match(p.shown.join(""), />\[s\] allow session</);
  p = keyed([{ kind: "left" }, { kind: "enter" }]);
  deepEqual(await p.frontend.ask(request(), signal), { choice: "deny" });
  for (
    const [key, reason] of [
      [{ kind: "escape" }, "Esc at the prompt"],
      [{ kind: "interrupt" }, "Ctrl-C at the prompt"],
      [null, "end of input at the prompt"],
    ] as const
  ) {
    deepEqual(await keyed([key]).frontend.ask(request(), signal), { choice: "deny", reason });
  }
  // A paste is not an answer.
  p = keyed([{ kind: "paste", text: "o\ns" }, ch("d")]);
  deepEqual(await p.frontend.ask(request(), signal), { choice: "deny" });
});

Deno.test("the scope question takes only a listed number, asks again otherwise, and Esc denies", async () => {
  const scopes = ["file:///ws/b.txt", "file:///ws/**"];
  let p = keyed([ch("a"), ch("x"), ch("9"), ch("0"), { kind: "enter" }, ch("2")]);
  deepEqual(await p.frontend.ask(request(scopes), signal), {
    choice: "always",
    pattern: "file:///ws/**",
  });
  equal(p.shown.join("").split("please press a number from 1 to 2").length, 5);
  p = keyed([ch("s"), { kind: "down" }, { kind: "down" }, { kind: "enter" }]);
  deepEqual(await p.frontend.ask(request(scopes), signal), {
    choice: "session",
    pattern: "file:///ws/**",
  });
  p = keyed([ch("s"), { kind: "escape" }]);
  deepEqual(await p.frontend.ask(request(scopes), signal), {
    choice: "deny",
    reason: "no scope chosen at the prompt",
  });
});

Deno.test("line mode: answers are strict too (the scope question re-asks on anything unlisted)", async () => {
  const io = scriptedIo(["maybe", "s", "", "x", "3", "2"]);
  const answer = await new TerminalFrontend(io).ask(
    request(["file:///ws/b.txt", "file:///ws/**"]),
    signal,
  );
  deepEqual(answer, { choice: "session", pattern: "file:///ws/**" });
  equal(io.shown.join("").split("please answer a number from 1 to 2").length, 4);
  match(io.shown.join(""), /please answer o, s, a or d/);
  deepEqual(await new TerminalFrontend(scriptedIo(["a", null])).ask(request(["x", "y"]), signal), {
    choice: "deny",
    reason: "no scope chosen at the prompt",
  });
});

Deno.test("provenance is shown once, the most relevant source first; ? lists every source", async () => {
  const text = describeRequest(request());
  equal(text.split("read_file a.txt").length, 2, text);
  ok(!text.includes("write_file b.txt"), text);
  match(text, /why: +its arguments came from untrusted content\n/);
  match(text, /source: +untrusted data from read_file a\.txt \(\+1 more\) · press \? for all/);
  const p = keyed([ch("?"), ch("d")]);
  await p.frontend.ask(request(), signal);
  match(p.shown.join(""), /1\. read_file a\.txt\n +2\. write_file b\.txt/);
  deepEqual(provenanceSources({ trust: "trusted" }), { sources: [], hidden: 0 });
  equal(provenanceSummary({ trust: "untrusted" }), "an unknown source");
});
