/**
 * Which commands need the network, and where they go. Deliberately generous: any argv that
 * mentions a network tool (anywhere, so wrappers such as `env`, `timeout` or `python -m` do not
 * hide it) or holds a URL yields a `network_request`. A miss is not an escape: bwrap runs
 * without a network unless these actions were allowed.
 *
 * @module
 */
import { urlResource } from "../security/resource.ts";
import { NETWORK_COMMANDS as NET_COMMANDS } from "../security/network.ts";

/** Commands whose listed subcommands reach a registry or remote, with the usual host. */
const SUBCOMMANDS: Readonly<Record<string, { subs: readonly string[]; host: string }>> = {
  git: {
    subs: ["clone", "fetch", "pull", "push", "ls-remote", "submodule"],
    host: "git-remote.invalid",
  },
  npm: {
    subs: ["install", "i", "ci", "add", "update", "publish", "exec", "view"],
    host: "registry.npmjs.org",
  },
  yarn: { subs: ["add", "install", "upgrade", "dlx"], host: "registry.yarnpkg.com" },
  pnpm: { subs: ["install", "i", "add", "update", "dlx"], host: "registry.npmjs.org" },
  bun: { subs: ["install", "i", "add", "x", "update"], host: "registry.npmjs.org" },
  deno: { subs: ["install", "add", "cache", "upgrade"], host: "registry.npmjs.org" },
  pip: { subs: ["install", "download"], host: "pypi.org" },
  pip3: { subs: ["install", "download"], host: "pypi.org" },
  uv: { subs: ["pip", "add", "sync", "tool"], host: "pypi.org" },
  cargo: { subs: ["install", "fetch", "update", "add", "build", "publish"], host: "crates.io" },
  go: { subs: ["get", "install", "mod"], host: "proxy.golang.org" },
  gem: { subs: ["install", "update"], host: "rubygems.org" },
  "apt-get": {
    subs: ["install", "update", "upgrade", "download", "source"],
    host: "deb.debian.org",
  },
  apt: { subs: ["install", "update", "upgrade"], host: "deb.debian.org" },
  docker: { subs: ["pull", "push", "run", "build", "login"], host: "registry-1.docker.io" },
  podman: { subs: ["pull", "push", "run", "build", "login"], host: "registry-1.docker.io" },
  brew: { subs: ["install", "update", "upgrade"], host: "formulae.brew.sh" },
}; // deno-fmt-ignore

const URL_RE = /^(https?|ftps?|ssh|git|sftp|rsync|wss?):\/\/([^/\s?#]+)/i;
const SCP_RE = /^(?:[^@\s/:]+@)?([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+):(?!\/\/)/;
const HOST_RE =
  /^(?:[^@\s/:]+@)?((?:[A-Za-z0-9-]+\.)+[A-Za-z0-9-]+|localhost|\[[0-9a-fA-F:]+\])(?::\d+)?$/;
/** Used when a command needs the network but names no host. */
export const UNKNOWN_HOST = "unknown-host.invalid";

function base(token: string): string {
  return token.slice(token.lastIndexOf("/") + 1);
}

/** A host name a resolver could look up (not `$HOST` or other shell leftovers). */
const PLAIN_HOST = /^(?:[a-z0-9-]+\.)*[a-z0-9-]+$|^\[[0-9a-f:.]+\]$/;

function hostUrl(host: string): string | undefined {
  return safeUrl(`https://${host.replace(/^[^@]*@/, "")}/`);
}

/**
 * The URLs one command's argv would contact (empty when it needs no network).
 *
 * @example Hosts come from URLs, arguments or the registry a command uses
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { networkTargets } from "./network_need.ts";
 * deepEqual(networkTargets(["curl", "-s", "https://api.example.com/v1"]), [
 *   "https://api.example.com/v1",
 * ]);
 * deepEqual(networkTargets(["npm", "install", "left-pad"]), ["https://registry.npmjs.org/"]);
 * deepEqual(networkTargets(["ls", "-la"]), []);
 * ```
 */
export function networkTargets(argv: readonly string[]): string[] {
  const urls = new Set<string>();
  let needs = false;
  let defaultHost = UNKNOWN_HOST;
  let hostArgsFrom = -1;
  argv.forEach((token, i) => {
    const name = base(token);
    if (NET_COMMANDS.has(name)) {
      needs = true;
      if (hostArgsFrom === -1) hostArgsFrom = i + 1;
    }
    const sub = SUBCOMMANDS[name];
    if (sub && argv.slice(i + 1).some((t) => sub.subs.includes(t))) {
      needs = true;
      defaultHost = sub.host;
      if (hostArgsFrom === -1) hostArgsFrom = i + 1;
    }
    const url = URL_RE.exec(token);
    if (url) {
      needs = true;
      const scheme = url[1]!.toLowerCase();
      const resolved = scheme === "http" || scheme === "https"
        ? safeUrl(token) ?? hostUrl(url[2]!)
        : hostUrl(url[2]!);
      if (resolved) urls.add(resolved);
    }
  });
  if (!needs) return [];
  if (urls.size === 0 && hostArgsFrom !== -1) {
    for (const token of argv.slice(hostArgsFrom)) {
      if (token.startsWith("-")) continue;
      const m = SCP_RE.exec(token) ?? HOST_RE.exec(token);
      const url = m ? hostUrl(m[1]!) : undefined;
      if (url) {
        urls.add(url);
        break;
      }
    }
  }
  if (urls.size === 0) urls.add(`https://${defaultHost}/`);
  return [...urls];
}

function safeUrl(token: string): string | undefined {
  try {
    const url = urlResource(token);
    return PLAIN_HOST.test(new URL(url).hostname) ? url : undefined;
  } catch {
    return undefined;
  }
}
