import { equal, rejects } from "node:assert/strict";
import { oauthFetch, OAuthSession } from "./oauth.ts";

function session(authorize = () => Promise.resolve("code")) {
  return new OAuthSession({
    clientName: "t",
    redirectUrl: "http://127.0.0.1:1/cb",
    authorize,
    preRegistered: { clientId: "c" },
    maxAttempts: 2,
  });
}

Deno.test("oauthFetch() gives up with AUTH_FAILED instead of looping on repeated 403 step-up challenges", async () => {
  const s = session();
  s.saveTokens({ access_token: "t", token_type: "Bearer", refresh_token: "r" });
  let mcpCalls = 0;
  const fake = (url: string | URL, init?: RequestInit) => {
    const u = new URL(String(url));
    if (u.pathname === "/mcp") {
      mcpCalls++;
      return Promise.resolve(
        new Response("", {
          status: 403,
          headers: { "www-authenticate": 'Bearer error="insufficient_scope", scope="more"' },
        }),
      );
    }
    if (u.pathname === "/token") {
      equal(new URLSearchParams(String(init?.body)).get("grant_type"), "refresh_token");
      return Promise.resolve(Response.json({ access_token: "t2", token_type: "Bearer" }));
    }
    if (u.pathname.startsWith("/.well-known/oauth-authorization-server")) {
      return Promise.resolve(Response.json({
        issuer: "http://as.test",
        authorization_endpoint: "http://as.test/authorize",
        token_endpoint: "http://as.test/token",
        response_types_supported: ["code"],
        code_challenge_methods_supported: ["S256"],
      }));
    }
    return Promise.resolve(new Response("", { status: 404 }));
  };
  const f = oauthFetch(s, "http://as.test/mcp", fake);
  await rejects(f("http://as.test/mcp", { method: "POST" }), { code: "AUTH_FAILED" });
  equal(mcpCalls, 3); // the first try plus maxAttempts retries, then stop
});

Deno.test("OAuthSession.takeCode() fails closed when no code came back", () => {
  const s = session();
  try {
    s.takeCode();
    throw new Error("expected a throw");
  } catch (err) {
    equal((err as { code?: string }).code, "AUTH_FAILED");
  }
});

Deno.test("OAuthSession keeps pre-registered client info when credentials are invalidated", () => {
  const s = session();
  s.saveTokens({ access_token: "a", token_type: "Bearer" });
  s.invalidateCredentials("all");
  equal(s.tokens(), undefined);
  equal(s.clientInformation()?.client_id, "c");
});
