import { equal, match, notEqual, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { DeferredQueue } from "../security/approval.ts";
import { RpcError, RpcErrorCode } from "../daemon/types.ts";
import { group as webGroup } from "../daemon/methods/web.ts";
import { callMethod } from "./_dispatch.ts";
import {
  deferWrite,
  formToken,
  signIn,
  TEST_ORIGIN,
  type WebTest,
  withWeb,
} from "./_web_testing.ts";

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

function form(fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  };
}

async function linkPath(t: WebTest, id: string): Promise<string> {
  return new URL((await t.web.links.mint(id)).url).pathname;
}

function assertHeaders(res: Response, what: string): void {
  const csp = res.headers.get("content-security-policy") ?? "";
  match(csp, /default-src 'none'/, `${what}: CSP`);
  match(csp, /script-src 'self'(;|$)/, `${what}: script-src`);
  match(csp, /style-src 'self'(;|$)/, `${what}: style-src`);
  match(csp, /frame-ancestors 'none'/, `${what}: frame-ancestors`);
  ok(!csp.includes("unsafe-inline"), `${what}: no unsafe-inline`);
  equal(res.headers.get("x-content-type-options"), "nosniff", what);
  equal(res.headers.get("referrer-policy"), "no-referrer", what);
}

Deno.test("every web response carries the CSP and security headers", async () => {
  await withWeb(async (t) => {
    const cookie = await signIn(t);
    const id = await deferWrite(t, "a.txt", "x");
    const link = await linkPath(t, id);
    const responses: [string, Response][] = [
      ["GET / signed out", await t.request("/")],
      ["GET / signed in", await t.request("/", { headers: { cookie } })],
      ["GET /static/app.js", await t.request("/static/app.js")],
      ["GET /static/app.css", await t.request("/static/app.css")],
      ["GET /static/missing", await t.request("/static/nope.js")],
      ["GET /login bad", await t.request("/login?code=bad")],
      ["GET /a/ link", await t.request(link)],
      ["GET /a/ dead", await t.request("/a/nope")],
      ["POST /a/ foreign", await t.request(link, form({}, { origin: "http://evil.example" }))],
      ["POST /logout no token", await t.request("/logout", form({}, { cookie }))],
    ];
    for (const [what, res] of responses) {
      assertHeaders(res, what);
      await res.body?.cancel();
    }
  });
});

Deno.test("HTML is never cached and assets have their content types", async () => {
  await withWeb(async (t) => {
    const cookie = await signIn(t);
    const page = await t.request("/", { headers: { cookie } });
    equal(page.headers.get("cache-control"), "no-store");
    match(page.headers.get("content-type")!, /^text\/html/);
    const html = await page.text();
    const token = html.match(/<meta name="csrf-token" content="([^"]+)">/)?.[1];
    ok(token && token.length === 43, "the page carries the session's CSRF token");
    const js = await t.request("/static/app.js");
    equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
    await js.body?.cancel();
    const css = await t.request("/static/app.css");
    equal(css.headers.get("content-type"), "text/css; charset=utf-8");
    await css.body?.cancel();
    const other = await t.request("/static/..%2Fmod.ts");
    equal(other.status, 404);
    await other.body?.cancel();
  });
});

Deno.test("index.html and app.js use no inline script, inline style or storage", async () => {
  const html = await Deno.readTextFile(new URL("./static/index.html", import.meta.url));
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
  ok(scripts.length > 0);
  for (const [, attrs, body] of scripts) {
    match(attrs!, /\bsrc="\/static\/[a-z_]+\.js"/);
    equal(body!.trim(), "", "a script element has no inline body");
  }
  ok(!/\son[a-z]+\s*=/i.test(html), "no inline event handlers");
  ok(!/\sstyle\s*=/i.test(html), "no style attributes");
  ok(!/<style\b/i.test(html), "no style elements");
  ok(!/javascript:/i.test(html));
  const js = await Deno.readTextFile(new URL("./static/app.js", import.meta.url));
  ok(!/localStorage|sessionStorage|indexedDB|document\.cookie/.test(js), "no JS-visible storage");
  ok(!/innerHTML|outerHTML|insertAdjacentHTML|document\.write/.test(js), "no HTML from strings");
});

