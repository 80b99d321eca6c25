/**
 * Routes MCP elicitation (form and URL mode) to the human through the {@link Frontend}.
 * A frontend that cannot elicit means the connection does not advertise elicitation at all.
 *
 * @module
 */
import type {
  ElicitationAnswer,
  ElicitationField,
  ElicitationRequest,
  Frontend,
} from "../security/approval.ts";
import type { Elicitor } from "./connection.ts";

interface SchemaProperty {
  type?: string;
  title?: string;
  description?: string;
  enum?: unknown[];
  default?: unknown;
}

function fieldsOf(schema: unknown): ElicitationField[] {
  const s = schema as { properties?: Record<string, SchemaProperty>; required?: string[] } | null;
  const required = new Set(s?.required ?? []);
  return Object.entries(s?.properties ?? {}).map(([name, p]) => {
    const type = p.type === "number" || p.type === "integer" || p.type === "boolean"
      ? p.type
      : "string";
    const dflt = typeof p.default === "string" || typeof p.default === "number" ||
        typeof p.default === "boolean"
      ? p.default
      : undefined;
    return {
      name,
      type,
      required: required.has(name),
      title: p.title,
      description: p.description,
      choices: Array.isArray(p.enum) ? p.enum.map(String) : undefined,
      default: dflt,
    };
  });
}

/**
 * An {@link Elicitor} that asks `frontend`, or null when the frontend cannot elicit.
 *
 * @example A form is shown field by field and the answer goes back as content
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { frontendElicitor } from "./elicitation.ts";
 * const elicitor = frontendElicitor({
 *   canAsk: () => true,
 *   ask: () => Promise.reject(new Error("unused")),
 *   elicit: (req) => Promise.resolve({ action: "accept", content: { name: req.from } }),
 * })!;
 * const r = await elicitor("srv", {
 *   mode: "form", message: "Who?",
 *   requestedSchema: { type: "object", properties: { name: { type: "string" } } },
 * }, new AbortController().signal);
 * deepEqual(r, { action: "accept", content: { name: "srv" } });
 * ```
 */
export function frontendElicitor(frontend: Frontend | null): Elicitor | null {
  const elicit = frontend?.elicit?.bind(frontend);
  if (!elicit) return null;
  return async function elicitThroughFrontend(server, params, signal) {
    const p = params as { mode?: string; message: string; url?: string; requestedSchema?: unknown };
    const request: ElicitationRequest = p.mode === "url" && typeof p.url === "string"
      ? { mode: "url", from: server, message: p.message, url: p.url }
      : { mode: "form", from: server, message: p.message, fields: fieldsOf(p.requestedSchema) };
    if (!frontend!.canAsk()) return { action: "cancel" };
    const answer: ElicitationAnswer = await elicit(request, signal);
    return answer.action === "accept" && answer.content
      ? { action: "accept", content: { ...answer.content } }
      : { action: answer.action };
  };
}
