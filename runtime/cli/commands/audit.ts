/**
 * `astrid audit list|show|stats|export|verify`: read, export and verify the audit log.
 *
 * `list`, `show` and `stats` open the runtime (which checks the signed head, the chain's tail
 * and the store against the audit witness, and fails with exit 5 on tampering). `export` and
 * `verify` only read: they open the store and load the runtime key themselves, never sign a
 * checkpoint, and work on a damaged log so that its problems can be reported and kept as
 * evidence. `verify` reconciles the store with the witness (`[audit] witness_path`, or
 * `--witness FILE`): a store behind the witness is `TRUNCATED` or `ROLLED_BACK`, one that
 * disagrees with it is `EDITED`, a bad witness line is `BAD_CHECKPOINT`/`WRONG_KEY` with its
 * line number; all exit 5. Notes (an unwitnessed log, an unsigned head) go to stderr.
 *
 * @module
 */
import { Command, InvalidArgumentError } from "commander";
import { resolve } from "node:path";
import {
  type AuditEntry,
  problemLabel,
  verifyExport,
  type VerifyReport,
  verifyStore,
  writeExport,
} from "../../audit/mod.ts";
import { resolveWitnessPath } from "../../config/mod.ts";
import { fromHex, loadRuntimeKey } from "../../crypto/mod.ts";
import { openStore, type Store } from "../../storage/mod.ts";
import { type CliIo, loadCliConfig, printJson, wantsJson, withRuntime } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { type AuditListOptions, listAudit } from "./_audit_list.ts";

export { formatTable } from "./_audit_list.ts";

const GENESIS = "0".repeat(64);

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected a positive integer, current value is ${value}`);
  }
  return n;
}

/** Loads the runtime's public key (never generating one). */
async function runtimePublicKey(cmd: Command, io: CliIo): Promise<Uint8Array> {
  const { paths } = await loadCliConfig(cmd, io);
  const key = await loadRuntimeKey(paths.keysDir);
  if (!key) {
    throw new CliError(
      `Cannot verify the audit log: no runtime key in ${paths.keysDir} (run \`astrid keys generate\` or pass --key)`,
    );
  }
  return key.publicKey;
}

/** Where the store is and its witness, as `withRuntime` names them. */
interface Place {
  witnessPath: string;
  storeLocation: string;
}

/**
 * Opens the store and loads the runtime key without opening (or ever signing with) the log;
 * `fn` also gets the configured witness path and the store's location.
 */
async function withReadOnly<T>(
  cmd: Command,
  io: CliIo,
  fn: (store: Store, publicKey: Uint8Array, place: Place) => Promise<T>,
): Promise<T> {
  const publicKey = await runtimePublicKey(cmd, io);
  const { paths, config } = await loadCliConfig(cmd, io);
  const userHome = io.env.HOME?.startsWith("/") ? io.env.HOME : undefined;
  const witnessPath = resolveWitnessPath(config.audit.witness_path, paths.home, userHome);
  const storeLocation = config.storage.kv_url || paths.stateKv;
  const store = await openStore(storeLocation);
  try {
    return await fn(store, publicKey, { witnessPath, storeLocation });
  } finally {
    store.close();
  }
}

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    throw new CliError(`Cannot read ${path}: ${(err as Error).message}`);
  }
}

/** One line describing a report, as `audit verify` prints it. */
export function describeReport(report: VerifyReport, head: string): string {
  if (report.ok) {
    return `ok: ${report.entries} entries, ${report.checkpoints} checkpoints, head ${head}`;
  }
  const bad = report.firstBad!;
  return `FAILED ${
    problemLabel(bad.code)
  } at seq ${bad.seq} (position ${bad.position}): ${bad.reason}`;
}

/** One line describing what the witness held, when one was consulted. */
function describeWitness(report: VerifyReport): string | null {
  const w = report.witness;
  if (!w) return null;
  if (w.status === "missing") return `witness: ${w.path} does not exist`;
  if (w.status === "unwitnessed") return `witness: ${w.path} holds no checkpoint of this log`;
  if (w.size === undefined) return `witness: ${w.path} (${w.lines} lines)`;
  return `witness: ${w.path}, newest checkpoint of this log at size ${w.size} (line ${w.line})`;
}

/**
 * Builds the `audit` command tree.
 *
 * @example The subcommands
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { auditCommand } from "./audit.ts";
 * const io = { env: {}, cwd: "/", isTty: false, stdout() {}, stderr() {} };
 * deepEqual(auditCommand(io).commands.map((c) => c.name()), ["list", "show", "stats", "export", "verify"]);
 * ```
 */
