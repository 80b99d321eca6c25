/**
 * Install records: what the human approved when they ran `astrid capsule install`. A capsule
 * runs because a human installed it, not because a folder exists, so every install writes one
 * record into user-level state (the KV store under `$ASTRID_HOME`, which no agent-side action
 * reaches), signed with the runtime key, and every load verifies it before it trusts a folder.
 *
 * A record holds: the name and version, the scope (user, or a workspace with its root and id),
 * the installed folder (canonical), the wasm hash, the manifest hash (see {@link manifestHash}),
 * the approved `[capabilities]`, `[env]` spec and `[[mcp_server]]`s (kept for the diff shown at
 * the next install), the tool list (so listing tools never starts a process or a wasm
 * instance), the installed wasm's file fingerprint (so listing need not read it), the time,
 * and `publisher`: null for a folder install, else the
 * `{ fingerprint, ref, digest }` of the registry artifact whose signature was verified.
 *
 * Signature: Ed25519 (RFC 8032) over `canonicalBytes("capsule-install", record)` (ACE-1,
 * runtime/crypto/canonical.ts). Verification runs in a fixed order: decode the stored bytes,
 * check the key is this runtime's, verify the signature over the record as stored, and only
 * then validate and trust its fields. A record signed by another key (a regenerated runtime
 * key), edited, planted, or filed under another name or scope is refused.
 *
 * Validation: strict, hand-written checks (_check.ts, no schema library, so that loading this
 * module for `astrid tools call` stays cheap): an unknown key anywhere is refused, and an own
 * `__proto__` key inside `env` or a tool's `inputSchema` is dropped, never copied.
 *
 * Storage: `["capsule_install", <scope key>, <name>, <part>]`, the signed envelope's JSON split
 * into parts below Deno KV's 64 KiB value limit (a big MCP server's tool list does not fit one
 * value) and written in one atomic commit.
 *
 * @module
 */
import {
  blake3Hex,
  canonicalBytes,
  fromBase64Url,
  type SignedBytes,
  type Signer,
  toBase64Url,
  toHex,
  verify,
  verifyAhead,
} from "../crypto/mod.ts";
import type { Store } from "../storage/mod.ts";
import { mirroredWrite } from "../storage/listing_mirror.ts";
import { deleteBlob, readStampedBlobs, writeBlob } from "./_record_parts.ts";
import { type ListCacheEntry, readListCache, writeListCache } from "./_list_cache.ts";
import {
  array,
  boolean,
  type Check,
  nullable,
  oneOf,
  optional,
  parse,
  record,
  strict,
  string,
  unknown,
} from "./_check.ts";
import { CapsuleError } from "./errors.ts";
import type { CapsuleManifest } from "./manifest.ts";

/** The ACE-1 domain of an install record's signature. */
export const RECORD_DOMAIN = "capsule-install";
/** The ACE-1 domain of the manifest pin. */
export const MANIFEST_DOMAIN = "capsule-manifest";

const PREFIX = "capsule_install";
const HASH = string(/^blake3:[0-9a-f]{64}$/);
const strings = array(string());

/** One tool as recorded: `server` names the `[[mcp_server]]` that serves it (else the wasm). */
const TOOL: Check<RecordedTool> = strict({
  name: string(/^[A-Za-z0-9_.-]{1,128}$/, (n) => !n.includes(".."), ' without ".."'),
  description: string(),
  inputSchema: record(unknown),
  server: optional(string()),
});

const RECORD: Check<InstallRecord> = strict({
  v: oneOf([1]),
  name: string(),
  version: string(),
  scope: oneOf(["user", "workspace"]),
  workspace: nullable(strict({ root: string(), id: nullable(string()) })),
  dir: string(),
  wasmHash: nullable(HASH),
  manifestHash: HASH,
  capabilities: strict({
    net: strings,
    fs_read: strings,
    fs_write: strings,
    kv: boolean,
    host_process: strings,
    // Absent in records written before capsules could call the model: false.
    llm: optional(boolean),
  }),
  env: record(strict({
    type: oneOf(["secret", "string"]),
    required: boolean,
    request: optional(string()),
    default: optional(string()),
  })),
  mcpServers: array(strict({ id: string(), command: string(), args: strings })),
  tools: array(TOOL),
  // The installed wasm's `dev:ino:size:mtime:ctime` (loader.ts `fileFingerprint`): while it
  // matches, listing does not read the wasm. Absent in older records: the wasm is hashed.
  wasmFingerprint: optional(string(/^-?\d+(:-?\d+){4}$/)),
  installedAt: string(),
  // Null for a capsule installed from a folder; set when installed from a registry (the
  // publisher key's fingerprint, the reference and the manifest digest that were verified).
  publisher: nullable(strict({
    fingerprint: string(),
    ref: string(),
    digest: string(/^sha256:[0-9a-f]{64}$/),
  })),
});

