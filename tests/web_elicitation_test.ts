/**
 * An MCP elicitation answered from the web inbox, in a real browser: a real daemon (through
 * the launcher) hosts a session whose model (the loopback fake Anthropic server) calls a real
 * stdio MCP server's tool; that server asks the human for a form (MCP elicitation); the form
 * appears in a phone-sized chromium page, is filled in and sent, and the server receives it.
 * (The daemon's checks of the content against the form are in
 * runtime/daemon/methods/elicitations_test.ts.)
 *
 * @module
 */
import { equal, match } from "node:assert/strict";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { startFakeAnthropic } from "../runtime/llm/replay_anthropic.ts";
import type { DaemonClient } from "../runtime/daemon/client.ts";
import { fixturePath } from "../runtime/mcp/_testing.ts";
import { runCli, tempDirs } from "./cli.ts";
import { connectWhenUp, fakeModelEnv, spawnDaemonRun } from "./daemon_helpers.ts";

const CHROMIUM = "/usr/lib/chromium/chromium";
const haveChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
const required = (Deno.env.get("ASTRID_REQUIRE_BROWSER") ?? "") !== "";

Deno.test({
  name: "web inbox: an MCP server's form is answered from a phone and reaches the server",
  ignore: !haveChromium && !required,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { home, ws } = await tempDirs();
    equal((await runCli(["init", ws], { home })).code, 0);
    const server = fixturePath("mcp_elicitation_server.ts");
    await Deno.writeTextFile(
      join(home, "config.toml"),
      `[servers.e]\ntransport = "stdio"\nsandbox = "off"\ncommand = ${
        JSON.stringify(Deno.execPath())
      }\nargs = ${JSON.stringify(["run", "--allow-env", "--allow-read", server])}\n\n` +
        `[permissions]\nallow = ["mcp://e/ask_name"]\n`,
    );
    const fake = startFakeAnthropic([
      { text: "Asking.", toolCalls: [{ id: "t1", name: "mcp__e__ask_name", args: {} }] },
      { text: "Thanks." },
    ]);
    const daemon = spawnDaemonRun(home, ws, fakeModelEnv(fake.url));
    let client: DaemonClient | null = null;
    let browser: Browser | null = null;
    try {
      client = await connectWhenUp(home);
      const open = await runCli(["daemon", "open", "--print"], { home, cwd: ws });
      equal(open.code, 0, open.stderr);
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ["--no-sandbox"],
      });
      const phone = await browser.newContext({
        viewport: { width: 390, height: 844 },
        isMobile: true,
        hasTouch: true,
      });
      const page = await phone.newPage();
      page.setDefaultTimeout(30_000);
      await page.goto(open.stdout.trim());
      await page.locator("#conn[data-state=open]").waitFor();

      const { sessionId } = await client.call<{ sessionId: string }>("sessions.create", {
        workspace: ws,
      });
      const turn = client.call<{ status: string }>("sessions.send", {
        sessionId,
        text: "ask me",
        wait: true,
      }, { timeoutMs: 60_000 });
      const form = page.locator("li.elicitation");
      await form.waitFor();
      match(await form.innerText(), /What is your name\?/);
      // The default of an optional field is pre-filled; the required one is typed in.
      equal(await form.locator('input[name="f-color"]').inputValue(), "blue");
      await form.locator('input[name="f-name"]').fill("Ada");
      await form.locator("button.answer-once").tap();
      await form.waitFor({ state: "detached" });
      equal((await turn).status, "completed");
      const shown = await client.call<{ messages: { content: { type: string }[] }[] }>(
        "sessions.show",
        { sessionId },
      );
      const results = JSON.stringify(
        shown.messages.flatMap((m) => m.content.filter((c) => c.type === "tool_result")),
      ).replaceAll("\\", "");
      match(results, /"action":"accept"/);
      match(results, /"name":"Ada"/);
      match(results, /"color":"blue"/);
    } finally {
      client?.close();
      await browser?.close();
      try {
        daemon.kill("SIGTERM");
      } catch { /* already gone */ }
      await daemon.status;
      await fake.close();
      await Deno.remove(home, { recursive: true }).catch(() => {});
      await Deno.remove(ws, { recursive: true }).catch(() => {});
    }
  },
});
