/**
 * A small OCI distribution client over `fetch` (OCI distribution spec v1.1, the `/v2/` API):
 * blobs (monolithic POST + PUT upload, §"Pushing a blob monolithically"), manifests (PUT/GET by
 * tag or digest), tags list and the catalog. Every byte read is size-capped and its SHA-256
 * digest checked against the digest asked for before it is returned: the registry is not
 * trusted.
 *
 * Auth: none (token-less registries), HTTP Basic with the given credentials, and the Bearer
 * token challenge of Docker-compatible registries (`WWW-Authenticate: Bearer realm=…`), with the
 * same credentials sent to the realm. Credentials are never sent over plain HTTP to a host that
 * is not loopback (references refuse those hosts anyway).
 *
 * @module
 */
import { RegistryError } from "./errors.ts";
import type { RegistryAddress } from "./reference.ts";

/** Basic credentials for a registry. */
export interface RegistryAuth {
  readonly username: string;
  readonly password: string;
}

/** Options of {@link RegistryClient}. */
export interface ClientOptions {
  readonly auth?: RegistryAuth | null | undefined;
  /** Counts the bytes sent and received (bodies only), for measurements. */
  readonly meter?: { sent: number; received: number } | undefined;
}

/** A manifest as fetched: its bytes, their verified digest, and its media type. */
export interface FetchedManifest {
  readonly bytes: Uint8Array;
  readonly digest: string;
  readonly mediaType: string;
}

/** The largest manifest accepted (the spec suggests registries accept at least 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 << 20;

const ACCEPT = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
].join(", ");

/**
 * SHA-256 of `bytes` as an OCI digest, `sha256:<hex>`.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { sha256Digest } from "./client.ts";
 * equal(
 *   await sha256Digest(new Uint8Array()),
 *   "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
 * );
 * ```
 */
