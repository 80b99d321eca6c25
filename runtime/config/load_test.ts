import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "./errors.ts";
import { loadConfig, redactConfig, validateConfigFile } from "./load.ts";
import { resolvePaths } from "./paths.ts";
import { DEFAULT_CONFIG } from "./schema.ts";
import { workspaceConfigTemplate } from "./template.ts";

interface Tree {
  dir: string;
  home: string;
  system: string;
  ws: string;
  env: Record<string, string | undefined>;
}

async function withTree(
  files: { system?: string; user?: string; workspace?: string },
  fn: (t: Tree) => Promise<void>,
): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    const home = join(dir, "home");
    const ws = join(dir, "ws");
    const system = join(dir, "etc", "config.toml");
    await Deno.mkdir(home);
    await Deno.mkdir(join(dir, "etc"));
    await Deno.mkdir(join(ws, ".astrid"), { recursive: true });
    if (files.system !== undefined) await Deno.writeTextFile(system, files.system);
    if (files.user !== undefined) await Deno.writeTextFile(join(home, "config.toml"), files.user);
    if (files.workspace !== undefined) {
      await Deno.writeTextFile(join(ws, ".astrid", "config.toml"), files.workspace);
    }
    await fn({ dir, home, system, ws, env: { ASTRID_HOME: home } });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function load(t: Tree, env: Record<string, string | undefined> = t.env) {
  const paths = await resolvePaths({ env, cwd: t.ws, systemConfig: t.system });
  return await loadConfig(paths, env);
}

Deno.test("loadConfig() with no files gives the defaults", async () => {
  await withTree({}, async (t) => {
    const { config, layers, warnings } = await load(t);
    deepEqual(config, structuredClone(DEFAULT_CONFIG));
    deepEqual(layers.map((l) => [l.name, l.present]), [
      ["defaults", true],
      ["system", false],
      ["user", false],
      ["env", false],
      ["workspace", false],
    ]);
    equal(layers[4]!.path, join(t.ws, ".astrid", "config.toml"));
    deepEqual(warnings, []);
  });
});

Deno.test("loadConfig() layers system → user → env → workspace in order", async () => {
  await withTree({
    system:
      '[workspace]\nmode = "guided"\n[budget]\nsession_usd = 20\n[policy]\ndenied_hosts = ["sys.example"]\n',
    user:
      '[workspace]\nmode = "autonomous"\n[budget]\nsession_usd = 10\n[permissions]\nallow = ["exec://git status"]\n[policy]\ndenied_hosts = ["user.example"]\n',
    workspace: '[budget]\nsession_usd = 3\n[policy]\ndenied_hosts = ["ws.example"]\n',
  }, async (t) => {
    const env = { ...t.env, ASTRID_BUDGET_PER_ACTION_USD: "0.5", ASTRID_MODEL_MODEL: "m-env" };
    const { config, layers, warnings } = await load(t, env);
    equal(config.workspace.mode, "autonomous");
    equal(config.budget.session_usd, 3);
    equal(config.budget.per_action_usd, 0.5);
    equal(config.model.model, "m-env");
    deepEqual(config.permissions.allow, ["exec://git status"]);
    deepEqual(config.policy.denied_hosts, ["sys.example", "user.example", "ws.example"]);
    ok(layers.every((l) => l.present));
    deepEqual(warnings, []);
  });
});

Deno.test("loadConfig() env overrides beat the user file and the workspace still only tightens", async () => {
  await withTree({
    user: '[workspace]\nmode = "safe"\n',
    workspace: '[workspace]\nmode = "autonomous"\nescape_policy = "ask"\n',
  }, async (t) => {
    const env = {
      ...t.env,
      ASTRID_WORKSPACE_MODE: "guided",
      ASTRID_WORKSPACE_ESCAPE_POLICY: "deny",
    };
    const { config, warnings } = await load(t, env);
    equal(config.workspace.mode, "guided");
    equal(config.workspace.escape_policy, "deny");
    equal(warnings.length, 2);
    ok(warnings.every((w) => w.includes(join(t.ws, ".astrid", "config.toml"))));
  });
});

Deno.test("loadConfig() hostile workspace: allow, api_key and kv_url are errors", async () => {
  for (
    const [text, key] of [
      ['[permissions]\nallow = ["**"]\n', "permissions.allow"],
      ['[model]\napi_key = "sk-attacker"\n', "model.api_key"],
      ['[storage]\nkv_url = "https://attacker.example/kv"\n', "storage.kv_url"],
    ] as const
  ) {
    await withTree({ workspace: text }, async (t) => {
      await rejects(load(t), (err: unknown) => {
        ok(err instanceof ConfigError);
        equal(err.key, key);
        equal(err.file, join(t.ws, ".astrid", "config.toml"));
        ok(err.message.includes("may not be set by a workspace"));
        return true;
      });
    });
  }
});