Deno.test("GET /login exchanges a code for a cookie once, then redirects to /", async () => {
  await withWeb(async (t) => {
    const { url, expiresAt } = await t.web.links.login();
    match(url, new RegExp(`^${TEST_ORIGIN}/login\\?code=[A-Za-z0-9_-]{43}$`));
    ok(expiresAt > Date.now());
    const path = new URL(url).pathname + new URL(url).search;
    const res = await t.request(path);
    equal(res.status, 303);
    equal(res.headers.get("location"), "/");
    const cookie = res.headers.get("set-cookie")!;
    match(cookie, /^astrid_web=[A-Za-z0-9_-]{43}; /);
    for (const flag of ["HttpOnly", "SameSite=Strict", "Path=/"]) ok(cookie.includes(flag), flag);
    ok(!cookie.includes("Secure"), "plain http: no Secure flag");
    const again = await t.request(path);
    equal(again.status, 403);
    equal(again.headers.get("set-cookie"), null);
    await again.body?.cancel();
    // The session authenticates a WebSocket upgrade as a web client.
    const client = t.web.authenticate(
      new Request(`${TEST_ORIGIN}/rpc`, { headers: { cookie: cookie.split(";")[0]! } }),
    );
    equal(client?.kind, "web");
    match(client!.id, /^web:/);
    ok(!client!.id.includes(cookie.split(";")[0]!.slice("astrid_web=".length)));
  });
});

Deno.test("the session cookie is Secure when the daemon is served over https", async () => {
  await withWeb(async (t) => {
    const { url } = await t.web.links.login();
    const res = await t.request(new URL(url).pathname + new URL(url).search);
    match(res.headers.get("set-cookie")!, /; Secure$/);
    match(res.headers.get("strict-transport-security")!, /max-age=/);
  }, { origin: "https://astrid.example:8443" });
});

Deno.test("authenticate() refuses no cookie, a forged one and a login code", async () => {
  await withWeb(async (t) => {
    const { url } = await t.web.links.login();
    const code = new URL(url).searchParams.get("code")!;
    const req = (cookie?: string) =>
      new Request(`${TEST_ORIGIN}/rpc`, cookie ? { headers: { cookie } } : {});
    equal(t.web.authenticate(req()), null);
    equal(t.web.authenticate(req("astrid_web=forged")), null);
    equal(t.web.authenticate(req(`astrid_web=${code}`)), null);
    equal(t.web.authenticate(req(`astrid_web=${"A".repeat(100_000)}`)), null);
  });
});

Deno.test("POST /logout needs the session's CSRF token and the right Origin", async () => {
  await withWeb(async (t) => {
    const cookie = await signIn(t);
    const html = await (await t.request("/", { headers: { cookie } })).text();
    const token = html.match(/<meta name="csrf-token" content="([^"]+)">/)![1]!;
    const foreign = await t.request(
      "/logout",
      form({ csrf: token }, { cookie, origin: "http://evil.example" }),
    );
    equal(foreign.status, 403);
    await foreign.body?.cancel();
    const noToken = await t.request("/logout", form({ csrf: "wrong" }, { cookie }));
    equal(noToken.status, 403);
    await noToken.body?.cancel();
    notEqual(t.web.authenticate(new Request(TEST_ORIGIN, { headers: { cookie } })), null);
    const out = await t.request("/logout", form({ csrf: token }, { cookie }));
    equal(out.status, 303);
    match(out.headers.get("set-cookie")!, /Max-Age=0/);
    equal(t.web.authenticate(new Request(TEST_ORIGIN, { headers: { cookie } })), null);
  });
});