export async function sha256Digest(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return `sha256:${Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * One registry, reached over `fetch`.
 *
 * @example A client for a loopback registry (no request is made until a method is called)
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { RegistryClient } from "./client.ts";
 * import { parseRegistry } from "./reference.ts";
 * const client = new RegistryClient(parseRegistry("oci://127.0.0.1:5000"));
 * equal(client.base, "http://127.0.0.1:5000");
 * ```
 */
export class RegistryClient {
  #addr: RegistryAddress;
  #auth: RegistryAuth | null;
  #bearer = new Map<string, string>();
  #meter: { sent: number; received: number } | undefined;

  /** A client for `addr`. */
  constructor(addr: RegistryAddress, opts: ClientOptions = {}) {
    this.#addr = addr;
    this.#auth = opts.auth ?? null;
    this.#meter = opts.meter;
  }

  /** `scheme://host`. */
  get base(): string {
    return this.#addr.base;
  }

  /** Checks the registry answers `/v2/`. */
  async ping(): Promise<void> {
    const res = await this.#request("GET", "/v2/", "registry:catalog:*");
    await res.body?.cancel();
    if (!res.ok) throw this.#fail(res, "reach the registry");
  }

  /** True when `repo` already holds the blob `digest`. */
  async hasBlob(repo: string, digest: string): Promise<boolean> {
    const res = await this.#request("HEAD", `/v2/${repo}/blobs/${digest}`, pull(repo));
    await res.body?.cancel();
    if (res.status === 404) return false;
    if (!res.ok) throw this.#fail(res, `check blob ${digest}`);
    return true;
  }

  /** Uploads `bytes` as a blob of `repo` (skipped when present); returns its digest. */
  async pushBlob(repo: string, bytes: Uint8Array): Promise<string> {
    const digest = await sha256Digest(bytes);
    if (await this.hasBlob(repo, digest)) return digest;
    const start = await this.#request("POST", `/v2/${repo}/blobs/uploads/`, push(repo));
    await start.body?.cancel();
    const location = start.headers.get("location");
    if (start.status !== 202 || !location) throw this.#fail(start, `start an upload to ${repo}`);
    const url = new URL(location, this.#addr.base);
    if (url.origin !== new URL(this.#addr.base).origin) {
      throw new RegistryError(
        "REGISTRY",
        `Cannot upload to ${repo}: the registry sent the upload to another origin (${url.origin})`,
      );
    }
    url.searchParams.set("digest", digest);
    const put = await this.#request("PUT", url.pathname + url.search, push(repo), {
      body: bytes,
      headers: { "content-type": "application/octet-stream" },
    });
    await put.body?.cancel();
    if (put.status !== 201) throw this.#fail(put, `upload blob ${digest} to ${repo}`);
    return digest;
  }

  /** Downloads blob `digest` of `repo` (at most `maxBytes`) and checks its digest. */
  async getBlob(repo: string, digest: string, maxBytes: number): Promise<Uint8Array> {
    const res = await this.#request("GET", `/v2/${repo}/blobs/${digest}`, pull(repo));
    if (!res.ok) throw this.#fail(res, `fetch blob ${digest} of ${repo}`);
    const bytes = await this.#read(res, maxBytes, `blob ${digest}`);
    const actual = await sha256Digest(bytes);
    if (actual !== digest) {
      throw new RegistryError(
        "INTEGRITY",
        `Cannot trust blob ${digest} of ${repo}: current content digest is ${actual}`,
      );
    }
    return bytes;
  }

  /** Stores a manifest under `reference` (a tag or digest); returns its digest. */
  async putManifest(
    repo: string,
    reference: string,
    bytes: Uint8Array,
    mediaType: string,
  ): Promise<string> {
    const res = await this.#request("PUT", `/v2/${repo}/manifests/${reference}`, push(repo), {
      body: bytes,
      headers: { "content-type": mediaType },
    });
    await res.body?.cancel();
    if (res.status !== 201) throw this.#fail(res, `store manifest ${repo}:${reference}`);
    return await sha256Digest(bytes);
  }

  /**
   * Fetches the manifest `reference` (a tag or digest) of `repo`, or null when there is none.
   * A digest reference must match the bytes; a tag's bytes are returned with their digest.
   */
  async getManifest(repo: string, reference: string): Promise<FetchedManifest | null> {
    const res = await this.#request("GET", `/v2/${repo}/manifests/${reference}`, pull(repo), {
      headers: { accept: ACCEPT },
    });
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    if (!res.ok) throw this.#fail(res, `fetch manifest ${repo}:${reference}`);
    const bytes = await this.#read(res, MAX_MANIFEST_BYTES, `manifest ${repo}:${reference}`);
    const digest = await sha256Digest(bytes);
    if (reference.startsWith("sha256:") && digest !== reference) {
      throw new RegistryError(
        "INTEGRITY",
        `Cannot trust manifest ${repo}@${reference}: current content digest is ${digest}`,
      );
    }
    const mediaType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
    return { bytes, digest, mediaType };
  }

  /** The tags of `repo` (empty when the repository is unknown). */
  async tags(repo: string): Promise<string[]> {
    const res = await this.#request("GET", `/v2/${repo}/tags/list?n=1000`, pull(repo));
    if (res.status === 404) {
      await res.body?.cancel();
      return [];
    }
    if (!res.ok) throw this.#fail(res, `list the tags of ${repo}`);
    const body = JSON.parse(new TextDecoder().decode(await this.#read(res, 4 << 20, "tags")));
    const tags: unknown = body?.tags ?? [];
    return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === "string") : [];
  }

  /** The registry's repositories (`/v2/_catalog`, first 1000). */
  async catalog(): Promise<string[]> {
    const res = await this.#request("GET", "/v2/_catalog?n=1000", "registry:catalog:*");
    if (!res.ok) throw this.#fail(res, "list the registry's repositories");
    const body = JSON.parse(new TextDecoder().decode(await this.#read(res, 4 << 20, "catalog")));
    const repos: unknown = body?.repositories ?? [];
    return Array.isArray(repos) ? repos.filter((r): r is string => typeof r === "string") : [];
  }

  async #request(
    method: string,
    path: string,
    scope: string,
    init: { body?: Uint8Array; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const send = (authorization: string | null) => {
      const headers = new Headers(init.headers);
      if (authorization) headers.set("authorization", authorization);
      if (init.body && this.#meter) this.#meter.sent += init.body.length;
      return fetch(new URL(path, this.#addr.base), {
        method,
        headers,
        redirect: method === "GET" || method === "HEAD" ? "follow" : "manual",
        ...(init.body ? { body: init.body as BodyInit } : {}),
      }).catch((e: Error) => {
        throw new RegistryError(
          "REGISTRY",
          `Cannot reach ${this.#addr.base}: ${e.message}`,
        );
      });
    };
    const cached = this.#bearer.get(scope);
    let res = await send(cached ? `Bearer ${cached}` : this.#basic());
    if (res.status !== 401) return res;
    const challenge = res.headers.get("www-authenticate") ?? "";
    await res.body?.cancel();
    const token = await this.#token(challenge, scope);
    if (token === null) return res;
    this.#bearer.set(scope, token);
    res = await send(`Bearer ${token}`);
    return res;
  }

  #basic(): string | null {
    if (!this.#auth) return null;
    return `Basic ${btoa(`${this.#auth.username}:${this.#auth.password}`)}`;
  }

  async #token(challenge: string, scope: string): Promise<string | null> {
    if (!/^Bearer\s/i.test(challenge)) return null;
    const params = new Map<string, string>();
    for (const m of challenge.matchAll(/([a-zA-Z]+)="([^"]*)"/g)) params.set(m[1]!, m[2]!);
    const realm = params.get("realm");
    if (!realm) return null;
    const url = new URL(realm);
    if (url.protocol !== "https:" && !(url.protocol === "http:" && this.#addr.scheme === "http")) {
      throw new RegistryError("INSECURE", `Cannot authenticate: token realm ${realm} is not HTTPS`);
    }
    if (params.has("service")) url.searchParams.set("service", params.get("service")!);
    url.searchParams.set("scope", params.get("scope") ?? scope);
    const basic = this.#basic();
    const res = await fetch(url, { headers: basic ? { authorization: basic } : {} });
    if (!res.ok) {
      await res.body?.cancel();
      return null;
    }
    const body = JSON.parse(new TextDecoder().decode(await this.#read(res, 1 << 20, "token")));
    const token = body?.token ?? body?.access_token;
    return typeof token === "string" ? token : null;
  }

  async #read(res: Response, maxBytes: number, what: string): Promise<Uint8Array> {
    const declared = Number(res.headers.get("content-length") ?? "0");
    if (declared > maxBytes) {
      await res.body?.cancel();
      throw new RegistryError(
        "INTEGRITY",
        `Cannot accept ${what}: current size is ${declared} bytes (max ${maxBytes})`,
      );
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of res.body ?? new ReadableStream<Uint8Array>()) {
      total += chunk.length;
      if (total > maxBytes) {
        await res.body?.cancel().catch(() => {});
        throw new RegistryError(
          "INTEGRITY",
          `Cannot accept ${what}: it is larger than ${maxBytes} bytes`,
        );
      }
      chunks.push(chunk);
    }
    if (this.#meter) this.#meter.received += total;
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  #fail(res: Response, what: string): RegistryError {
    res.body?.cancel().catch(() => {});
    const code = res.status === 404 ? "NOT_FOUND" : "REGISTRY";
    const hint = res.status === 401 || res.status === 403
      ? " (set ASTRID_REGISTRY_USER and ASTRID_REGISTRY_PASSWORD)"
      : "";
    return new RegistryError(
      code,
      `Cannot ${what}: ${this.#addr.base} answered ${res.status} ${res.statusText}${hint}`,
    );
  }
}

function pull(repo: string): string {
  return `repository:${repo}:pull`;
}

function push(repo: string): string {
  return `repository:${repo}:pull,push`;
}