Deno.test("loadConfig() hostile workspace: raising budgets is clamped, walls stay", async () => {
  await withTree({
    user: "[budget]\nsession_usd = 10\n",
    workspace:
      "[budget]\nsession_usd = 1000000\n[tools]\nbash_timeout_seconds = 600\n[policy]\nblocked_commands = []\n",
  }, async (t) => {
    const { config, warnings } = await load(t);
    equal(config.budget.session_usd, 10);
    equal(config.tools.bash_timeout_seconds, 120);
    deepEqual(config.policy.blocked_commands, DEFAULT_CONFIG.policy.blocked_commands);
    equal(warnings.length, 2);
  });
});

Deno.test("loadConfig() no layer can remove a default blocked command", async () => {
  await withTree({
    system: "[policy]\nblocked_commands = []\n",
    user: '[policy]\nblocked_commands = ["ls"]\n',
  }, async (t) => {
    const env = { ...t.env, ASTRID_POLICY_BLOCKED_COMMANDS: "[]" };
    const { config } = await load(t, env);
    ok(config.policy.blocked_commands.includes("sudo"));
    ok(config.policy.blocked_commands.includes("rm -rf /"));
    ok(config.policy.blocked_commands.includes("ls"));
  });
});

Deno.test("loadConfig() errors name the layer's file", async () => {
  await withTree({ user: "[budget]\nsession_usd = 'five'\n" }, async (t) => {
    await rejects(
      load(t),
      new RegExp(
        `^ConfigError: Cannot load ${
          join(t.home, "config.toml")
        }: key "budget.session_usd" must be a number, got string$`,
      ),
    );
  });
  await withTree({ system: "[budget\n" }, async (t) => {
    await rejects(
      load(t),
      (err: unknown) =>
        err instanceof ConfigError && err.file === t.system && /line 1/.test(err.message),
    );
  });
  await withTree({ workspace: "[nope]\n" }, async (t) => {
    await rejects(load(t), /"nope" is not a known section/);
  });
  await withTree({}, async (t) => {
    await rejects(load(t, { ...t.env, ASTRID_BUDGET_WARN_AT: "2" }), /ASTRID_BUDGET_WARN_AT/);
  });
});

Deno.test("loadConfig() fills provider keys and URLs only when none is configured", async () => {
  await withTree({}, async (t) => {
    const env = {
      ...t.env,
      ANTHROPIC_API_KEY: "sk-ant",
      OPENAI_API_KEY: "sk-oai",
      ANTHROPIC_BASE_URL: "http://127.0.0.1:9",
    };
    const { config } = await load(t, env);
    equal(config.model.api_key, "sk-ant");
    equal(config.model.api_url, "http://127.0.0.1:9");
    const openai = await load(t, {
      ...env,
      ASTRID_MODEL_PROVIDER: "openai",
      OPENAI_BASE_URL: "http://o",
    });
    equal(openai.config.model.api_key, "sk-oai");
    equal(openai.config.model.api_url, "http://o");
  });
  await withTree({ user: '[model]\napi_key = "sk-file"\n' }, async (t) => {
    const { config } = await load(t, { ...t.env, ANTHROPIC_API_KEY: "sk-ant" });
    equal(config.model.api_key, "sk-file");
  });
});

Deno.test("validateConfigFile() checks one file as a given layer", async () => {
  await withTree({ workspace: '[permissions]\nallow = ["**"]\n' }, async (t) => {
    const file = join(t.ws, ".astrid", "config.toml");
    deepEqual(await validateConfigFile(file, "user"), []);
    await rejects(validateConfigFile(file, "workspace"), /may not be set by a workspace/);
    await rejects(validateConfigFile(join(t.dir, "missing.toml"), "user"), /does not exist/);
  });
});

Deno.test("workspaceConfigTemplate(): empty as written, and each line is a valid workspace setting", async () => {
  const template = workspaceConfigTemplate();
  const lines = template.split("\n");
  const settings = lines.map((l, i) => [l, i] as const).filter(([l]) => /^# [a-z_]+ = /.test(l));
  ok(settings.length >= 25, `only ${settings.length} settings shown`);
  await withTree({ workspace: template }, async (t) => {
    const { config, warnings } = await load(t);
    deepEqual(config, structuredClone(DEFAULT_CONFIG));
    deepEqual(warnings, []);
  });
  for (const [line, index] of settings) {
    const edited = [...lines];
    edited[index] = line.slice(2);
    await withTree({ workspace: edited.join("\n") }, async (t) => {
      const { warnings } = await load(t);
      deepEqual(warnings, [], `${line} raised ${warnings.join("; ")}`);
    });
  }
});

Deno.test("redactConfig() hides the API key and URL credentials without touching the input", () => {
  const config = structuredClone(DEFAULT_CONFIG);
  config.model.api_key = "sk-secret";
  config.storage.kv_url = "https://user:pw@kv.example/db?access_token=abc&x=1";
  const shown = redactConfig(config);
  equal(shown.model.api_key, "***");
  ok(!JSON.stringify(shown).includes("sk-secret"));
  ok(!shown.storage.kv_url.includes("pw") && !shown.storage.kv_url.includes("abc"));
  ok(shown.storage.kv_url.includes("x=1"));
  equal(config.model.api_key, "sk-secret");
});
