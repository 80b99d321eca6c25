/**
 * The first run of `astrid chat`: with no `$ASTRID_HOME/config.toml` and no key configured, a
 * terminal user is offered to create the file (provider, model, where the key comes from);
 * anyone else gets the missing-key help, which says how. A key is written into the file only when the user types it; a key in the environment
 * stays there.
 *
 * @module
 */
import { dirname } from "node:path";
import type { CliIo } from "../context.ts";

/** The providers the first run offers, with a default model and the key's variable. */
export const FIRST_RUN_PROVIDERS: Readonly<
  Record<string, { readonly model: string; readonly keyEnv: string | null }>
> = {
  anthropic: { model: "claude-sonnet-4-6", keyEnv: "ANTHROPIC_API_KEY" },
  openai: { model: "gpt-4o-mini", keyEnv: "OPENAI_API_KEY" },
  ollama: { model: "llama3.2", keyEnv: null },
  zai: { model: "glm-4.6", keyEnv: "ZAI_API_KEY" },
};

/** What the user chose. */
export interface FirstRunChoice {
  readonly provider: string;
  readonly model: string;
  /** A key the user typed (never one read from the environment), or null. */
  readonly apiKey: string | null;
}

/**
 * The user config for `choice`: TOML, with the key only when the user typed one.
 *
 * @example The key stays in the environment unless typed
 * ```ts
 * import { equal, ok } from "node:assert/strict";
 * import { userConfigText } from "./_first_run.ts";
 * const text = userConfigText({ provider: "anthropic", model: "claude-sonnet-4-6", apiKey: null });
 * ok(text.includes('provider = "anthropic"'));
 * equal(text.includes("api_key ="), false);
 * ```
 */
export function userConfigText(choice: FirstRunChoice): string {
  const keyEnv = FIRST_RUN_PROVIDERS[choice.provider]?.keyEnv ?? null;
  const lines = [
    "# Astrid user config, created by the first `astrid chat` (see `astrid config show`).",
    "[model]",
    `provider = ${JSON.stringify(choice.provider)}`,
    `model = ${JSON.stringify(choice.model)}`,
  ];
  if (choice.apiKey !== null) lines.push(`api_key = ${JSON.stringify(choice.apiKey)}`);
  else if (keyEnv !== null) lines.push(`# the key is read from $${keyEnv}`);
  return lines.join("\n") + "\n";
}

/** The provider to propose: the first whose key is in the environment, else anthropic. */
function proposedProvider(env: CliIo["env"]): string {
  for (const [name, p] of Object.entries(FIRST_RUN_PROVIDERS)) {
    if (p.keyEnv !== null && env[p.keyEnv]) return name;
  }
  return "anthropic";
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, (err) => {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  });
}

/**
 * The one line a first run without a terminal gets when no key is configured: which variable
 * to export, or what to put in the file. Null when `userConfig` exists (the full missing-key
 * help applies then).
 *
 * @example Names the variable and the file
 * ```ts
 * import { match } from "node:assert/strict";
 * import { firstRunHint } from "./_first_run.ts";
 * const hint = await firstRunHint("anthropic", "/nonexistent/astrid/config.toml");
 * match(hint ?? "", /export ANTHROPIC_API_KEY=<your key>/);
 * ```
 */
export async function firstRunHint(provider: string, userConfig: string): Promise<string | null> {
  if (await exists(userConfig)) return null;
  const keyEnv = FIRST_RUN_PROVIDERS[provider]?.keyEnv ?? "ANTHROPIC_API_KEY";
  return `Cannot start a chat: no API key is configured (first run): export ${keyEnv}=<your key>, ` +
    `or put api_key under [model] in ${userConfig} (on a terminal, \`astrid chat\` offers to create it)`;
}

/**
 * Runs the first-run step for `userConfig` (the caller runs it only when no key is configured):
 * nothing when the file exists or nobody can answer (the caller's missing-key help says how);
 * else the questions, then the file (mode 0600). Returns true when it wrote the file.
 */
export async function firstRun(io: CliIo, userConfig: string): Promise<boolean> {
  if (await exists(userConfig)) return false;
  const ask = io.readLine;
  if (!io.isTty || ask === undefined) return false;
  const yes = (await ask(`No user config at ${userConfig}. Create one now? [Y/n] `))?.trim();
  if (yes === undefined || /^n/i.test(yes)) return false;
  const names = Object.keys(FIRST_RUN_PROVIDERS);
  const proposed = proposedProvider(io.env);
  let provider = proposed;
  for (;;) {
    const answer = (await ask(`Provider (${names.join(", ")}) [${proposed}] `))?.trim();
    if (answer === undefined) return false;
    provider = answer === "" ? proposed : answer;
    if (Object.hasOwn(FIRST_RUN_PROVIDERS, provider)) break;
    io.stderr(`${provider} is not one of ${names.join(", ")}\n`);
  }
  const preset = FIRST_RUN_PROVIDERS[provider]!;
  const model = (await ask(`Model [${preset.model}] `))?.trim() || preset.model;
  let apiKey: string | null = null;
  if (preset.keyEnv !== null && io.env[preset.keyEnv]) {
    io.stderr(`The key comes from $${preset.keyEnv}; it is not written to the file.\n`);
  } else if (preset.keyEnv !== null) {
    const typed = (await ask(
      `No $${preset.keyEnv} is set. Type a key to store in ${userConfig} (mode 0600), ` +
        `or press Enter and export ${preset.keyEnv} yourself: `,
    ))?.trim();
    apiKey = typed ? typed : null;
  }
  await Deno.mkdir(dirname(userConfig), { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(userConfig, userConfigText({ provider, model, apiKey }), {
    mode: 0o600,
    createNew: true,
  });
  io.stderr(`created ${userConfig}\n`);
  if (apiKey === null && preset.keyEnv !== null && !io.env[preset.keyEnv]) {
    io.stderr(`next: export ${preset.keyEnv}=<your key>\n`);
  }
  return true;
}
