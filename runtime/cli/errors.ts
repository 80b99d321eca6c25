/**
 * Exit codes and the one error type the CLI turns into an exit status (see ARCHITECTURE.md).
 *
 * @module
 */

/** Process exit codes of the `astrid` command. */
export const ExitCode = {
  Ok: 0,
  Error: 1,
  Usage: 2,
  Denied: 3,
  Deferred: 4,
  Integrity: 5,
} as const;

/** One of {@link ExitCode}'s values. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error that ends the command with a chosen exit code and a one-line message. */
export class CliError extends Error {
  /** The exit status to use. */
  readonly exitCode: ExitCodeValue;
  /** Creates the error. */
  constructor(message: string, exitCode: ExitCodeValue = ExitCode.Error) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}
