// Astrid's shim for `openclaw/plugin-sdk/tool-results`: the two AgentToolResult builders.

/** A tool result with one text part and the given details. */
export function textResult(text, details) {
  return { content: [{ type: "text", text: String(text) }], details };
}

/** A tool result whose text is the payload as indented JSON and whose details are the payload. */
export function jsonResult(payload) {
  return textResult(JSON.stringify(payload, null, 2) ?? "null", payload);
}
