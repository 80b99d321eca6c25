/**
 * The code-mode capsule: runs a JavaScript snippet and returns its result (as JSON) and its
 * console output. Each call runs in a fresh capsule instance (QuickJS restored from its
 * snapshot), so nothing a snippet does outlives the call. The snippet runs as the body of an
 * async strict-mode function with no host API in scope, under an iteration and time guard
 * (guard.ts), inside the capsule's own CPU deadline and memory limit. The capsule declares no
 * capabilities: even a snippet that digs the host API out of the global object can reach no
 * file, network, KV or model (README.md says exactly what isolation this is, and is not).
 *
 * @module
 */
import { defineCapsule } from "@astrid/sdk";
import { instrument } from "./guard.ts";
import { show, toJson } from "./serialize.ts";

/** Arguments of `run`. */
export type RunArgs = {
  code: string;
  input?: unknown;
  timeoutMs?: number;
  maxIterations?: number;
};

/** One line a snippet logged. */
export interface ConsoleLine {
  level: "log" | "info" | "warn" | "error" | "debug";
  text: string;
}

/** What `run` returns. */
export type RunResult =
  & { console: ConsoleLine[]; iterations: number; consoleTruncated: boolean }
  & ({ ok: true; result: unknown } | {
    ok: false;
    error: { name: string; message: string };
  });

/** Defaults and caps. */
export const DEFAULT_TIMEOUT_MS = 5_000;
export const MAX_TIMEOUT_MS = 20_000;
export const DEFAULT_MAX_ITERATIONS = 10_000_000;
const MAX_CONSOLE_LINES = 200;
const MAX_CONSOLE_CHARS = 20_000;
const MAX_RESULT_CHARS = 100_000;

/** Globals a snippet gets as `undefined` parameters (the host API and the network). */
const SHADOWED = [
  "globalThis",
  "__astrid_api",
  "__astrid_host",
  "__astrid",
  "__astrid_capsule",
  "fetch",
  "Request",
  "Response",
  "Headers",
  "setInterval",
];

/** Raised by the guard. */
class BudgetError extends Error {
  override name = "BudgetError";
}

function randomName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `__guard_${
    Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")
  }`;
}

async function run(args: RunArgs): Promise<RunResult> {
  const timeoutMs = Math.min(
    Math.max(args.timeoutMs ?? DEFAULT_TIMEOUT_MS, 1),
    MAX_TIMEOUT_MS,
  );
  const maxIterations = args.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  const lines: ConsoleLine[] = [];
  let chars = 0;
  let consoleTruncated = false;
  const capture = (level: ConsoleLine["level"]) => (...data: unknown[]) => {
    const text = show(data);
    if (
      lines.length >= MAX_CONSOLE_LINES ||
      chars + text.length > MAX_CONSOLE_CHARS
    ) {
      consoleTruncated = true;
      return;
    }
    chars += text.length;
    lines.push({ level, text });
  };
  const sandboxConsole = Object.freeze({
    log: capture("log"),
    info: capture("info"),
    warn: capture("warn"),
    error: capture("error"),
    debug: capture("debug"),
  });
  let iterations = 0;
  let tripped: BudgetError | null = null;
  const deadline = Date.now() + timeoutMs;
  const guard = () => {
    if (tripped) throw tripped;
    iterations++;
    if (iterations > maxIterations) {
      tripped = new BudgetError(
        `Cannot continue: the snippet ran over ${maxIterations} iterations`,
      );
    } else if ((iterations & 1023) === 0 && Date.now() > deadline) {
      tripped = new BudgetError(
        `Cannot continue: the snippet ran over ${timeoutMs} ms`,
      );
    }
    if (tripped) throw tripped;
  };
  const done = (
    r: { ok: true; result: unknown } | { ok: false; error: unknown },
  ): RunResult => {
    const base = { console: lines, iterations, consoleTruncated };
    if (tripped) {
      return {
        ...base,
        ok: false,
        error: { name: tripped.name, message: tripped.message },
      };
    }
    if (!r.ok) {
      const e = r.error;
      const error = e instanceof Error
        ? { name: e.name, message: e.message }
        : { name: "Thrown", message: show([e]) };
      return { ...base, ok: false, error };
    }
    const result = toJson(r.result);
    const text = JSON.stringify(result);
    if (text.length > MAX_RESULT_CHARS) {
      return {
        ...base,
        ok: false,
        error: {
          name: "RangeError",
          message:
            `Cannot return the result: current size is ${text.length} characters, over ` +
            `${MAX_RESULT_CHARS}`,
        },
      };
    }
    return { ...base, ok: true, result };
  };
  let fn: (...a: unknown[]) => Promise<unknown>;
  try {
    const name = randomName();
    const source = instrument(args.code, name);
    const factory = new Function(
      "__g",
      "input",
      "console",
      ...SHADOWED,
      `"use strict";\nconst ${name} = __g;\nreturn ${source};`,
    ) as (...a: unknown[]) => (...a: unknown[]) => Promise<unknown>;
    fn = factory(guard, toJson(args.input ?? null), sandboxConsole);
  } catch (e) {
    return done({ ok: false, error: e });
  }
  let timer = 0;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new BudgetError(
            `Cannot finish: the snippet did not settle within its time`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return done({ ok: true, result: await Promise.race([fn(), late]) });
  } catch (e) {
    return done({ ok: false, error: e });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The capsule definition: one tool, `run`.
 *
 * @example
 * ```ts ignore
 * import codeMode from "./mod.ts";
 * await codeMode.tools.run.run({ code: "return input.a + 1", input: { a: 1 } }); // result 2
 * ```
 */
export default defineCapsule({
  tools: {
    run: {
      description:
        "Runs a JavaScript snippet (the body of an async function: use `return`, " +
        "`await`, and `input` for the JSON you pass) with no file, network or other host " +
        "access, and returns its result as JSON plus its console output. Good for " +
        "calculations, data reshaping, parsing and checking code.",
      input: {
        type: "object",
        properties: {
          code: { type: "string", minLength: 1, maxLength: 100_000 },
          input: {
            description: "Any JSON value, available to the snippet as `input`",
          },
          timeoutMs: {
            type: "integer",
            minimum: 1,
            maximum: MAX_TIMEOUT_MS,
            description: `Time guard (default ${DEFAULT_TIMEOUT_MS})`,
          },
          maxIterations: {
            type: "integer",
            minimum: 1,
            maximum: 1_000_000_000,
            description:
              `Loop iterations and function calls allowed (default ${DEFAULT_MAX_ITERATIONS})`,
          },
        },
        required: ["code"],
        additionalProperties: false,
      },
      run,
    },
  },
});
