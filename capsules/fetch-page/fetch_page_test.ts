/**
 * capsules/fetch-page, compiled by the real toolchain and called behind a real gate against a
 * local HTTP server on 127.0.0.1 (added to the built manifest's `net`, as a user adds hosts).
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { errorMessage, installFirstParty, okOutput } from "../_testing.ts";

const ARTICLE = `<!doctype html>
<html><head><title>  Tide   tables &amp; more </title>
<style>body { color: red }</style><script>window.secret = "do not show";</script></head>
<body>
<nav><a href="/">Home</a> <a href="/about">About</a></nav>
<header><p>Site banner</p></header>
<main>
  <h1>Tides</h1>
  <p>The   tide
  rises <b>twice</b> a day.</p>
  <ul><li>High water</li><li>Low water</li></ul>
  <pre>if (x) {
    y();
}</pre>
  <p>See <a href="../charts/today.html#top">today's chart</a>, <a href="?page=2">page 2</a>,
  <a href="javascript:alert(1)">this</a> and <a href="https://other.example/x">elsewhere</a>.</p>
  <noscript>Enable JavaScript</noscript>
  <template><p>hidden template</p></template>
</main>
<footer>© footer text</footer>
</body></html>`;

interface Site extends AsyncDisposable {
  readonly base: string;
  readonly hits: string[];
}

function site(): Site {
  const hits: string[] = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, (req) => {
    const url = new URL(req.url);
    hits.push(url.pathname + url.search);
    const html = (body: string) =>
      new Response(body, {
        headers: { "content-type": "text/html; charset=utf-8" },
      });
    switch (url.pathname) {
      case "/docs/tides.html":
        return html(ARTICLE);
      case "/plain":
        return new Response("line one\r\nline two\n", {
          headers: { "content-type": "text/plain" },
        });
      case "/moved":
        return new Response(null, {
          status: 302,
          headers: { location: "/docs/tides.html" },
        });
      case "/loop":
        return new Response(null, {
          status: 301,
          headers: { location: "/loop" },
        });
      case "/away":
        return new Response(null, {
          status: 302,
          headers: { location: "http://localhost:1/x" },
        });
      case "/image":
        return new Response("\x89PNG", {
          headers: { "content-type": "image/png" },
        });
      case "/long":
        return html(`<p>${"word ".repeat(5000)}</p>`);
      case "/nomain":
        return html(
          "<body><nav>menu</nav><div>Just a <i>div</i></div><p>and &lt;text&gt;</p>",
        );
      default:
        return new Response("nope", { status: 404 });
    }
  });
  return {
    base: `http://127.0.0.1:${server.addr.port}`,
    hits,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** The built manifest with `net` replaced by the loopback host. */
const loopbackNet = (toml: string) => toml.replace(/^net = .*$/m, 'net = [ "127.0.0.1" ]');

Deno.test("fetch-page read() returns the title, main text and resolved links of a page", async () => {
  await using s = site();
  await using c = await installFirstParty("fetch-page", {
    allow: ["capsule://fetch-page/*"],
  }, loopbackNet);
  const page = okOutput(
    await c.call("read", { url: `${s.base}/docs/tides.html`, links: true }),
  ) as Record<string, unknown>;
  equal(page.url, `${s.base}/docs/tides.html`);
  equal(page.status, 200);
  equal(page.contentType, "text/html");
  equal(page.title, "Tide tables & more");
  equal(
    page.text,
    "# Tides\n\nThe tide rises twice a day.\n\n- High water\n- Low water\n\n" +
      "if (x) {\n    y();\n}\n\n" +
      "See today's chart, page 2, this and elsewhere.",
  );
  equal(page.truncated, false);
  deepEqual(page.links, [
    { text: "Home", href: `${s.base}/` },
    { text: "About", href: `${s.base}/about` },
    { text: "today's chart", href: `${s.base}/charts/today.html` },
    { text: "page 2", href: `${s.base}/docs/tides.html?page=2` },
    { text: "elsewhere", href: "https://other.example/x" },
  ]);
  const http = (await c.entries()).filter((e) =>
    e.resource.startsWith("capsule://fetch-page/http") &&
    e.decision !== "outcome"
  );
  deepEqual(http.map((e) => [e.decision, e.proof]), [[
    "allowed",
    "rule:capsule://fetch-page/*",
  ]]);
});

