/**
 * The web inbox in a real browser: Debian's chromium, headless, driven by playwright-core, in a
 * phone-sized context (390×844, touch). A real daemon (`astrid daemon start`), real deferrals
 * (`astrid tools call` without a TTY exits 4), the one-time login URL of `astrid daemon open`.
 *
 * Skipped (with a message) only when chromium is missing and ASTRID_REQUIRE_BROWSER is unset;
 * `deno task setup` installs it.
 *
 * @module
 */
import { equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { runCli, tempDirs } from "./cli.ts";

const CHROMIUM = "/usr/lib/chromium/chromium";
const ARTIFACTS = new URL("../.artifacts/", import.meta.url).pathname;
const PHONE = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
};
const WAIT_MS = 30_000;

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);
const haveChromium = await exists(CHROMIUM);
const required = (Deno.env.get("ASTRID_REQUIRE_BROWSER") ?? "") !== "";
if (!haveChromium && !required) {
  console.warn(
    `web_inbox_test: SKIPPED: ${CHROMIUM} is missing (run \`deno task setup\`, which installs ` +
      "Debian's chromium; set ASTRID_REQUIRE_BROWSER=1 to make this a failure)",
  );
}

/** `astrid tools call write_file` with no TTY: deferred (exit 4); the id and what stderr said. */
async function deferWrite(
  home: string,
  ws: string,
  file: string,
): Promise<{ id: string; stderr: string }> {
  const run = await runCli([
    "tools",
    "call",
    "write_file",
    "--args",
    JSON.stringify({ file_path: file, content: `written ${file}\n` }),
  ], { home, cwd: ws });
  equal(run.code, 4, run.stderr);
  return { id: run.stdout.trim(), stderr: run.stderr };
}

async function status(home: string, ws: string, id: string): Promise<string> {
  const run = await runCli(["approvals", "show", id, "--json"], { home, cwd: ws });
  equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout).status;
}

const card = (page: Page, id: string) => page.locator(`li.approval[data-id="${id}"]`);

/** Serves a page of another origin that tries the daemon's WebSocket and a cross-site POST. */
function foreignSite(daemonUrl: string, linkPath: string, token: string) {
  const page = `<!doctype html><html><head><title>waiting</title></head><body><script>
    const results = {};
    const done = () => { document.title = JSON.stringify(results); };
    const ws = new WebSocket(${JSON.stringify(daemonUrl.replace(/^http/, "ws") + "/rpc")});
    ws.onopen = () => { results.ws = "open"; ws.close(); fetchIt(); };
    ws.onerror = () => { results.ws = "refused"; fetchIt(); };
    function fetchIt() {
      const body = new URLSearchParams({ csrf: ${JSON.stringify(token)}, answer: "once" });
      fetch(${JSON.stringify(daemonUrl + linkPath)}, { method: "POST", mode: "no-cors",
        credentials: "include", body })
        .then(() => { results.post = "sent"; done(); }, () => { results.post = "failed"; done(); });
    }
  </script></body></html>`;
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(page, { headers: { "content-type": "text/html" } }),
  );
}