/**
 * What the human approved at install time (see the module doc for each field).
 *
 * @example A record's scope and pins
 * ```ts
 * import { equal } from "node:assert/strict";
 * import type { InstallRecord } from "./install_record.ts";
 * const pick = (r: InstallRecord) => `${r.scope}:${r.name}`;
 * equal(pick({ scope: "user", name: "hello" } as InstallRecord), "user:hello");
 * ```
 */
export type InstallRecord = {
  v: 1;
  name: string;
  version: string;
  scope: "user" | "workspace";
  workspace: { root: string; id: string | null } | null;
  dir: string;
  wasmHash: string | null;
  manifestHash: string;
  capabilities: {
    net: string[];
    fs_read: string[];
    fs_write: string[];
    kv: boolean;
    host_process: string[];
    llm?: boolean | undefined;
  };
  env: Record<string, {
    type: "secret" | "string";
    required: boolean;
    request?: string | undefined;
    default?: string | undefined;
  }>;
  mcpServers: { id: string; command: string; args: string[] }[];
  tools: RecordedTool[];
  wasmFingerprint?: string | undefined;
  installedAt: string;
  publisher: { fingerprint: string; ref: string; digest: string } | null;
};

/** One recorded tool. */
export type RecordedTool = {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  server?: string | undefined;
};

/** A record as read back: verified, or refused with the reason. */
export type RecordRead =
  | {
    readonly ok: true;
    readonly name: string;
    readonly record: InstallRecord;
    /**
     * The versionstamps of the stored record (_record_parts.ts `StampedBlob`): the listing
     * cache's key (_list_cache.ts).
     */
    readonly stamp: string;
  }
  | { readonly ok: false; readonly name: string; readonly reason: string };

/**
 * The pin over a parsed manifest: BLAKE3 of its ACE-1 encoding (domain `capsule-manifest`).
 * It covers every field of the validated manifest with defaults applied: `[package]`,
 * `[component]` (entrypoint and wasm hash), `[capabilities]`, `[env]`, `[[tool]]`,
 * `[[mcp_server]]`, the static entries (`[[skill]]`, `[[context_file]]`, `[[command]]`: names
 * and paths, not the files' text) and the sections not acted on yet. Comments and formatting
 * are not covered (they change nothing).
 *
 * @throws {CapsuleError} `MANIFEST` when a value cannot be encoded (a TOML date in a schema)
 *
 * @example Reordering the TOML keeps the pin; widening a capability changes it
 * ```ts
 * import { equal, notEqual } from "node:assert/strict";
 * import { parseManifest } from "./manifest.ts";
 * import { manifestHash } from "./install_record.ts";
 * const pin = (t: string) => manifestHash(parseManifest(t).manifest);
 * const a = '[package]\nname = "n"\nversion = "1"\n[capabilities]\nfs_read = ["src"]\n';
 * const b = '[capabilities]\nfs_read = ["src"]\n[package]\nversion = "1"\nname = "n"\n';
 * equal(pin(a), pin(b));
 * notEqual(pin(a), pin(a.replace('"src"', '"."')));
 * ```
 */
export function manifestHash(manifest: CapsuleManifest): string {
  try {
    return `blake3:${blake3Hex(canonicalBytes(MANIFEST_DOMAIN, manifest))}`;
  } catch (e) {
    throw new CapsuleError(
      "MANIFEST",
      `Cannot pin the manifest of ${manifest.package.name}: ${(e as Error).message}`,
    );
  }
}

/**
 * The scope part of a record's key: `user`, or `ws-` and 32 hex digits of the workspace root.
 *
 * @example
 * ```ts
 * import { equal, match } from "node:assert/strict";
 * import { scopeKey } from "./install_record.ts";
 * equal(scopeKey("user", null), "user");
 * match(scopeKey("workspace", "/ws"), /^ws-[0-9a-f]{32}$/);
 * ```
 */