Deno.test("an approval link shows the action and answers it once: approve runs it", async () => {
  await withWeb(async (t) => {
    const id = await deferWrite(t, "approved.txt", "hello from a phone");
    const path = await linkPath(t, id);
    match(path, /^\/a\/[A-Za-z0-9_-]{43}$/);
    const page = await t.request(path);
    equal(page.status, 200);
    equal(page.headers.get("set-cookie"), null, "a link opens no session");
    const html = await page.text();
    match(html, /approved\.txt/);
    for (const answer of ["once", "session", "always", "deny"]) {
      ok(html.includes(`value="${answer}"`), answer);
    }
    const token = formToken(html);
    const res = await t.request(path, form({ csrf: token, answer: "once" }));
    equal(res.status, 200, await res.clone().text());
    equal(res.headers.get("set-cookie"), null);
    match(await res.text(), /executed/);
    equal(await Deno.readTextFile(join(t.workspace, "approved.txt")), "hello from a phone");
    equal((await new DeferredQueue(t.rt.store).get(id))?.status, "executed");
    const resolved = t.events.find((e) => e.type === "approval.resolved");
    equal(resolved?.type === "approval.resolved" && resolved.by, "link");
    // The code is dead: a second POST and a GET both fail.
    const second = await t.request(path, form({ csrf: token, answer: "deny" }));
    equal(second.status, 410);
    await second.body?.cancel();
    const again = await t.request(path);
    equal(again.status, 410);
    await again.body?.cancel();
    // The link gave no access to the inbox.
    const inbox = await t.request("/");
    equal(inbox.status, 401);
    await inbox.body?.cancel();
  });
});

Deno.test("an approval link can deny: the file is never written", async () => {
  await withWeb(async (t) => {
    const id = await deferWrite(t, "denied.txt", "nope");
    const path = await linkPath(t, id);
    const token = formToken(await (await t.request(path)).text());
    const res = await t.request(path, form({ csrf: token, answer: "deny" }));
    equal(res.status, 200);
    match(await res.text(), /denied/);
    ok(!await exists(join(t.workspace, "denied.txt")));
    equal((await new DeferredQueue(t.rt.store).get(id))?.status, "denied");
  });
});

Deno.test("an approval link refuses a foreign Origin, a missing Origin and a wrong token", async () => {
  await withWeb(async (t) => {
    const id = await deferWrite(t, "guarded.txt", "x");
    const path = await linkPath(t, id);
    const token = formToken(await (await t.request(path)).text());
    const cases: [string, RequestInit][] = [
      ["foreign origin", form({ csrf: token, answer: "once" }, { origin: "http://evil.example" })],
      ["null origin", form({ csrf: token, answer: "once" }, { origin: "null" })],
      [
        "cross-site fetch",
        form({ csrf: token, answer: "once" }, {
          origin: "http://127.0.0.1:1",
          "sec-fetch-site": "cross-site",
        }),
      ],
      ["wrong token", form({ csrf: "A".repeat(43), answer: "once" })],
      ["no token", form({ answer: "once" })],
      [
        "another link's token",
        form({
          csrf: formToken(await (await t.request(await linkPath(t, id))).text()),
          answer: "once",
        }),
      ],
    ];
    for (const [what, init] of cases) {
      const res = await t.request(path, init);
      equal(res.status, 403, what);
      await res.body?.cancel();
    }
    const bad = await t.request(path, form({ csrf: token, answer: "yolo" }));
    equal(bad.status, 400);
    await bad.body?.cancel();
    ok(!await exists(join(t.workspace, "guarded.txt")));
    // None of those used the link up.
    const ok2 = await t.request(path, form({ csrf: token, answer: "once" }));
    equal(ok2.status, 200);
    await ok2.body?.cancel();
    ok(await exists(join(t.workspace, "guarded.txt")));
  });
});

