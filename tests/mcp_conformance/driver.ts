/**
 * The client the MCP conformance suite scores: it acts out each client scenario with *our*
 * runtime/mcp layer (McpConnection, connectHttp, OAuthSession, oauthFetch), never the bare SDK
 * client. The harness runs `driver.ts <server-url>` with MCP_CONFORMANCE_SCENARIO (and, for
 * some auth scenarios, MCP_CONFORMANCE_CONTEXT as JSON) in the environment.
 *
 * Usage: `deno run -A tests/mcp_conformance/driver.ts http://localhost:PORT/mcp`
 *
 * @module
 */
import {
  bearerFetch,
  clientCredentials,
  connectHttp,
  type Elicitor,
  enterpriseManagedTokens,
  type HttpConnectOptions,
  oauthFetch,
  OAuthSession,
} from "../../runtime/mcp/mod.ts";

/** Where the harness's authorization servers redirect to; the driver reads the code itself. */
const REDIRECT_URL = "http://localhost:3000/callback";
/** A Client ID Metadata Document URL for the CIMD scenarios. */
const CIMD_URL = "https://conformance-test.local/client-metadata.json";

/**
 * Plays the user agent: fetches the authorization URL without following the redirect and
 * takes the `code` from its Location (the harness's authorization server approves at once).
 */
async function headlessAuthorize(url: URL): Promise<string> {
  const res = await fetch(url, { redirect: "manual" });
  await res.body?.cancel();
  const location = res.headers.get("location");
  if (!location) {
    throw new Error(`Cannot authorize: ${url} answered ${res.status} without a redirect`);
  }
  const code = new URL(location).searchParams.get("code");
  if (!code) throw new Error(`Cannot authorize: the redirect to ${location} has no code`);
  return code;
}

function context(): Record<string, string> {
  const raw = Deno.env.get("MCP_CONFORMANCE_CONTEXT");
  if (!raw) throw new Error("Cannot run this scenario: MCP_CONFORMANCE_CONTEXT is not set");
  return JSON.parse(raw) as Record<string, string>;
}

async function session(
  url: string,
  opts: HttpConnectOptions,
  calls: (string | [string, Record<string, unknown>])[],
) {
  const conn = await connectHttp("conformance", url, {
    clientInfo: { name: "astrid-conformance", version: "0.1.0" },
    ...opts,
  });
  try {
    const tools = await conn.listTools();
    for (const call of calls) {
      const [name, args] = typeof call === "string" ? [call, {}] : call;
      if (tools.some((t) => t.name === name)) await conn.callTool(name, args);
    }
  } finally {
    await conn.close();
  }
}

function oauth(url: string, extra: Partial<ConstructorParameters<typeof OAuthSession>[0]> = {}) {
  const s = new OAuthSession({
    clientName: "astrid-conformance",
    redirectUrl: REDIRECT_URL,
    authorize: headlessAuthorize,
    clientMetadataUrl: CIMD_URL,
    ...extra,
  });
  return { fetch: oauthFetch(s, url) };
}

const acceptWithDefaults: Elicitor = () => Promise.resolve({ action: "accept", content: {} });

/** Runs one scenario against `url`. */
async function runScenario(scenario: string, url: string): Promise<void> {
  if (scenario === "initialize") return await session(url, {}, []);
  if (scenario === "tools_call") return await session(url, {}, [["add_numbers", { a: 2, b: 3 }]]);
  if (scenario === "elicitation-sep1034-client-defaults") {
    return await session(url, { elicitor: acceptWithDefaults }, [
      "test_client_elicitation_defaults",
    ]);
  }
  if (scenario === "sse-retry") {
    const conn = await connectHttp("conformance", url, {
      clientInfo: { name: "astrid-conformance", version: "0.1.0" },
      reconnection: { initialDelayMs: 1000, maxDelayMs: 10_000, growFactor: 1.5, maxRetries: 3 },
    });
    try {
      await conn.listTools();
      await conn.callTool("test_reconnection", {}, { timeoutMs: 10_000 });
    } finally {
      await conn.close();
    }
    return;
  }
  if (scenario === "auth/pre-registration") {
    const ctx = context();
    const preRegistered = {
      clientId: ctx.client_id ?? "",
      ...(ctx.client_secret !== undefined ? { clientSecret: ctx.client_secret } : {}),
    };
    return await session(url, oauth(url, { preRegistered, clientMetadataUrl: undefined }), [
      "test-tool",
    ]);
  }
  if (scenario === "auth/client-credentials-basic") {
    const ctx = context();
    const provider = clientCredentials({
      clientId: ctx.client_id ?? "",
      clientSecret: ctx.client_secret ?? "",
    });
    return await session(url, { authProvider: provider }, []);
  }
  if (scenario === "auth/client-credentials-jwt") {
    const ctx = context();
    const provider = clientCredentials({
      clientId: ctx.client_id ?? "",
      privateKeyPem: ctx.private_key_pem ?? "",
      algorithm: ctx.signing_algorithm ?? "ES256",
    });
    return await session(url, { authProvider: provider }, []);
  }
  if (scenario === "auth/cross-app-access-complete-flow") {
    const ctx = context();
    const tokens = await enterpriseManagedTokens(url, {
      idpTokenEndpoint: ctx.idp_token_endpoint ?? "",
      idpClientId: ctx.idp_client_id ?? "",
      idToken: ctx.idp_id_token ?? "",
      clientId: ctx.client_id ?? "",
      clientSecret: ctx.client_secret ?? "",
    });
    return await session(url, { fetch: bearerFetch(tokens) }, ["test-tool"]);
  }
  if (scenario.startsWith("auth/")) return await session(url, oauth(url), ["test-tool"]);
  throw new Error(`Cannot run scenario ${JSON.stringify(scenario)}: the driver does not know it`);
}

if (import.meta.main) {
  const scenario = Deno.env.get("MCP_CONFORMANCE_SCENARIO") ?? "";
  const url = Deno.args.at(-1);
  if (!url) {
    console.error("usage: driver.ts <server-url> (with MCP_CONFORMANCE_SCENARIO set)");
    Deno.exit(2);
  }
  try {
    await runScenario(scenario, url);
    Deno.exit(0);
  } catch (err) {
    console.error(`driver: ${scenario}: ${(err as Error)?.stack ?? err}`);
    Deno.exit(1);
  }
}