export function auditCommand(io: CliIo): Command {
  const audit = new Command("audit").description(
    "Read, export and verify the hash-chained, signed audit log",
  );

  audit.command("list")
    .description("List the latest entries (oldest first)")
    .option("--session <id>", "only this session's entries")
    .option("--limit <n>", "how many entries (default 50)", positiveInt)
    .option("--json", "machine-readable output")
    .action(async (opts: AuditListOptions, cmd: Command) => {
      await listAudit(io, opts, cmd);
    });

  audit.command("show")
    .description("Show one entry in full")
    .argument("<seq>", "the entry's sequence number", positiveInt)
    .option("--json", "machine-readable output")
    .action(async (seq: number, _opts: unknown, cmd: Command) => {
      await withRuntime(cmd, io, async (rt) => {
        const entry = await rt.audit.get(seq);
        if (!entry) throw new CliError(`Cannot show entry ${seq}: there is no such entry`);
        if (wantsJson(cmd, io)) printJson(io, entry);
        else {
          const { action, outcome, ...rest } = entry;
          const lines = Object.entries(rest).map(([k, v]) => `${k.padEnd(10)}${String(v)}`);
          lines.push(
            `action    ${JSON.stringify(action, null, 2).replaceAll("\n", "\n          ")}`,
          );
          lines.push(
            `outcome   ${JSON.stringify(outcome, null, 2).replaceAll("\n", "\n          ")}`,
          );
          io.stdout(lines.join("\n") + "\n");
        }
      });
    });

  audit.command("stats")
    .description("Count entries, sessions, decisions and checkpoints")
    .option("--json", "machine-readable output")
    .action(async (_opts: unknown, cmd: Command) => {
      await withRuntime(cmd, io, async (rt) => {
        const stats = await rt.audit.stats();
        if (wantsJson(cmd, io)) return printJson(io, stats);
        const decisions = Object.entries(stats.byDecision).map(([k, v]) => `${k}=${v}`).join(" ");
        io.stdout(
          `entries      ${stats.entries}\nsessions     ${stats.sessions}\n` +
            `checkpoints  ${stats.checkpoints} (last covers ${stats.lastCheckpointSize})\n` +
            `decisions    ${decisions || "-"}\nhead         ${stats.head}\n`,
        );
      });
    });

  audit.command("export")
    .description("Write the log as JSONL (entries, checkpoints, public key) for offline verify")
    .option("-o, --output <file>", "write to FILE (mode 0600) instead of stdout")
    .action(async (opts: { output?: string }, cmd: Command) => {
      await withReadOnly(cmd, io, async (store, publicKey) => {
        if (opts.output === undefined) {
          await writeExport(store, publicKey, (line) => io.stdout(line + "\n"));
          return;
        }
        const path = resolve(io.cwd, opts.output);
        const file = await Deno.open(path, {
          write: true,
          create: true,
          truncate: true,
          mode: 0o600,
        });
        let n: { entries: number; checkpoints: number };
        try {
          n = await writeExport(store, publicKey, file.writable); // closes the file
        } catch (err) {
          try {
            file.close();
          } catch { /* already closed by the stream */ }
          throw err;
        }
        io.stderr(`exported ${n.entries} entries and ${n.checkpoints} checkpoints to ${path}\n`);
      });
    });

  audit.command("verify")
    .description(
      "Verify the chain, checkpoints, signed head and witness (exit 5 names the problem)",
    )
    .option("--file <export>", "verify an export file offline instead of the store")
    .option("--key <hex>", "trust this public key instead of the runtime key (with --file)")
    .option("--witness <file>", "reconcile with this witness file (default: [audit] witness_path)")
    .option("--json", "machine-readable output")
    .action(async (opts: { file?: string; key?: string; witness?: string }, cmd: Command) => {
      const json = wantsJson(cmd, io);
      const finish = (report: VerifyReport, head: string) => {
        if (json) printJson(io, report.ok ? { ...report, head } : report);
        else if (report.ok) io.stdout(describeReport(report, head) + "\n");
        const witness = describeWitness(report);
        if (!json && witness) io.stderr(witness + "\n");
        for (const note of report.notes ?? []) io.stderr(`note: ${note}\n`);
        if (!report.ok) throw new CliError(describeReport(report, head), ExitCode.Integrity);
      };
      const witnessFile = opts.witness === undefined ? undefined : resolve(io.cwd, opts.witness);
      if (opts.file === undefined) {
        if (opts.key !== undefined) {
          throw new CliError("Cannot use --key without --file", ExitCode.Usage);
        }
        await withReadOnly(cmd, io, async (store, publicKey, place) => {
          const witnessPath = witnessFile ?? place.witnessPath;
          const storeLocation = place.storeLocation;
          const report = await verifyStore(store, publicKey, { witnessPath, storeLocation });
          const head = (await store.get<{ hash: string }>(["audit", "head"])).value?.hash;
          finish(report, typeof head === "string" ? head : GENESIS);
        });
        return;
      }
      const path = resolve(io.cwd, opts.file);
      const text = await readText(path);
      let trusted: Uint8Array;
      if (opts.key !== undefined) {
        if (!/^[0-9a-f]{64}$/i.test(opts.key)) {
          throw new CliError(
            `Cannot use --key: expected 64 hex digits, current value is ${opts.key}`,
            ExitCode.Usage,
          );
        }
        trusted = fromHex(opts.key.toLowerCase());
      } else {
        trusted = await runtimePublicKey(cmd, io);
      }
      const witness = witnessFile === undefined
        ? {}
        : { witness: await readText(witnessFile), witnessPath: witnessFile };
      const report = verifyExport(text, trusted, witness);
      const last = text.trimEnd().split("\n").findLast((l) => l.includes('"type":"entry"'));
      finish(report, report.ok && last ? (JSON.parse(last) as AuditEntry).hash : GENESIS);
    });

  return audit;
}