Deno.test("fetch-page read() keeps the body text when the page has no <main>, and plain text as is", async () => {
  await using s = site();
  await using c = await installFirstParty("fetch-page", {
    allow: ["capsule://fetch-page/*"],
  }, loopbackNet);
  const nomain = okOutput(
    await c.call("read", { url: `${s.base}/nomain` }),
  ) as {
    text: string;
    links?: unknown;
  };
  equal(nomain.text, "Just a div\n\nand <text>");
  equal(nomain.links, undefined);
  const plain = okOutput(await c.call("read", { url: `${s.base}/plain` })) as {
    text: string;
    contentType: string;
  };
  equal(plain.contentType, "text/plain");
  equal(plain.text, "line one\nline two");
});

Deno.test("fetch-page read() caps the text at maxChars and says so", async () => {
  await using s = site();
  await using c = await installFirstParty("fetch-page", {
    allow: ["capsule://fetch-page/*"],
  }, loopbackNet);
  const page = okOutput(
    await c.call("read", { url: `${s.base}/long`, maxChars: 1000 }),
  ) as {
    text: string;
    truncated: boolean;
  };
  equal(page.truncated, true);
  ok(page.text.length <= 1001, String(page.text.length));
  match(page.text, /^word word .*word…$/);
  // Under the schema's minimum: refused before the capsule runs.
  const small = await c.call("read", { url: `${s.base}/long`, maxChars: 5 });
  equal(small.status, "error");
});

Deno.test("fetch-page read() follows redirects within net, each hop gated, and stops loops", async () => {
  await using s = site();
  await using c = await installFirstParty("fetch-page", {
    allow: ["capsule://fetch-page/*"],
  }, loopbackNet);
  const page = okOutput(await c.call("read", { url: `${s.base}/moved` })) as {
    url: string;
  };
  equal(page.url, `${s.base}/docs/tides.html`);
  deepEqual(s.hits, ["/moved", "/docs/tides.html"]);
  match(
    errorMessage(await c.call("read", { url: `${s.base}/loop` })),
    /more than 5 redirects/,
  );
  equal(s.hits.filter((h) => h === "/loop").length, 6);
});

Deno.test("fetch-page read() refuses a redirect or a URL outside net before any request", async () => {
  await using s = site();
  await using c = await installFirstParty("fetch-page", {
    allow: ["capsule://fetch-page/*"],
  }, loopbackNet);
  match(
    errorMessage(await c.call("read", { url: `${s.base}/away` })),
    /not in net/,
  );
  const port = new URL(s.base).port;
  const before = s.hits.length;
  match(
    errorMessage(
      await c.call("read", { url: `http://localhost:${port}/docs/tides.html` }),
    ),
    /not in net/,
  );
  equal(s.hits.length, before);
  match(
    errorMessage(await c.call("read", { url: "file:///etc/passwd" })),
    /not http\(s\)/,
  );
  match(
    errorMessage(await c.call("read", { url: `${s.base}/image` })),
    /image\/png, not text/,
  );
  match(
    errorMessage(await c.call("read", { url: `${s.base}/missing` })),
    /HTTP 404/,
  );
});

Deno.test("fetch-page as shipped reaches only its declared documentation hosts, not loopback", async () => {
  await using s = site();
  await using c = await installFirstParty("fetch-page", {
    allow: ["capsule://fetch-page/*"],
  });
  match(
    errorMessage(await c.call("read", { url: `${s.base}/docs/tides.html` })),
    /not in net/,
  );
  deepEqual(s.hits, []);
});

Deno.test("fetch-page read() is deferred, and fetches nothing, without an allow rule or a human", async () => {
  await using s = site();
  await using c = await installFirstParty("fetch-page", {}, loopbackNet);
  const out = await c.call("read", { url: `${s.base}/docs/tides.html` });
  equal(out.status, "deferred");
  deepEqual(s.hits, []);
});
