/**
 * The terminal approval prompt: the four options, a clear description of the action, its risk
 * and, for untrusted provenance, where its arguments came from.
 *
 * @module
 */
import type {
  ApprovalAnswer,
  ApprovalRequest,
  ElicitationAnswer,
  ElicitationField,
  ElicitationRequest,
  Frontend,
} from "../security/approval.ts";
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

  /**
   * Shows a server's request for information: a URL to visit (accept or decline) or a form,
   * one field per line. An empty line takes the default; end of input cancels.
   */
  async elicit(request: ElicitationRequest, signal: AbortSignal): Promise<ElicitationAnswer> {
    const io = this.#io;
    io.stderr(`\nMCP server ${request.from} asks: ${request.message}\n`);
    if (request.mode === "url") {
      io.stderr(`  url: ${request.url}\n`);
      const line = await io.readLine!("  [a] I will open it  [d] decline > ");
      if (line === null || signal.aborted) return { action: "cancel" };
      return { action: line.trim().toLowerCase().startsWith("a") ? "accept" : "decline" };
    }
    const content: Record<string, string | number | boolean> = {};
    for (const field of request.fields) {
      for (;;) {
        if (signal.aborted) return { action: "cancel" };
        const line = await io.readLine!(`  ${fieldPrompt(field)} > `);
        if (line === null) return { action: "cancel" };
        const value = parseField(field, line.trim());
        if (value === undefined && !field.required) break;
        if (value !== undefined) {
          content[field.name] = value;
          break;
        }
        io.stderr(`  ${field.name} needs a ${field.type}\n`);
      }
    }
    const ok = await io.readLine!("  send these answers? [y/n] > ");
    return ok?.trim().toLowerCase().startsWith("y") ? { action: "accept", content } : {
      action: "decline",
    };
  }

  async #pickPattern(request: ApprovalRequest): Promise<string> {
    const io = this.#io;
    request.suggestions.forEach((s, i) => io.stderr(`  [${i + 1}] ${s}\n`));
    const line = await io.readLine!("  apply to which? [1] > ");
    const index = Number.parseInt(line?.trim() || "1", 10) - 1;
    return request.suggestions[index] ?? request.suggestions[0]!;
  }
}

function fieldPrompt(f: ElicitationField): string {
  const parts = [f.title ?? f.name];
  if (f.choices) parts.push(`(${f.choices.join("/")})`);
  if (f.default !== undefined) parts.push(`[${f.default}]`);
  if (!f.required) parts.push("(optional)");
  return parts.join(" ");
}

function parseField(f: ElicitationField, text: string): string | number | boolean | undefined {
  if (text === "") return f.default;
  if (f.choices && !f.choices.includes(text)) return undefined;
  switch (f.type) {
    case "boolean":
      return /^(y|yes|true)$/i.test(text) ? true : /^(n|no|false)$/i.test(text) ? false : undefined;
    case "number":
    case "integer": {
      const n = Number(text);
      if (!Number.isFinite(n) || (f.type === "integer" && !Number.isInteger(n))) return undefined;
      return n;
    }
    default:
      return text;
  }
}
