import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { ConfigError } from "./errors.ts";
import { MAX_CONFIG_BYTES, parseConfigText, readConfigFile } from "./parse.ts";

const F = "/home/u/.astrid/config.toml";

function configError(fn: () => unknown, key: string | null, pattern: RegExp): void {
  throws(fn, (err: unknown) => {
    ok(err instanceof ConfigError, String(err));
    equal(err.code, "CONFIG");
    equal(err.file, F);
    equal(err.key, key);
    ok(pattern.test(err.message), err.message);
    return true;
  });
}

Deno.test("parseConfigText() returns only the keys that were written", () => {
  deepEqual(parseConfigText('[budget]\nsession_usd = 2\n[policy]\ndenied_hosts = ["a"]\n', F), {
    budget: { session_usd: 2 },
    policy: { denied_hosts: ["a"] },
  });
  deepEqual(parseConfigText("", F), {});
});

Deno.test("parseConfigText() names file, key and expected type for a wrong type", () => {
  configError(
    () => parseConfigText('[budget]\nsession_usd = "5"\n', F),
    "budget.session_usd",
    /^Cannot load \/home\/u\/\.astrid\/config\.toml: key "budget\.session_usd" must be a number, got string$/,
  );
  configError(
    () => parseConfigText("[approval]\ntimeout_seconds = 1.5\n", F),
    "approval.timeout_seconds",
    /must be an integer, got 1\.5/,
  );
  configError(
    () => parseConfigText('[policy]\nblocked_commands = "sudo"\n', F),
    "policy.blocked_commands",
    /must be a list of strings, got string/,
  );
  configError(
    () => parseConfigText("[policy]\nblocked_commands = [1]\n", F),
    "policy.blocked_commands.0",
    /must be a string, got 1/,
  );
  configError(
    () => parseConfigText("budget = 5\n", F),
    "budget",
    /must be a table, got 1|must be a table, got 5/,
  );
  configError(
    () => parseConfigText("[capsules]\nrequire_hash = 1979-05-27\n", F),
    "capsules.require_hash",
    /must be a boolean, got a date/,
  );
});

Deno.test("parseConfigText() rejects unknown keys at every level", () => {
  configError(
    () => parseConfigText("[bogus]\nx = 1\n", F),
    "bogus",
    /"bogus" is not a known section/,
  );
  configError(() => parseConfigText("mode = 'safe'\n", F), "mode", /not a known section/);
  configError(
    () => parseConfigText("[budget]\nsession_usd = 1\nsesion_usd = 2\n", F),
    "budget.sesion_usd",
    /"budget\.sesion_usd" is not a known setting \(expected one of: session_usd, per_action_usd, warn_at\)/,
  );
  configError(
    () => parseConfigText("[workspace.extra]\nx = 1\n", F),
    "workspace.extra",
    /not a known setting/,
  );
  configError(() => parseConfigText("[__proto__]\nx = 1\n", F), "__proto__", /not a known section/);
});

Deno.test("parseConfigText() rejects bad enum values and out-of-range numbers", () => {
  configError(
    () => parseConfigText('[workspace]\nmode = "yolo"\n', F),
    "workspace.mode",
    /must be one of "safe", "guided", "autonomous", got "yolo"/,
  );
  configError(
    () => parseConfigText("[tools]\nbash_timeout_seconds = 601\n", F),
    "tools.bash_timeout_seconds",
    /must be an integer <= 600, got 601/,
  );
  configError(
    () => parseConfigText("[budget]\nwarn_at = 0\n", F),
    "budget.warn_at",
    /must be a number > 0, got 0/,
  );
  configError(
    () => parseConfigText("[budget]\nsession_usd = -1\n", F),
    "budget.session_usd",
    /must be a number >= 0, got -1/,
  );
  configError(
    () => parseConfigText("[budget]\nsession_usd = inf\n", F),
    "budget.session_usd",
    /must be a number/,
  );
  configError(
    () => parseConfigText("[budget]\nsession_usd = nan\n", F),
    "budget.session_usd",
    /must be a number/,
  );
});

Deno.test("parseConfigText() reports TOML syntax errors with file and line", () => {
  configError(
    () => parseConfigText('[workspace]\nmode = "safe"\nescape_policy = \n', F),
    null,
    /^Cannot load \/home\/u\/\.astrid\/config\.toml: invalid TOML at line 3, column \d+/,
  );
  configError(() => parseConfigText("[budget]\n[budget]\n", F), null, /invalid TOML at line 2/);
  configError(
    () => parseConfigText("[budget]\nx = 99999999999999999999\n", F),
    null,
    /invalid TOML/,
  );
});

Deno.test("readConfigFile() skips missing files and fails closed on everything else", async () => {
  const dir = await Deno.makeTempDir();
  try {
    equal(await readConfigFile(`${dir}/missing.toml`), null);
    await rejects(
      readConfigFile(dir),
      (e: unknown) => e instanceof ConfigError && /not a regular file/.test(e.message),
    );
    const big = `${dir}/big.toml`;
    await Deno.writeTextFile(big, "#".repeat(MAX_CONFIG_BYTES + 1));
    await rejects(readConfigFile(big), /larger than 1048576 bytes/);
    const bin = `${dir}/bin.toml`;
    await Deno.writeFile(bin, new Uint8Array([0xff, 0xfe, 0x00]));
    await rejects(readConfigFile(bin), /not valid UTF-8/);
    const ok1 = `${dir}/ok.toml`;
    await Deno.writeTextFile(ok1, "[budget]\n");
    equal(await readConfigFile(ok1), "[budget]\n");
    if (Deno.build.os !== "windows" && Deno.uid() !== 0) {
      const locked = `${dir}/locked.toml`;
      await Deno.writeTextFile(locked, "");
      await Deno.chmod(locked, 0o000);
      await rejects(readConfigFile(locked), ConfigError);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
