/**
 * Helpers shared by the witness tests: a temporary on-disk state, appending entries, and
 * reading or editing raw KV records as an attacker with write access to `state.kv` would.
 * Not re-exported.
 *
 * @module
 */
import { rejects } from "node:assert/strict";
import type { Signer } from "../crypto/mod.ts";
import type { Store } from "../storage/mod.ts";
import { decodeStored } from "./_chain.ts";
import { AuditLog } from "./log.ts";
import type { AuditEntry } from "./types.ts";
import { AuditIntegrityError } from "./verify.ts";

/** A temporary folder with a KV path and a witness path in a subfolder. */
export interface TempState {
  dir: string;
  kv: string;
  witness: string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Creates a {@link TempState}, removed on dispose. */
export async function tempState(): Promise<TempState> {
  const dir = await Deno.makeTempDir({ prefix: "astrid-witness-" });
  return {
    dir,
    kv: `${dir}/state.kv`,
    witness: `${dir}/witness/audit-witness.jsonl`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/**
 * Opens a log on `store` (checkpoint every 10, no timer), appends `n` entries, closes it.
 * `location` is the store's location written into witness lines.
 */
export async function appendEntries(
  store: Store,
  signer: Signer,
  n: number,
  witnessPath?: string,
  tag = "s",
  location?: string,
): Promise<void> {
  const log = await AuditLog.open(store, signer, {
    checkpointEvery: 10,
    checkpointSeconds: 0,
    ...(witnessPath === undefined ? {} : { witnessPath }),
    ...(location === undefined ? {} : { storeLocation: location }),
  });
  for (let i = 0; i < n; i++) {
    await log.append({
      sessionId: tag,
      action: { kind: "event", resource: `test://${tag}/${i}`, summary: `${tag} ${i}` },
      decision: "event",
      proof: "runtime",
    });
  }
  await log.close();
}

/** The stored entry `seq`. */
export async function entryAt(store: Store, seq: number): Promise<AuditEntry> {
  return decodeStored((await store.get(["audit", "e", seq])).value).entry;
}

/** Deletes entries `from..to` and the checkpoints at `sizes`, as an attacker would. */
export async function cut(store: Store, from: number, to: number, sizes: number[]): Promise<void> {
  for (let seq = from; seq <= to; seq++) await store.delete(["audit", "e", seq]);
  for (const size of sizes) await store.delete(["audit", "c", size]);
}

/** Copies the KV file and its SQLite side files from `from` to `to` (side files of `to` go). */
export async function copyKv(from: string, to: string): Promise<void> {
  const dir = to.slice(0, to.lastIndexOf("/"));
  const base = to.slice(to.lastIndexOf("/") + 1);
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.startsWith(`${base}-`)) await Deno.remove(`${dir}/${e.name}`);
  }
  const fromDir = from.slice(0, from.lastIndexOf("/"));
  const fromBase = from.slice(from.lastIndexOf("/") + 1);
  for await (const e of Deno.readDir(fromDir)) {
    if (e.isFile && (e.name === fromBase || e.name.startsWith(`${fromBase}-`))) {
      await Deno.copyFile(`${fromDir}/${e.name}`, `${dir}/${base}${e.name.slice(fromBase.length)}`);
    }
  }
}

/** Asserts that opening the log is refused with an integrity failure of `code`. */
export async function refusesOpen(
  store: Store,
  signer: Signer,
  witnessPath: string | undefined,
  code: string,
  message?: RegExp,
  location?: string,
): Promise<void> {
  await rejects(
    AuditLog.open(store, signer, {
      checkpointSeconds: 0,
      ...(witnessPath === undefined ? {} : { witnessPath }),
      ...(location === undefined ? {} : { storeLocation: location }),
    }),
    (err: unknown) => {
      if (!(err instanceof AuditIntegrityError)) throw err;
      if (err.code !== "INTEGRITY" || err.report.firstBad?.code !== code) {
        throw new Error(`expected ${code}, got ${err.report.firstBad?.code}: ${err.message}`);
      }
      if (message && !message.test(err.message)) throw new Error(`unexpected: ${err.message}`);
      return true;
    },
  );
}