Deno.test({
  name:
    "web inbox: a phone approves and denies deferred actions; links work once; other origins cannot",
  ignore: !haveChromium && !required,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (!haveChromium) {
      throw new Error(`Cannot run the browser test: ${CHROMIUM} is missing (deno task setup)`);
    }
    const { home, ws } = await tempDirs();
    let browser: Browser | null = null;
    let foreign: Deno.HttpServer | null = null;
    try {
      equal((await runCli(["init", ws], { home })).code, 0);
      // Started in the workspace, so the daemon may write there when an approval runs.
      const start = await runCli(["daemon", "start"], { home, cwd: ws });
      equal(start.code, 0, start.stderr);
      const open = await runCli(["daemon", "open", "--print"], { home, cwd: ws });
      equal(open.code, 0, open.stderr);
      const loginUrl = open.stdout.trim();
      match(loginUrl, /^http:\/\/127\.0\.0\.1:\d+\/login\?code=[A-Za-z0-9_-]{43}$/);
      const origin = new URL(loginUrl).origin;

      browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ["--no-sandbox"], // CI runs as root
      });
      const phone: BrowserContext = await browser.newContext(PHONE);
      const page = await phone.newPage();
      page.setDefaultTimeout(WAIT_MS);
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));

      // Sign in: the code is exchanged for an HttpOnly, SameSite=Strict cookie and leaves the URL.
      await page.goto(loginUrl);
      equal(page.url(), `${origin}/`);
      const cookies = await phone.cookies();
      equal(cookies.length, 1);
      equal(cookies[0]!.name, "astrid_web");
      ok(cookies[0]!.httpOnly);
      equal(cookies[0]!.sameSite, "Strict");
      equal(await page.evaluate(() => document.cookie), "");
      await page.locator("#conn[data-state=open]").waitFor();
      // The login URL is dead now.
      const reuse = await (await browser.newContext()).request.get(loginUrl, { maxRedirects: 0 });
      equal(reuse.status(), 403);

      // A deferred write appears live; Approve once runs it and the entry goes.
      const first = await deferWrite(home, ws, "approved.txt");
      match(first.stderr, new RegExp(`approve ${first.id} from a browser or phone`));
      await card(page, first.id).waitFor();
      match(await card(page, first.id).innerText(), /approved\.txt/);
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, "web-inbox-phone.png"), fullPage: true });
      const layout = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        width: globalThis.innerWidth,
        smallest: Math.min(
          ...[...document.querySelectorAll("button")].filter((b) => b.offsetParent !== null)
            .map((b) => b.getBoundingClientRect().height),
        ),
        storage: localStorage.length + sessionStorage.length,
      }));
      ok(
        layout.scroll <= layout.width,
        `no horizontal scroll (${layout.scroll} > ${layout.width})`,
      );
      ok(layout.smallest >= 44, `touch targets are at least 44 px (${layout.smallest})`);
      equal(layout.storage, 0);
      await card(page, first.id).locator('button[data-answer="once"]').tap();
      await card(page, first.id).waitFor({ state: "detached" });
      equal(await Deno.readTextFile(join(ws, "approved.txt")), "written approved.txt\n");
      equal(await status(home, ws, first.id), "executed");

      // Deny: the entry goes, the file is never written.
      const second = await deferWrite(home, ws, "denied.txt");
      await card(page, second.id).locator('button[data-answer="deny"]').tap();
      await card(page, second.id).waitFor({ state: "detached" });
      ok(!await exists(join(ws, "denied.txt")));
      equal(await status(home, ws, second.id), "denied");

      // The audit viewer lists the entries and verifies the chain.
      await page.locator("#audit-list li.audit-entry").first().waitFor();
      await page.locator("#audit-verify").tap();
      await page.locator("#audit-result.ok").waitFor();
      match(await page.locator("#audit-result").innerText(), /^Verified: \d+ entries/);

      // A one-time link, opened without any session, answers exactly that approval, once.
      const third = await deferWrite(home, ws, "linked.txt");
      const other = await deferWrite(home, ws, "untouched.txt");
      const link = third.stderr.match(/http:\/\/127\.0\.0\.1:\d+\/a\/[A-Za-z0-9_-]{43}/)?.[0];
      ok(link, `the terminal printed a link: ${third.stderr}`);
      const stranger = await browser.newContext(PHONE);
      const linkPage = await stranger.newPage();
      await linkPage.goto(link);
      match(await linkPage.locator("main").innerText(), /linked\.txt/);
      const token = await linkPage.locator('input[name="csrf"]').inputValue();
      equal((await stranger.cookies()).length, 0, "a link opens no session");

      // Meanwhile a page of another origin, in the signed-in context, can neither open the
      // WebSocket nor answer through the link (its POST fails the Origin check).
      foreign = foreignSite(origin, new URL(link).pathname, token);
      const evil = await phone.newPage();
      await evil.goto(`http://127.0.0.1:${(foreign.addr as Deno.NetAddr).port}/`);
      await evil.waitForFunction(() => document.title !== "waiting", null, { timeout: WAIT_MS });
      const results = JSON.parse(await evil.title());
      equal(results.ws, "refused");
      // The POST was sent; its answer is unreadable to the page (no-cors, and CORP blocks it).
      ok(["sent", "failed"].includes(results.post), results.post);
      equal(await status(home, ws, third.id), "pending", "the foreign POST answered nothing");

      await linkPage.locator('button[value="once"]').tap();
      await linkPage.locator("h1", { hasText: "Answered" }).waitFor();
      match(await linkPage.locator("main").innerText(), /executed/);
      equal(await Deno.readTextFile(join(ws, "linked.txt")), "written linked.txt\n");
      equal(await status(home, ws, third.id), "executed");
      equal(await status(home, ws, other.id), "pending", "the link answered only its approval");
      const replay = await stranger.request.post(link, {
        form: { csrf: token, answer: "deny" },
        headers: { origin },
      });
      equal(replay.status(), 410);
      // The inbox saw it settled and still shows the other one.
      await card(page, third.id).waitFor({ state: "detached" });
      await card(page, other.id).waitFor();
      equal(errors.filter((e) => !/WebSocket/.test(e)).length, 0, errors.join("\n"));
    } finally {
      await browser?.close();
      await foreign?.shutdown();
      await runCli(["daemon", "stop"], { home });
      await Deno.remove(home, { recursive: true });
      await Deno.remove(ws, { recursive: true });
    }
  },
});
