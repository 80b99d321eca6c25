/**
 * The terminal approval prompt: the four options, a clear description of the action, its risk
 * and, for untrusted provenance, where its arguments came from.
 *
 * @module
 */
import type { ApprovalAnswer, ApprovalRequest, Frontend } from "../security/approval.ts";
import type { CliIo } from "./context.ts";

const KEYS: Record<string, ApprovalAnswer["choice"]> = {
  o: "once",
  once: "once",
  s: "session",
  session: "session",
  a: "always",
  always: "always",
  d: "deny",
  deny: "deny",
  n: "deny",
};

/** Renders the approval request as the lines a human reads. */
export function describeRequest(request: ApprovalRequest): string {
  const lines = [
    `Approval needed [risk: ${request.info.risk}]`,
    `  ${request.info.summary}`,
    `  resource: ${request.info.resource}`,
    `  why:      ${request.reason}`,
  ];
  if (request.provenance?.trust === "untrusted") {
    lines.push(
      `  source:   untrusted data from ${request.provenance.source ?? "an unknown source"}`,
    );
  }
  return lines.join("\n");
}

/** Asks on the terminal through `io.readLine`; only usable when stdin is a TTY. */
export class TerminalFrontend implements Frontend {
  #io: CliIo;
  /** Creates the prompt over the CLI's IO. */
  constructor(io: CliIo) {
    this.#io = io;
  }

  /** True when a person can answer at the terminal. */
  canAsk(): boolean {
    return this.#io.isTty && this.#io.readLine !== undefined;
  }

  /** Shows the request and reads the answer; unreadable input asks again, end of input denies. */
  async ask(request: ApprovalRequest, signal: AbortSignal): Promise<ApprovalAnswer> {
    const io = this.#io;
    io.stderr(`\n${describeRequest(request)}\n`);
    for (;;) {
      if (signal.aborted) throw new Error("the prompt timed out");
      const line = await io.readLine!(
        "  [o] allow once  [s] allow session  [a] allow always  [d] deny > ",
      );
      if (line === null) return { choice: "deny", reason: "end of input at the prompt" };
      const choice = KEYS[line.trim().toLowerCase()];
      if (!choice) {
        io.stderr("  please answer o, s, a or d\n");
        continue;
      }
      if ((choice === "always" || choice === "session") && request.suggestions.length > 1) {
        return { choice, pattern: await this.#pickPattern(request) };
      }
      return { choice };
    }
  }

  async #pickPattern(request: ApprovalRequest): Promise<string> {
    const io = this.#io;
    request.suggestions.forEach((s, i) => io.stderr(`  [${i + 1}] ${s}\n`));
    const line = await io.readLine!("  apply to which? [1] > ");
    const index = Number.parseInt(line?.trim() || "1", 10) - 1;
    return request.suggestions[index] ?? request.suggestions[0]!;
  }
}
