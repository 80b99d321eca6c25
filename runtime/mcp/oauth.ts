/**
 * OAuth 2.1 for remote MCP servers (MCP 2025-11-25 "Authorization"), built on the SDK's
 * `auth()` (discovery, dynamic or pre-registration, PKCE, token exchange and refresh).
 *
 * {@link OAuthSession} keeps one client's registration and tokens in memory. Getting the
 * authorization code is the injected {@link Authorizer}'s job: the CLI opens a browser and waits
 * on a loopback redirect, tests fetch the URL directly. {@link oauthFetch} wraps `fetch` so a
 * 401, or a 403 with `insufficient_scope` (step-up), runs the flow and retries the request,
 * at most `maxAttempts` times, and never follows a redirect or a challenge forever.
 *
 * @module
 */
import {
  auth,
  ClientCredentialsProvider,
  extractWWWAuthenticateParams,
  type FetchLike,
  type OAuthClientInformationMixed,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthTokens,
  PrivateKeyJwtProvider,
} from "./_sdk.ts";
import { McpError } from "./errors.ts";

/** Sends the user to `authorizationUrl` and resolves with the `code` of the redirect. */
export type Authorizer = (authorizationUrl: URL) => Promise<string>;

/** How an {@link OAuthSession} identifies itself. */
export interface OAuthSessionOptions {
  readonly clientName: string;
  /** The redirect URI registered for the client (a loopback URL for the CLI). */
  readonly redirectUrl: string;
  readonly authorize: Authorizer;
  /** A Client ID Metadata Document URL (used as client_id when the server supports it). */
  readonly clientMetadataUrl?: string | undefined;
  /** Credentials registered out of band; skips dynamic registration. */
  readonly preRegistered?:
    | { readonly clientId: string; readonly clientSecret?: string }
    | undefined;
  /** How many authorization rounds one request may trigger (default 3). */
  readonly maxAttempts?: number | undefined;
}

/**
 * One OAuth client's state for one remote server, held in memory.
 *
 * @example Pre-registered credentials are returned as client information
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { OAuthSession } from "./oauth.ts";
 * const s = new OAuthSession({
 *   clientName: "astrid", redirectUrl: "http://127.0.0.1:8976/callback",
 *   authorize: () => Promise.reject(new Error("no browser here")),
 *   preRegistered: { clientId: "abc" },
 * });
 * equal(s.clientInformation()?.client_id, "abc");
 * equal(s.tokens(), undefined);
 * ```
 */
export class OAuthSession implements OAuthClientProvider {
  /** The Client ID Metadata Document URL, if any. */
  declare readonly clientMetadataUrl?: string;
  #opts: OAuthSessionOptions;
  #client: OAuthClientInformationMixed | undefined;
  #tokens: OAuthTokens | undefined;
  #verifier: string | undefined;
  #code: string | undefined;

  /** Creates the session. */
  constructor(opts: OAuthSessionOptions) {
    this.#opts = opts;
    if (opts.clientMetadataUrl !== undefined) {
      Object.defineProperty(this, "clientMetadataUrl", { value: opts.clientMetadataUrl });
    }
    if (opts.preRegistered) {
      this.#client = {
        client_id: opts.preRegistered.clientId,
        ...(opts.preRegistered.clientSecret !== undefined
          ? { client_secret: opts.preRegistered.clientSecret }
          : {}),
        redirect_uris: [opts.redirectUrl],
      };
    }
  }

  /** Rounds of authorization allowed per request. */
  get maxAttempts(): number {
    return this.#opts.maxAttempts ?? 3;
  }
  /** The registered redirect URI. */
  get redirectUrl(): string {
    return this.#opts.redirectUrl;
  }
  /** Metadata sent on dynamic registration. */
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.#opts.clientName,
      redirect_uris: [this.#opts.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: this.#opts.preRegistered?.clientSecret
        ? "client_secret_basic"
        : "none",
    };
  }
  /** The registered client, if any. */
  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.#client;
  }
  /** Stores the registration. */
  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.#client = info;
  }
  /** Current tokens, if any. */
  tokens(): OAuthTokens | undefined {
    return this.#tokens;
  }
  /** Stores tokens. */
  saveTokens(tokens: OAuthTokens): void {
    this.#tokens = tokens;
  }
  /** Hands the URL to the authorizer and keeps the code it returns. */
  async redirectToAuthorization(url: URL): Promise<void> {
    this.#code = await this.#opts.authorize(url);
  }
  /** Stores the PKCE verifier. */
  saveCodeVerifier(verifier: string): void {
    this.#verifier = verifier;
  }
  /** The PKCE verifier of the flow in progress. */
  codeVerifier(): string {
    if (this.#verifier === undefined) {
      throw new McpError("AUTH_FAILED", "Cannot finish authorization: no PKCE verifier was saved");
    }
    return this.#verifier;
  }
  /** Forgets what the server rejected. */
  invalidateCredentials(scope: "all" | "client" | "tokens" | "verifier" | "discovery"): void {
    if (scope === "all" || scope === "tokens") this.#tokens = undefined;
    if (scope === "all" || scope === "client") {
      if (!this.#opts.preRegistered) this.#client = undefined;
    }
    if (scope === "all" || scope === "verifier") this.#verifier = undefined;
  }
  /** Returns and clears the authorization code obtained by the last redirect. */
  takeCode(): string {
    const code = this.#code;
    this.#code = undefined;
    if (code === undefined) {
      throw new McpError(
        "AUTH_FAILED",
        "Cannot finish authorization: no authorization code came back",
      );
    }
    return code;
  }
}

