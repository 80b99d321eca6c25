/**
 * `astrid keys generate [--publisher] [--force]` and `astrid keys show [--publisher] [--json]`.
 * The runtime key signs tokens, install records and audit checkpoints on this machine; the
 * publisher key (`--publisher`, `$ASTRID_HOME/keys/publisher.key`) signs published capsules.
 *
 * @module
 */
import { Command } from "commander";
import { generateRuntimeKey, KeyError, loadRuntimeKey } from "../../crypto/mod.ts";
import { type CliIo, loadCliConfig, printJson, wantsJson } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";

const registry = () =>
  import(new URL("../../registry/mod.ts", import.meta.url).href) as Promise<
    typeof import("../../registry/mod.ts")
  >;

/** Builds the `keys` command tree. */
export function keysCommand(io: CliIo): Command {
  const keys = new Command("keys").description(
    "Manage the runtime's and the publisher's Ed25519 signing keys",
  );
  keys.command("generate")
    .description("Create the runtime key (or --publisher key) in $ASTRID_HOME/keys (mode 0600)")
    .option("--publisher", "the publisher key that signs published capsules instead")
    .option("--force", "replace an existing key (tokens and checkpoints it signed stop verifying)")
    .action(async (opts: { force?: boolean; publisher?: boolean }, cmd: Command) => {
      const { paths } = await loadCliConfig(cmd, io);
      try {
        const key = opts.publisher
          ? await (await registry()).generatePublisherKey(paths.keysDir, opts.force === true)
          : await generateRuntimeKey(paths.keysDir, opts.force === true);
        io.stdout(
          `generated ${key.path}\npublic key  ${key.publicKeyHex}\nfingerprint ${key.fingerprint}\n`,
        );
      } catch (err) {
        if (err instanceof KeyError) throw new CliError(err.message, ExitCode.Error);
        throw err;
      }
    });
  keys.command("show")
    .description("Print the runtime (or --publisher) public key and its fingerprint")
    .option("--publisher", "the publisher key instead")
    .option("--json", "machine-readable output")
    .action(async (opts: { publisher?: boolean }, cmd: Command) => {
      const { paths } = await loadCliConfig(cmd, io);
      let key;
      try {
        key = opts.publisher
          ? await (await registry()).loadPublisherKey(paths.keysDir)
          : await loadRuntimeKey(paths.keysDir);
      } catch (err) {
        if (err instanceof KeyError) throw new CliError(err.message, ExitCode.Error);
        throw err;
      }
      if (!key) {
        const flag = opts.publisher ? " --publisher" : "";
        throw new CliError(
          `Cannot show the key: none in ${paths.keysDir} (run \`astrid keys generate${flag}\`)`,
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
