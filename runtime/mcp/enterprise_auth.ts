/**
 * Enterprise-managed authorization (MCP extension SEP-990, "cross-app access"): the user's
 * identity provider vouches for them, so no browser is needed.
 *
 * 1. Discover the MCP server's authorization server (RFC 9728, then RFC 8414).
 * 2. Exchange the IdP ID token for an Identity Assertion JWT Authorization Grant (ID-JAG) at
 *    the IdP's token endpoint (RFC 8693 token exchange).
 * 3. Trade the ID-JAG for an access token at the authorization server (RFC 7523 JWT bearer
 *    grant, client authenticated with `client_secret_basic`, RFC 6749 §2.3.1).
 *
 * @module
 */
import { discoverOAuthServerInfo, type FetchLike, type OAuthTokens } from "./_sdk.ts";
import { McpError } from "./errors.ts";

const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ID_JAG = "urn:ietf:params:oauth:token-type:id-jag";
const ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token";

/** What the enterprise flow needs. */
export interface EnterpriseAuthOptions {
  /** The IdP's token endpoint. */
  readonly idpTokenEndpoint: string;
  /** Our client id at the IdP. */
  readonly idpClientId: string;
  /** The user's ID token from the IdP. */
  readonly idToken: string;
  /** Our client at the MCP server's authorization server. */
  readonly clientId: string;
  readonly clientSecret: string;
  readonly fetch?: FetchLike | undefined;
}

async function tokenRequest(
  fetchFn: FetchLike,
  url: string,
  body: Record<string, string>,
  headers: Record<string, string>,
  step: string,
): Promise<Record<string, unknown>> {
  const res = await fetchFn(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(body),
  });
  const text = await res.text();
  if (!res.ok) {
    throw new McpError(
      "AUTH_FAILED",
      `Cannot ${step}: ${url} answered ${res.status} ${text.slice(0, 200)}`,
    );
  }
  const json = JSON.parse(text) as Record<string, unknown>;
  if (typeof json.access_token !== "string") {
    throw new McpError("AUTH_FAILED", `Cannot ${step}: the answer has no access_token`);
  }
  return json;
}

/**
 * Runs the SEP-990 flow for the MCP server at `serverUrl` and returns its access token.
 *
 * @example An unreachable server fails cleanly
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { enterpriseManagedTokens } from "./enterprise_auth.ts";
 * await rejects(enterpriseManagedTokens("http://127.0.0.1:9/mcp", {
 *   idpTokenEndpoint: "http://127.0.0.1:9/token", idpClientId: "a", idToken: "t",
 *   clientId: "c", clientSecret: "s",
 * }));
 * ```
 */
export async function enterpriseManagedTokens(
  serverUrl: string,
  opts: EnterpriseAuthOptions,
): Promise<OAuthTokens> {
  const fetchFn: FetchLike = opts.fetch ?? fetch;
  const info = await discoverOAuthServerInfo(serverUrl, { fetchFn });
  const as = info.authorizationServerMetadata;
  if (!as) {
    throw new McpError(
      "AUTH_FAILED",
      `Cannot authorize with ${serverUrl}: no authorization server metadata`,
    );
  }
  if (!(as.grant_types_supported ?? []).includes(JWT_BEARER)) {
    throw new McpError(
      "AUTH_FAILED",
      `Cannot authorize with ${serverUrl}: its authorization server does not accept the jwt-bearer grant`,
    );
  }
  const resource = info.resourceMetadata?.resource ?? serverUrl;
  const exchanged = await tokenRequest(
    fetchFn,
    opts.idpTokenEndpoint,
    {
      grant_type: TOKEN_EXCHANGE,
      requested_token_type: ID_JAG,
      audience: as.issuer,
      resource,
      subject_token: opts.idToken,
      subject_token_type: ID_TOKEN,
      client_id: opts.idpClientId,
    },
    {},
    "exchange the ID token at the identity provider",
  );
  const basic = btoa(
    `${encodeURIComponent(opts.clientId)}:${encodeURIComponent(opts.clientSecret)}`,
  );
  const granted = await tokenRequest(
    fetchFn,
    as.token_endpoint,
    {
      grant_type: JWT_BEARER,
      assertion: String(exchanged.access_token),
    },
    { authorization: `Basic ${basic}` },
    "redeem the ID-JAG at the authorization server",
  );
  return {
    access_token: String(granted.access_token),
    token_type: typeof granted.token_type === "string" ? granted.token_type : "Bearer",
    ...(typeof granted.expires_in === "number" ? { expires_in: granted.expires_in } : {}),
    ...(typeof granted.scope === "string" ? { scope: granted.scope } : {}),
  };
}

/**
 * A fetch that sends `tokens` as the bearer token.
 *
 * @example Every request carries the token
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { bearerFetch } from "./enterprise_auth.ts";
 * let seen = "";
 * const f = bearerFetch({ access_token: "abc", token_type: "Bearer" }, (_u, init) => {
 *   seen = new Headers(init?.headers).get("authorization") ?? "";
 *   return Promise.resolve(new Response(""));
 * });
 * await f("http://x/mcp");
 * equal(seen, "Bearer abc");
 * ```
 */
export function bearerFetch(tokens: OAuthTokens, base: FetchLike = fetch): FetchLike {
  return (input: string | URL, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    headers.set("authorization", `Bearer ${tokens.access_token}`);
    return base(input, { ...init, headers });
  };
}