Deno.test("a link dies when its approval is settled elsewhere", async () => {
  await withWeb(async (t) => {
    const id = await deferWrite(t, "elsewhere.txt", "x");
    const path = await linkPath(t, id);
    const token = formToken(await (await t.request(path)).text());
    await callMethod(t.ctx, "approvals.respond", { id, answer: "deny" }, {
      id: "cli:test",
      kind: "cli",
      name: "test",
    });
    const res = await t.request(path, form({ csrf: token, answer: "once" }));
    equal(res.status, 410);
    await res.body?.cancel();
    ok(!await exists(join(t.workspace, "elsewhere.txt")));
  });
});

Deno.test("a link for an approval decided by another process shows nothing", async () => {
  await withWeb(async (t) => {
    const id = await deferWrite(t, "other.txt", "x");
    const path = await linkPath(t, id);
    await new DeferredQueue(t.rt.store).decide(id, "deny", "from another terminal");
    const res = await t.request(path);
    equal(res.status, 410);
    ok(!(await res.text()).includes("other.txt"));
  });
});

Deno.test("a link expires at [daemon] link_ttl_seconds or the ttl asked for", async () => {
  await withWeb(async (t) => {
    const id = await deferWrite(t, "ttl.txt", "x");
    const { expiresAt } = await t.web.links.mint(id);
    const near = Date.now() + 7_000;
    ok(Math.abs(expiresAt - near) < 5_000, "7 s from the config");
    const short = await t.web.links.mint(id, 1);
    await new Promise((r) => setTimeout(r, 5));
    const res = await t.request(new URL(short.url).pathname);
    equal(res.status, 410);
    await res.body?.cancel();
  }, { config: "[daemon]\nlink_ttl_seconds = 7\n" });
});

Deno.test("hostile link paths are dead links, not errors", async () => {
  await withWeb(async (t) => {
    for (const path of ["/a/..%2F..%2Fetc%2Fpasswd", `/a/${"x".repeat(20_000)}`, "/a/%00"]) {
      const res = await t.request(path);
      equal(res.status, 410, path.slice(0, 40));
      await res.body?.cancel();
    }
  });
});

Deno.test("web.login mints a sign-in URL for bearer clients only", async () => {
  await withWeb(async (t) => {
    const login = webGroup.methods.find((m) => m.name === "web.login")!;
    const call = (kind: "cli" | "web" | "link") => ({
      daemon: t.ctx,
      client: { id: `${kind}:1`, kind, name: kind },
      signal: new AbortController().signal,
      notify() {},
    });
    const { url } = await login.handler({}, call("cli")) as { url: string };
    match(url, /\/login\?code=/);
    for (const kind of ["web", "link"] as const) {
      await rejects(
        () => login.handler({}, call(kind)),
        (err: unknown) => err instanceof RpcError && err.code === RpcErrorCode.Denied,
      );
    }
  });
});

Deno.test("an oversized form is refused before it is read, and the link survives", async () => {
  await withWeb(async (t) => {
    const id = await deferWrite(t, "big.txt", "x");
    const path = await linkPath(t, id);
    const token = formToken(await (await t.request(path)).text());
    const res = await t.request(
      path,
      form({ csrf: token, answer: "once", pad: "x".repeat(1 << 20) }),
    );
    equal(res.status, 413);
    await res.body?.cancel();
    ok(!await exists(join(t.workspace, "big.txt")));
    const ok2 = await t.request(path, form({ csrf: token, answer: "deny" }));
    equal(ok2.status, 200);
    await ok2.body?.cancel();
  });
});

Deno.test("two concurrent answers through one link: exactly one is carried out", async () => {
  await withWeb(async (t) => {
    const id = await deferWrite(t, "race.txt", "x");
    const path = await linkPath(t, id);
    const token = formToken(await (await t.request(path)).text());
    const responses = await Promise.all([
      t.request(path, form({ csrf: token, answer: "once" })),
      t.request(path, form({ csrf: token, answer: "deny" })),
    ]);
    const codes = responses.map((r) => r.status).sort();
    for (const r of responses) await r.body?.cancel();
    equal(codes.join(), "200,410");
  });
});