async function authorizeRound(
  session: OAuthSession,
  serverUrl: string,
  response: Response,
  baseFetch: FetchLike,
): Promise<void> {
  const { resourceMetadataUrl, scope } = extractWWWAuthenticateParams(response);
  const common = {
    serverUrl,
    ...(resourceMetadataUrl ? { resourceMetadataUrl } : {}),
    ...(scope ? { scope } : {}),
    fetchFn: baseFetch,
  };
  let result = await auth(session, common);
  if (result === "REDIRECT") {
    result = await auth(session, { ...common, authorizationCode: session.takeCode() });
  }
  if (result !== "AUTHORIZED") {
    throw new McpError(
      "AUTH_FAILED",
      `Cannot authorize with ${serverUrl}: current result is ${result}`,
    );
  }
}

function needsAuth(response: Response): boolean {
  if (response.status === 401) return true;
  if (response.status !== 403) return false;
  return extractWWWAuthenticateParams(response).error === "insufficient_scope";
}

/**
 * Wraps `baseFetch` with OAuth for the MCP server at `serverUrl`: adds the bearer token, and on
 * a 401 or an `insufficient_scope` 403 runs one authorization round and retries.
 *
 * @example Requests carry the token once there is one
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { OAuthSession, oauthFetch } from "./oauth.ts";
 * const s = new OAuthSession({ clientName: "t", redirectUrl: "http://127.0.0.1/cb", authorize: () => Promise.resolve("x") });
 * s.saveTokens({ access_token: "tok", token_type: "Bearer" });
 * let seen = "";
 * const f = oauthFetch(s, "https://mcp.example/mcp", (_u, init) => {
 *   seen = new Headers(init?.headers).get("authorization") ?? "";
 *   return Promise.resolve(new Response("{}"));
 * });
 * await f("https://mcp.example/mcp", { method: "POST" });
 * equal(seen, "Bearer tok");
 * ```
 */
export function oauthFetch(
  session: OAuthSession,
  serverUrl: string,
  baseFetch: FetchLike = fetch,
): FetchLike {
  return async (input: string | URL, init?: RequestInit): Promise<Response> => {
    const send = async () => {
      const headers = new Headers(init?.headers);
      const tokens = session.tokens();
      if (tokens) headers.set("authorization", `Bearer ${tokens.access_token}`);
      return await baseFetch(input, { ...init, headers });
    };
    let response = await send();
    for (let attempt = 0; needsAuth(response); attempt++) {
      if (attempt >= session.maxAttempts) {
        throw new McpError(
          "AUTH_FAILED",
          `Cannot authorize with ${serverUrl}: still ${response.status} after ${attempt} attempts`,
        );
      }
      await response.body?.cancel();
      await authorizeRound(session, serverUrl, response, baseFetch);
      response = await send();
    }
    return response;
  };
}

/**
 * A non-interactive provider for the `client_credentials` grant (secret or private-key JWT),
 * to pass as `authProvider` to {@link import("./connection.ts").connectHttp}.
 *
 * @example A client-secret provider has client information
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { clientCredentials } from "./oauth.ts";
 * ok(clientCredentials({ clientId: "c", clientSecret: "s" }).clientInformation());
 * ```
 */
export function clientCredentials(
  opts:
    | { readonly clientId: string; readonly clientSecret: string; readonly scope?: string }
    | {
      readonly clientId: string;
      readonly privateKeyPem: string;
      readonly algorithm: string;
      readonly scope?: string;
    },
): OAuthClientProvider {
  const scope = opts.scope !== undefined ? { scope: opts.scope } : {};
  if ("clientSecret" in opts) {
    return new ClientCredentialsProvider({
      clientId: opts.clientId,
      clientSecret: opts.clientSecret,
      ...scope,
    });
  }
  return new PrivateKeyJwtProvider({
    clientId: opts.clientId,
    privateKey: opts.privateKeyPem,
    algorithm: opts.algorithm,
    ...scope,
  });
}
