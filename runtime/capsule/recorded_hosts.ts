/**
 * The `[capabilities] net` hosts that install records approve, for the launcher
 * (runtime/cli/_launch_inputs.ts), which grants them to the runtime as `--allow-net` before the
 * runtime starts. Read straight from the KV store, without zod, TOML or the runtime key: no
 * manifest is parsed and no signature checked here (issue 15: the launcher parsed every
 * installed capsule's manifest on every command).
 *
 * Why reading unverified records is sound here: the records live in the KV store under
 * `$ASTRID_HOME`, which no agent-side action can write (capsules, tools and MCP servers are
 * walled off from it), and this only widens Deno's own `--allow-net` floor. The runtime still
 * verifies every record's signature before it uses a capsule, and every capsule request still
 * passes the interceptor against the verified record's hosts. A record whose folder is gone, or
 * of another workspace, adds nothing.
 *
 * @module
 */

/** The installed capsule folders the launcher found, by scope: the names only. */
export interface InstalledFolders {
  /** Folder names under `$ASTRID_HOME/capsules/`. */
  readonly user: ReadonlySet<string>;
  /** The workspace root and the folder names under `<root>/.astrid/capsules/`, if any. */
  readonly workspace: { readonly root: string; readonly names: ReadonlySet<string> } | null;
}

/** What a record's part holds (install_record.ts, _record_parts.ts). */
interface Part {
  readonly n?: unknown;
  readonly data?: unknown;
}

/**
 * The approved `net` hosts of the records of `folders`, read from the KV store at `location`
 * (a local file); `[]` when the file does not exist (nothing was ever installed), null when it
 * cannot be read (the caller then falls back to the manifests).
 *
 * @example No store yet, no hosts
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { recordedNetHosts } from "./recorded_hosts.ts";
 * const dir = await Deno.makeTempDir();
 * const folders = { user: new Set(["weather"]), workspace: null };
 * deepEqual(await recordedNetHosts(`${dir}/state.kv`, folders), []);
 * ```
 */
export async function recordedNetHosts(
  location: string,
  folders: InstalledFolders,
): Promise<string[] | null> {
  try {
    if (!Deno.statSync(location).isFile) return null;
  } catch (e) {
    return e instanceof Deno.errors.NotFound ? [] : null;
  }
  let kv: Deno.Kv;
  try {
    kv = await Deno.openKv(location);
  } catch {
    return null;
  }
  try {
    const blobs = new Map<string, Part[]>();
    // Keys: ["capsule_install", <scope key>, <name>, <part index>].
    for await (const e of kv.list<Part>({ prefix: ["capsule_install"] })) {
      const [, scope, name, index] = e.key;
      if (typeof index !== "number" || e.key.length !== 4) continue;
      const id = `${String(scope)}\0${String(name)}`;
      const parts = blobs.get(id) ?? [];
      parts[index] = e.value;
      blobs.set(id, parts);
    }
    const hosts = new Set<string>();
    for (const parts of blobs.values()) {
      for (const host of netOf(parts, folders)) hosts.add(host);
    }
    return [...hosts];
  } catch {
    return null;
  } finally {
    kv.close();
  }
}

/** The hosts of one record's parts, when it is a record of one of `folders`; else none. */
function netOf(parts: Part[], folders: InstalledFolders): string[] {
  const n = parts[0]?.n;
  if (typeof n !== "number" || parts.length !== n) return [];
  const chunks: Uint8Array[] = [];
  for (const p of parts) {
    if (!(p?.data instanceof Uint8Array)) return [];
    chunks.push(p.data);
  }
  let record: {
    name?: unknown;
    scope?: unknown;
    workspace?: { root?: unknown } | null;
    capabilities?: { net?: unknown };
  };
  try {
    const bytes = chunks.length === 1 ? chunks[0]! : concat(chunks);
    record = JSON.parse(new TextDecoder().decode(bytes))?.record ?? {};
  } catch {
    return [];
  }
  const name = String(record.name);
  const ours = record.scope === "user"
    ? folders.user.has(name)
    : record.scope === "workspace" && folders.workspace !== null &&
      record.workspace?.root === folders.workspace.root && folders.workspace.names.has(name);
  const net = record.capabilities?.net;
  return ours && Array.isArray(net) ? net.filter((h) => typeof h === "string") : [];
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