export function scopeKey(scope: "user" | "workspace", workspaceRoot: string | null): string {
  if (scope === "user") return "user";
  if (workspaceRoot === null) {
    throw new TypeError("Cannot key a workspace record: current workspace root is null");
  }
  return `ws-${blake3Hex(workspaceRoot).slice(0, 32)}`;
}

/**
 * The signed install records of one runtime key, in a store.
 *
 * @example Write, read back, and refuse an edited record
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openStore } from "../storage/mod.ts";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { InstallRecords, type InstallRecord } from "./install_record.ts";
 * using store = await openStore(":memory:");
 * const records = new InstallRecords(store, signerFromSeed(generateSeed()));
 * const record: InstallRecord = {
 *   v: 1, name: "docs", version: "1", scope: "user", workspace: null, dir: "/h/capsules/docs",
 *   wasmHash: null, manifestHash: `blake3:${"0".repeat(64)}`,
 *   capabilities: { net: [], fs_read: [], fs_write: [], kv: false, host_process: [] },
 *   env: {}, mcpServers: [], tools: [], installedAt: "2025-01-01T00:00:00.000Z", publisher: null,
 * };
 * await records.write(record);
 * equal((await records.read("user", null, "docs"))?.ok, true);
 * const other = new InstallRecords(store, signerFromSeed(generateSeed()));
 * equal((await other.read("user", null, "docs"))?.ok, false);
 * ```
 */
export class InstallRecords {
  #store: Store;
  #signer: Signer;

  /** Records in `store`, signed and verified with `signer` (the runtime key). */
  constructor(store: Store, signer: Signer) {
    this.#store = store;
    this.#signer = signer;
  }

  /** The record of `name` in a scope: verified, refused (with why), or null when none. */
  async read(
    scope: "user" | "workspace",
    workspaceRoot: string | null,
    name: string,
  ): Promise<RecordRead | null> {
    return (await this.list(scope, workspaceRoot, name)).get(name) ?? null;
  }

  /**
   * Every record of a scope (or only `only`), by name. `known` maps names to the versionstamps
   * of stored records that the signed listing cache says passed every check (it may still be
   * being read: the records are read meanwhile): a record still stored by that very commit is
   * not verified again (its filing still is).
   */
  async list(
    scope: "user" | "workspace",
    workspaceRoot: string | null,
    only?: string,
    knownSoon?:
      | ReadonlyMap<string, { readonly stamp: string }>
      | Promise<ReadonlyMap<string, { readonly stamp: string }>>,
  ): Promise<Map<string, RecordRead>> {
    const out = new Map<string, RecordRead>();
    const [blobs, known] = await Promise.all([
      readStampedBlobs(this.#store, [PREFIX, scopeKey(scope, workspaceRoot)], only),
      knownSoon,
    ]);
    const same = (name: string, stamp: string) => known?.get(name)?.stamp === stamp;
    // The signatures still to check, by WebCrypto first: the synchronous check in #check then
    // needs no `node:crypto` (15 ms to load) for records that verify.
    await verifyAhead(
      [...blobs].flatMap(([name, { bytes, stamp }]) =>
        same(name, stamp) ? [] : this.#signed(bytes)
      ),
    );
    const decoder = new TextDecoder();
    for (const [name, { bytes, stamp }] of blobs) {
      const checked = same(name, stamp)
        ? this.#filed(
          JSON.parse(decoder.decode(bytes as Uint8Array)).record,
          scope,
          workspaceRoot,
          name,
        )
        : this.#check(bytes, scope, workspaceRoot, name);
      out.set(
        name,
        typeof checked === "string"
          ? { ok: false, name, reason: checked }
          : { ok: true, name, record: checked, stamp },
      );
    }
    return out;
  }

