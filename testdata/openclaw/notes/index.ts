import { definePluginEntry } from "openclaw/plugin-sdk/plugin-entry";
import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import path from "node:path";
import { Buffer } from "node:buffer";

export default definePluginEntry({
  id: "notes",
  name: "Notes",
  description: "Keeps short notes",
  register(api) {
    const store = api.runtime.state.openKeyedStore<{ text: string; at: number }>({
      namespace: "notes",
      maxEntries: 100,
    });
    const events = new EventEmitter();
    let saved = 0;
    events.on("saved", () => saved++);
    api.registerCommand({
      name: "note",
      description: "Save a note: /note TEXT",
      acceptsArgs: true,
      handler: async (ctx) => {
        const text = (ctx.args ?? "").trim();
        if (!text) return { text: "usage: /note TEXT" };
        const id = createHash("sha256").update(text).digest("hex").slice(0, 8);
        await store.register(id, { text, at: Date.now() });
        events.emit("saved", id);
        return { text: `saved note ${id} (${Buffer.from(text).length} bytes)` };
      },
    });
    api.registerCommand({
      name: "notes",
      description: "List the saved notes",
      handler: async () => {
        const all = await store.entries();
        return { text: all.map((e) => `${e.key}: ${e.value.text}`).join("\n") || "no notes" };
      },
    });
    api.registerTool({
      name: "notes_search",
      description: "Find saved notes containing a word",
      parameters: {
        type: "object",
        properties: { word: { type: "string", minLength: 1 } },
        required: ["word"],
        additionalProperties: false,
      },
      async execute(_id: string, params: { word: string }) {
        const all = await store.entries();
        const hits = all.filter((e) => e.value.text.includes(params.word));
        return {
          content: [{
            type: "text",
            text: hits.map((e) => `${e.key}: ${e.value.text}`).join("\n") || "no match",
          }],
        };
      },
    });
    api.registerTool({
      name: "notes_path",
      description: "Where a note file would live in the workspace",
      parameters: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
      async execute(_id: string, params: { name: string }) {
        const where = api.resolvePath(path.join("notes", `${params.name}.md`));
        return { content: [{ type: "text", text: where }] };
      },
    });
    api.registerTool({
      name: "notes_summary",
      description: "Summarise the saved notes with the model",
      parameters: { type: "object", properties: {} },
      async execute() {
        const all = await store.entries();
        const res = await api.runtime.llm.complete({
          systemPrompt: "Summarise these notes in one line.",
          messages: [{ role: "user", content: all.map((e) => e.value.text).join("\n") || "(none)" }],
          maxTokens: 200,
          purpose: "notes summary",
        });
        return { content: [{ type: "text", text: `summary (${res.model}): ${res.text}` }] };
      },
    });
    api.registerService({
      id: "notes-sync",
      start: async (ctx) => {
        await store.register("service", { text: "started", at: Date.now() });
        ctx.logger.info("notes-sync started");
      },
      stop: async () => {
        await store.register("service", { text: `stopped after ${saved} saves`, at: Date.now() });
      },
    });
  },
});
