import { throws } from "node:assert/strict";
import { checkRequest } from "./_request.ts";
import type { LlmRequest } from "./provider.ts";

const OK: LlmRequest = {
  system: "",
  tools: [{ name: "t", description: "d", inputSchema: { type: "object" } }],
  messages: [
    { role: "user", content: [{ type: "text", text: "hi" }] },
    { role: "assistant", content: [{ type: "tool_use", id: "1", name: "t", args: {} }] },
    {
      role: "user",
      content: [{ type: "tool_result", toolUseId: "1", content: "x", isError: false }],
    },
  ],
};

Deno.test("checkRequest() accepts a well-formed request", () => {
  checkRequest(OK);
});

Deno.test("checkRequest() rejects malformed requests with a TypeError", () => {
  const bad: unknown[] = [
    { ...OK, system: 1 },
    { ...OK, tools: [{ name: "", description: "d", inputSchema: {} }] },
    { ...OK, tools: [OK.tools[0], OK.tools[0]] },
    { ...OK, tools: [{ name: "t", description: "d", inputSchema: [] }] },
    { ...OK, messages: [{ role: "system", content: [] }] },
    { ...OK, messages: [{ role: "user", content: [{ type: "image", data: "" }] }] },
    {
      ...OK,
      messages: [{
        role: "assistant",
        content: [{ type: "tool_use", id: "1", name: "t", args: "rm -rf /" }],
      }],
    },
    {
      ...OK,
      messages: [{
        role: "user",
        content: [{ type: "tool_result", toolUseId: "1", content: {}, isError: false }],
      }],
    },
  ];
  for (const req of bad) {
    throws(() => checkRequest(req as LlmRequest), TypeError, JSON.stringify(req));
  }
});