  /** The verified listing cache of a scope (_list_cache.ts); empty when none verifies. */
  async listCache(
    scope: "user" | "workspace",
    workspaceRoot: string | null,
  ): Promise<Map<string, ListCacheEntry>> {
    return await readListCache(this.#store, this.#signer, scopeKey(scope, workspaceRoot));
  }

  /** Signs and stores the listing cache of a scope; false when the store refused it. */
  async saveListCache(
    scope: "user" | "workspace",
    workspaceRoot: string | null,
    entries: ReadonlyMap<string, ListCacheEntry>,
  ): Promise<boolean> {
    return await writeListCache(this.#store, this.#signer, scopeKey(scope, workspaceRoot), entries);
  }

  /**
   * Signs `record` and stores it in place of any earlier record of the same scope and name.
   *
   * @throws {TypeError} when a field does not validate; the message names it (`tools[2].name`)
   * @throws {CapsuleError} `INSTALL` when the store refuses the record
   */
  async write(record: InstallRecord): Promise<void> {
    const valid = parse(RECORD, record, "the install record");
    const sig = this.#signer.sign(canonicalBytes(RECORD_DOMAIN, valid));
    const envelope = JSON.stringify({
      record: valid,
      key: toHex(this.#signer.publicKey),
      sig: toBase64Url(sig),
    });
    const base = [PREFIX, scopeKey(valid.scope, valid.workspace?.root ?? null), valid.name];
    const bytes = new TextEncoder().encode(envelope);
    if (!(await this.#mirrored(() => writeBlob(this.#store, base, bytes)))) {
      throw new CapsuleError(
        "INSTALL",
        `Cannot record the install of ${valid.name}: current record is ${bytes.length} bytes, ` +
          "too large or refused by the store",
      );
    }
  }

  /** Deletes the record of `name` in a scope; true when there was one. */
  async remove(
    scope: "user" | "workspace",
    workspaceRoot: string | null,
    name: string,
  ): Promise<boolean> {
    return await this.#mirrored(() =>
      deleteBlob(this.#store, [PREFIX, scopeKey(scope, workspaceRoot), name])
    );
  }

  /**
   * A change of the records that keeps their listing mirror (storage/listing_mirror.ts) true:
   * the launcher then checks its cached flags against the mirror instead of opening the store.
   */
  #mirrored<T>(write: () => Promise<T>): Promise<T> {
    const location = this.#store.location;
    return location === undefined ? write() : mirroredWrite(this.#store, location, [PREFIX], write);
  }

  /** The signature an envelope carries over its record, or none when it cannot be read. */
  #signed(bytes: Uint8Array | string): SignedBytes[] {
    if (typeof bytes === "string") return [];
    try {
      const envelope = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
      if (envelope?.key !== toHex(this.#signer.publicKey)) return [];
      return [{
        publicKey: this.#signer.publicKey,
        message: canonicalBytes(RECORD_DOMAIN, envelope.record),
        signature: fromBase64Url(String(envelope.sig)),
      }];
    } catch {
      return [];
    }
  }

  /** Decodes, checks the key, verifies the signature, then validates: the record or why not. */
  #check(
    bytes: Uint8Array | string,
    scope: "user" | "workspace",
    workspaceRoot: string | null,
    name: string,
  ): InstallRecord | string {
    if (typeof bytes === "string") return bytes;
    let envelope: { record?: unknown; key?: unknown; sig?: unknown };
    try {
      envelope = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch {
      return "it does not parse";
    }
    if (typeof envelope !== "object" || envelope === null) return "it does not parse";
    if (envelope.key !== toHex(this.#signer.publicKey)) {
      return "it was not signed by this runtime's key";
    }
    let ok = false;
    try {
      const sig = fromBase64Url(String(envelope.sig));
      ok = verify(this.#signer.publicKey, canonicalBytes(RECORD_DOMAIN, envelope.record), sig);
    } catch {
      ok = false;
    }
    if (!ok) return "its signature does not verify";
    let valid: InstallRecord;
    try {
      valid = parse(RECORD, envelope.record, "the install record");
    } catch (e) {
      return `its fields do not validate (${(e as Error).message})`;
    }
    return this.#filed(valid, scope, workspaceRoot, name);
  }

  /** `r` when it is filed under its own name and scope, else why not. */
  #filed(
    r: InstallRecord,
    scope: "user" | "workspace",
    workspaceRoot: string | null,
    name: string,
  ): InstallRecord | string {
    const root = scope === "workspace" ? workspaceRoot : null;
    if (r.name !== name || r.scope !== scope || (r.workspace?.root ?? null) !== root) {
      return `it is filed under another name or scope (${r.scope} ${r.name})`;
    }
    return r;
  }
}
