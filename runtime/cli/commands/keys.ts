/**
 * `astrid keys generate [--force]` and `astrid keys show [--json]`.
 *
 * @module
 */
import { Command } from "commander";
import { generateRuntimeKey, KeyError, loadRuntimeKey } from "../../crypto/mod.ts";
import { type CliIo, loadCliConfig, printJson, wantsJson } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";

/** Builds the `keys` command tree. */
export function keysCommand(io: CliIo): Command {
  const keys = new Command("keys").description("Manage the runtime's Ed25519 signing key");
  keys.command("generate")
    .description("Create the runtime key in $ASTRID_HOME/keys (mode 0600)")
    .option("--force", "replace an existing key (tokens and checkpoints it signed stop verifying)")
    .action(async (opts: { force?: boolean }, cmd: Command) => {
      const { paths } = await loadCliConfig(cmd, io);
      try {
        const key = await generateRuntimeKey(paths.keysDir, opts.force === true);
        io.stdout(
          `generated ${key.path}\npublic key  ${key.publicKeyHex}\nfingerprint ${key.fingerprint}\n`,
        );
      } catch (err) {
        if (err instanceof KeyError) throw new CliError(err.message, ExitCode.Error);
        throw err;
      }
    });
  keys.command("show")
    .description("Print the runtime public key and its fingerprint")
    .option("--json", "machine-readable output")
    .action(async (_opts: unknown, cmd: Command) => {
      const { paths } = await loadCliConfig(cmd, io);
      const key = await loadRuntimeKey(paths.keysDir);
      if (!key) {
        throw new CliError(
          `Cannot show the key: none in ${paths.keysDir} (run \`astrid keys generate\`)`,
        );
      }
      const out = {
        algorithm: "ed25519",
        publicKey: key.publicKeyHex,
        fingerprint: key.fingerprint,
        path: key.path,
      };
      if (wantsJson(cmd, io)) printJson(io, out);
      else {io.stdout(
          `public key  ${out.publicKey}\nfingerprint ${out.fingerprint}\npath        ${out.path}\n`,
        );}
    });
  return keys;
}
