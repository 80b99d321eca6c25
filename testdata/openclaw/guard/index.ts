import { definePluginEntry } from "openclaw/plugin-sdk/plugin-entry";

interface Verdict {
  action: "allow" | "block" | "rewrite" | "ask";
  reason?: string;
  params?: Record<string, unknown>;
}

export default definePluginEntry({
  id: "guard",
  name: "Guard",
  description: "Checks every tool call with a policy service",
  register(api) {
    const base = String(api.pluginConfig?.policyUrl ?? "").replace(/\/$/, "");
    api.on("before_tool_call", async (event) => {
      const res = await fetch(`${base}/check`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ tool: event.toolName, params: event.params }),
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) return { block: true, blockReason: `policy service answered ${res.status}` };
      const verdict = await res.json() as Verdict;
      switch (verdict.action) {
        case "block":
          return { block: true, blockReason: verdict.reason ?? "blocked by policy" };
        case "rewrite":
          return { params: verdict.params ?? event.params };
        case "ask":
          return {
            requireApproval: {
              title: "Policy review",
              description: verdict.reason ?? "the policy service wants a human to decide",
              severity: "warning",
            },
          };
        default:
          return undefined;
      }
    }, { priority: 5 });
    api.on("after_tool_call", async (event) => {
      api.logger.info(`guard saw ${event.toolName} finish in ${event.durationMs ?? 0} ms`);
      await fetch(`${base}/after`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ tool: event.toolName, ok: event.error === undefined }),
      });
    });
    api.on("message_sending", (event) => {
      if (event.content.includes("sk-live-")) {
        return { content: event.content.replace(/sk-live-[A-Za-z0-9]+/g, "[redacted]") };
      }
      return undefined;
    });
    // A hook name OpenClaw does not define: warned about once, ignored.
    // deno-lint-ignore no-explicit-any
    (api.on as any)("before_everything", () => undefined);
  },
});
