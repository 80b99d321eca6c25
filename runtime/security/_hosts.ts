/**
 * Private host matching for policy.ts: denied host globs, and the hosts a command argument
 * names.
 *
 * @module
 */
import { NETWORK_COMMANDS } from "./network.ts";

/** Commands whose bare arguments may be host names: the network commands, plus git. */
export const NET_COMMANDS: ReadonlySet<string> = new Set([...NETWORK_COMMANDS, "git"]);
const HOSTNAME = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)+\.?$/i;
/**
 * Denied host globs: `*.evil.com` matches `evil.com` and every subdomain.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { HostMatcher } from "./_hosts.ts";
 * equal(new HostMatcher(["*.evil.com"]).match("API.evil.com"), "*.evil.com");
 * ```
 */
export class HostMatcher {
  #rules: { source: string; re: RegExp }[];

  constructor(globs: readonly string[]) {
    this.#rules = globs.map((g) => {
      const glob = g.toLowerCase().replace(/\.$/, "");
      let body = glob;
      let prefix = "";
      if (body.startsWith("*.")) {
        body = body.slice(2);
        prefix = "(?:[^/]*\\.)?";
      }
      const re = body.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(
        "[^.]*",
      );
      return { source: g, re: new RegExp(`^${prefix}${re}$`) };
    });
  }

  /** The glob that denies `host`, if any. */
  match(host: string): string | undefined {
    const h = host.toLowerCase().replace(/\.+$/, "");
    for (const r of this.#rules) if (r.re.test(h)) return r.source;
    return undefined;
  }
}

/**
 * Hosts named by an argument: any `scheme://` URL, and bare host names for network commands.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { hostsIn } from "./_hosts.ts";
 * deepEqual(hostsIn("https://u@api.evil.com:8443/x", false), ["api.evil.com"]);
 * deepEqual(hostsIn("root@evil.com:/tmp", true), ["evil.com"]);
 * ```
 */
export function hostsIn(arg: string, net: boolean): string[] {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(arg)) {
    try {
      const host = new URL(arg).hostname.replace(/^\[|\]$/g, "");
      if (host !== "") return [host];
    } catch {
      // Not a URL after all: fall through to the bare-name scan.
    }
  }
  if (!net || arg.startsWith("-")) return [];
  return arg.split(/[@:/]/).filter((piece) => HOSTNAME.test(piece));
}
