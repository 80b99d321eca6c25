/**
 * Entry checks on an {@link LlmRequest}, shared by both providers: a malformed request is a
 * programming error, reported at once as a `TypeError` instead of being sent.
 *
 * @module
 */
import type { LlmRequest } from "./provider.ts";

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Throws a `TypeError` naming the first malformed part of `req`. */
export function checkRequest(req: Pick<LlmRequest, "messages" | "tools" | "system">): void {
  if (typeof req.system !== "string") {
    throw new TypeError(
      `Cannot send the request: current system is ${typeof req.system}, expected a string`,
    );
  }
  if (!Array.isArray(req.messages) || !Array.isArray(req.tools)) {
    throw new TypeError("Cannot send the request: current messages or tools is not an array");
  }
  const names = new Set<string>();
  for (const [i, t] of req.tools.entries()) {
    if (typeof t?.name !== "string" || t.name === "" || typeof t.description !== "string") {
      throw new TypeError(`Cannot send the request: current tool ${i} has no name or description`);
    }
    if (names.has(t.name)) {
      throw new TypeError(`Cannot send the request: current tool name ${t.name} is duplicated`);
    }
    names.add(t.name);
    if (!isPlainObject(t.inputSchema)) {
      throw new TypeError(
        `Cannot send the request: current inputSchema of tool ${t.name} is not an object`,
      );
    }
  }
  for (const [i, m] of req.messages.entries()) {
    if ((m?.role !== "user" && m?.role !== "assistant") || !Array.isArray(m.content)) {
      throw new TypeError(
        `Cannot send the request: current message ${i} has role ${String(m?.role)}`,
      );
    }
    for (const c of m.content) {
      const ok = c?.type === "text"
        ? typeof c.text === "string"
        : c?.type === "tool_use"
        ? typeof c.id === "string" && typeof c.name === "string" && isPlainObject(c.args)
        : c?.type === "tool_result"
        ? typeof c.toolUseId === "string" && typeof c.content === "string" &&
          typeof c.isError === "boolean"
        : false;
      if (!ok) {
        throw new TypeError(
          `Cannot send the request: current message ${i} holds a malformed ${
            String(c?.type)
          } block`,
        );
      }
    }
  }
}
