/**
 * Capsule references: `oci://HOST[:PORT]/REPO:TAG` (or `@sha256:<hex>` for a digest) and
 * registries `oci://HOST[:PORT]`. Loopback hosts (127.0.0.0/8, `localhost`, `::1`) are reached
 * over plain HTTP; every other host over HTTPS only. Repository names follow the OCI
 * distribution spec's grammar (lowercase path components); tags its `[\w][\w.-]{0,127}`.
 *
 * @module
 */
import { RegistryError } from "./errors.ts";

/** A registry's address and the scheme it is reached with. */
export interface RegistryAddress {
  /** `HOST[:PORT]` as written (IPv6 in brackets). */
  readonly host: string;
  /** `http` for loopback hosts, `https` otherwise. */
  readonly scheme: "http" | "https";
  /** `scheme://host`, the base of `/v2/` requests. */
  readonly base: string;
}

/** A parsed capsule reference. */
export interface CapsuleRef extends RegistryAddress {
  /** The repository path, e.g. `astrid/hello`. */
  readonly repository: string;
  /** The tag, or null when the reference names a digest. */
  readonly tag: string | null;
  /** `sha256:<hex>` when the reference names one, else null. */
  readonly digest: string | null;
  /** The reference in canonical form (`oci://host/repo:tag` or `oci://host/repo@digest`). */
  readonly text: string;
}

const REPO = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?$/;

/**
 * True when `hostname` (without port; IPv6 in brackets or not) is a loopback address.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { isLoopbackHost } from "./reference.ts";
 * equal(isLoopbackHost("127.0.0.1"), true);
 * equal(isLoopbackHost("[::1]"), true);
 * equal(isLoopbackHost("localhost"), true);
 * equal(isLoopbackHost("127.0.0.1.evil.example"), false);
 * ```
 */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "localhost" || h === "::1") return true;
  const v4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return v4 !== null && v4.slice(1).every((n) => Number(n) <= 255);
}

function address(hostPort: string, what: string): RegistryAddress {
  if (!HOST.test(hostPort)) {
    throw new RegistryError(
      "REF",
      `Cannot use ${what}: current host is ${JSON.stringify(hostPort)}`,
    );
  }
  const port = /:([0-9]{1,5})$/.exec(hostPort.replace(/^\[[^\]]*\]/, ""));
  if (port && (Number(port[1]) < 1 || Number(port[1]) > 65535)) {
    throw new RegistryError("REF", `Cannot use ${what}: port ${port[1]} is out of range`);
  }
  const hostname = hostPort.startsWith("[")
    ? hostPort.slice(0, hostPort.indexOf("]") + 1)
    : hostPort.replace(/:[0-9]+$/, "");
  const scheme = isLoopbackHost(hostname) ? "http" : "https";
  return { host: hostPort, scheme, base: `${scheme}://${hostPort}` };
}

/**
 * Parses a registry, `oci://HOST[:PORT]` (a trailing `/` is allowed). `http://` is accepted
 * for loopback hosts only; `https://` for any host.
 *
 * @throws {RegistryError} `REF` when it does not parse, `INSECURE` for plain HTTP elsewhere
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { parseRegistry } from "./reference.ts";
 * equal(parseRegistry("oci://127.0.0.1:5000").base, "http://127.0.0.1:5000");
 * equal(parseRegistry("oci://ghcr.io").base, "https://ghcr.io");
 * ```
 */
export function parseRegistry(text: string): RegistryAddress {
  const { scheme, rest } = splitScheme(text, "registry");
  if (rest.replace(/\/$/, "").includes("/")) {
    throw new RegistryError("REF", `Cannot use registry ${text}: give oci://HOST[:PORT] only`);
  }
  return checkScheme(address(rest.replace(/\/$/, ""), `registry ${text}`), scheme, text);
}

/**
 * Parses a capsule reference `oci://HOST[:PORT]/REPO:TAG` or `oci://HOST[:PORT]/REPO@sha256:…`.
 * A reference without tag or digest means `:latest`.
 *
 * @throws {RegistryError} `REF` when it does not parse, `INSECURE` for plain HTTP elsewhere
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { parseRef } from "./reference.ts";
 * const ref = parseRef("oci://127.0.0.1:5000/astrid/hello:0.1.0");
 * equal(ref.repository, "astrid/hello");
 * equal(ref.tag, "0.1.0");
 * equal(ref.base, "http://127.0.0.1:5000");
 * ```
 */
export function parseRef(text: string): CapsuleRef {
  const { scheme, rest } = splitScheme(text, "reference");
  const slash = rest.indexOf("/");
  if (slash <= 0) {
    throw new RegistryError(
      "REF",
      `Cannot use reference ${text}: expected oci://HOST[:PORT]/REPO:TAG`,
    );
  }
  const addr = checkScheme(address(rest.slice(0, slash), `reference ${text}`), scheme, text);
  let path = rest.slice(slash + 1);
  let tag: string | null = null;
  let digest: string | null = null;
  const at = path.indexOf("@");
  if (at >= 0) {
    digest = path.slice(at + 1);
    path = path.slice(0, at);
    if (!DIGEST.test(digest)) {
      throw new RegistryError(
        "REF",
        `Cannot use reference ${text}: digest must be sha256:<64 hex>`,
      );
    }
  } else {
    const colon = path.lastIndexOf(":");
    if (colon >= 0) {
      tag = path.slice(colon + 1);
      path = path.slice(0, colon);
    } else tag = "latest";
    if (!TAG.test(tag)) {
      throw new RegistryError(
        "REF",
        `Cannot use reference ${text}: current tag is ${JSON.stringify(tag)}`,
      );
    }
  }
  if (!REPO.test(path) || path.length > 255) {
    throw new RegistryError(
      "REF",
      `Cannot use reference ${text}: current repository is ${JSON.stringify(path)} ` +
        "(lowercase letters, digits, . _ - and / only)",
    );
  }
  const suffix = digest ? `@${digest}` : `:${tag}`;
  return {
    ...addr,
    repository: path,
    tag,
    digest,
    text: `oci://${addr.host}/${path}${suffix}`,
  };
}

/**
 * The same reference pinned to `digest` (`oci://host/repo@sha256:…`).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { parseRef, withDigest } from "./reference.ts";
 * const d = `sha256:${"a".repeat(64)}`;
 * equal(withDigest(parseRef("oci://localhost/x:1"), d).text, `oci://localhost/x@${d}`);
 * ```
 */
export function withDigest(ref: CapsuleRef, digest: string): CapsuleRef {
  if (!DIGEST.test(digest)) throw new TypeError(`Cannot pin ${ref.text}: bad digest ${digest}`);
  return { ...ref, tag: null, digest, text: `oci://${ref.host}/${ref.repository}@${digest}` };
}

function splitScheme(text: string, what: string): { scheme: string; rest: string } {
  if (typeof text !== "string" || text.length > 1024) {
    throw new RegistryError("REF", `Cannot use this ${what}: it is not a string of ≤1024 chars`);
  }
  const m = /^(oci|http|https):\/\/(.*)$/.exec(text);
  if (!m) {
    throw new RegistryError("REF", `Cannot use ${what} ${text}: it must start with oci://`);
  }
  return { scheme: m[1]!, rest: m[2]! };
}

function checkScheme(addr: RegistryAddress, scheme: string, text: string): RegistryAddress {
  if (scheme === "http" && addr.scheme !== "http") {
    throw new RegistryError(
      "INSECURE",
      `Cannot use ${text}: plain HTTP is allowed only to loopback registries (use oci:// for HTTPS)`,
    );
  }
  return addr;
}
