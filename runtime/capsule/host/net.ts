/**
 * The `http-request` host function: the URL must be http(s) to a host in the manifest's `net`
 * (first check), then the interceptor decides on a `capsule_http_request` action (second check).
 * Redirects are not followed (a redirect could leave the allowed hosts); the capsule sees the
 * 3xx response. Bodies are capped at {@link MAX_HTTP_BODY_BYTES} bytes each way.
 *
 * Bodies are UTF-8 text by default. Binary-safe forms (runtime/capsule/host/_encoding.ts):
 * - `bodyEncoding: "base64"`: the request body is base64 of the exact bytes to send;
 * - `responseEncoding`: `"utf8"` (default: text, invalid sequences become U+FFFD), `"base64"`
 *   (always base64 of the exact bytes), or `"auto"` (the exact text when the body is valid UTF-8,
 *   else base64). The result's `bodyEncoding` names the form its `body` is in.
 *
 * @module
 */
import { type CallState, flushAudit, gate, type HostEnv, HostError, refuse } from "./context.ts";
import { confineUrl } from "./confine.ts";
import { decodeContent, encodeResult, encodingArg } from "./_encoding.ts";

/**
 * The largest request or response body, in bytes (decoded bytes for base64: 8 MiB is 11 184 812
 * base64 characters, well inside the 24 MiB JSON argument limit).
 */
export const MAX_HTTP_BODY_BYTES = 8 << 20;

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

async function readCapped(res: Response): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > MAX_HTTP_BODY_BYTES) {
      await reader.cancel();
      throw new HostError(
        "TOO_LARGE",
        `Cannot read the response: it exceeds ${MAX_HTTP_BODY_BYTES} bytes`,
      );
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) out.set(c, (at += c.length) - c.length);
  return out;
}

function responseEncodingArg(value: unknown): "utf8" | "base64" | "auto" {
  return value === "auto" ? "auto" : encodingArg(value, "responseEncoding", "send the request");
}

/**
 * Runs one capsule HTTP request through both checks.
 *
 * @example A host outside `net` is refused before any network I/O
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { httpRequest } from "./net.ts";
 * import { type HostEnv, newCallState } from "./context.ts";
 * import { parseManifest } from "../manifest.ts";
 * import { testGate } from "../_testing.ts";
 * await using g = await testGate({ frontend: null });
 * const env: HostEnv = {
 *   capsule: "n", manifest: parseManifest('[package]\nname = "n"\nversion = "1"\n').manifest,
 *   workspaceRoot: g.root, interceptor: g.interceptor, store: g.store, config: {},
 *   secretKeys: new Set(),
 * };
 * await rejects(httpRequest(env, newCallState(), { url: "https://evil.example/" }), /not in net/);
 * ```
 */
export async function httpRequest(
  env: HostEnv,
  state: CallState,
  args: Record<string, unknown>,
): Promise<unknown> {
  const method = String(args.method ?? "GET").toUpperCase();
  if (!METHODS.has(method)) {
    throw new HostError("BAD_ARGS", `Cannot send the request: current method is ${method}`);
  }
  const headers = new Headers();
  if (args.headers !== undefined) {
    if (args.headers === null || typeof args.headers !== "object") {
      throw new HostError("BAD_ARGS", "Cannot send the request: headers is not an object");
    }
    try {
      for (const [k, v] of Object.entries(args.headers)) headers.set(k, String(v));
    } catch (e) {
      throw new HostError("BAD_ARGS", `Cannot send the request: ${(e as Error).message}`);
    }
  }
  if (args.body !== undefined && typeof args.body !== "string") {
    throw new HostError("BAD_ARGS", "Cannot send the request: body is not a string");
  }
  const wanted = responseEncodingArg(args.responseEncoding);
  const body = typeof args.body === "string"
    ? decodeContent(
      args.body,
      encodingArg(args.bodyEncoding, "bodyEncoding", "send the request"),
      MAX_HTTP_BODY_BYTES,
      "send the request",
    )
    : undefined;
  const url = confineUrl(env.manifest, args.url);
  if (!(url instanceof URL)) {
    throw await refuse(env, state, "http-request", "CONFINED", url.refused);
  }
  // The request leaves the sandbox: the call's earlier reads must be on the record first.
  await flushAudit(env, state, "http-request");
  const allowed = await gate(env, state, {
    kind: "capsule_http_request",
    capsule: env.capsule,
    url: url.href,
    method,
  });
  try {
    const res = await (env.fetch ?? fetch)(url.href, {
      method,
      headers,
      redirect: "manual",
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(env.httpTimeoutMs ?? 30_000),
    });
    const got = encodeResult(await readCapped(res), wanted);
    const out: Record<string, string> = {};
    res.headers.forEach((v, k) => (out[k] = v));
    await allowed.complete({ ok: true, detail: { status: res.status } });
    return { status: res.status, headers: out, body: got.text, bodyEncoding: got.encoding };
  } catch (e) {
    await allowed.complete({ ok: false, detail: (e as Error).message });
    if (e instanceof HostError) throw e;
    throw new HostError("IO", `Cannot complete ${method} ${url.href}: ${(e as Error).message}`);
  }
}
