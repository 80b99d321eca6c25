/**
 * The one error type the config loader throws.
 *
 * @module
 */

/** Where a config error was found and what the key should have held. */
export interface ConfigErrorDetails {
  /** The file (or `environment variable NAME`) that held the bad setting; null when not tied to one. */
  readonly file: string | null;
  /** The dotted key, e.g. `budget.session_usd`; null when the whole file is at fault. */
  readonly key: string | null;
  /** What was expected, e.g. `a number`; null when nothing more specific can be said. */
  readonly expected: string | null;
}

/**
 * A config file, an environment override or a path setting cannot be used.
 * Callers match on `code === "CONFIG"`, never on the text.
 *
 * @example Inspect a config error
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { ConfigError } from "./errors.ts";
 * const err = new ConfigError(
 *   'Cannot load /u/config.toml: key "budget.session_usd" must be a number, got string',
 *   { file: "/u/config.toml", key: "budget.session_usd", expected: "a number" },
 * );
 * equal(err.code, "CONFIG");
 * equal(err.key, "budget.session_usd");
 * ```
 */
export class ConfigError extends Error {
  /** Stable code for callers. */
  readonly code = "CONFIG" as const;
  /** The file (or `environment variable NAME`) at fault, if any. */
  readonly file: string | null;
  /** The dotted key at fault, if any. */
  readonly key: string | null;
  /** What the key should have held, if known. */
  readonly expected: string | null;

  /** Creates the error; `message` should name the file, the key and the expected type. */
  constructor(message: string, details: ConfigErrorDetails, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConfigError";
    this.file = details.file;
    this.key = details.key;
    this.expected = details.expected;
  }
}
