/**
 * Test plumbing for the agent: a real workspace, disk KV, audit log and the loopback Anthropic
 * server driven by a script, with the real provider (official SDK) pointed at it.
 *
 * @module
 */
import { join } from "node:path";
import { openStore, type Store } from "../storage/mod.ts";
import { generateSeed, type Signer, signerFromSeed } from "../crypto/mod.ts";
import { AuditLog } from "../audit/mod.ts";
import { type AstridConfig, DEFAULT_CONFIG } from "../config/mod.ts";
import { createProvider, type LlmProvider } from "../llm/mod.ts";
import { type FakeServer, type FakeTurn, startFakeAnthropic } from "../llm/replay_anthropic.ts";
import { openAgent, type OpenAgentOptions, type OpenedAgent } from "./open.ts";

/** One test's world. */
export interface World {
  readonly ws: string;
  readonly outside: string;
  readonly store: Store;
  readonly signer: Signer;
  readonly audit: AuditLog;
  readonly config: AstridConfig;
  readonly fake: FakeServer;
  readonly provider: LlmProvider;
  open(extra?: Partial<OpenAgentOptions>): Promise<OpenedAgent>;
  close(): Promise<void>;
}

/** Builds a world; `patch` edits the config (mode, budget, …). */
export async function world(
  script: readonly FakeTurn[],
  patch: (c: AstridConfig) => void = () => {},
): Promise<World> {
  const dir = await Deno.makeTempDir({ prefix: "agent-" });
  const store = await openStore(join(dir, "state.kv"));
  const signer = signerFromSeed(generateSeed());
  const audit = await AuditLog.open(store, signer, { checkpointSeconds: 3600 });
  const ws = await Deno.realPath(await Deno.makeTempDir({ prefix: "ws-" }));
  const outside = await Deno.realPath(await Deno.makeTempDir({ prefix: "outside-" }));
  const config = structuredClone(DEFAULT_CONFIG) as AstridConfig;
  config.model.max_tokens = 1024;
  patch(config);
  const fake = startFakeAnthropic(script);
  const provider = createProvider({
    ...config.model,
    provider: "anthropic",
    model: "claude-sonnet-4-6",
    api_key: "sk-test",
    api_url: fake.url,
    max_tokens: 1024,
  }, { retry: { maxAttempts: 1 } });
  const opened: OpenedAgent[] = [];
  return {
    ws,
    outside,
    store,
    signer,
    audit,
    config,
    fake,
    provider,
    async open(extra = {}) {
      const o = await openAgent({
        store,
        signer,
        audit,
        config,
        workspaceRoot: ws,
        workspaceId: "ws-test",
        provider,
        frontend: null,
        ...extra,
      });
      opened.push(o);
      return o;
    },
    async close() {
      for (const o of opened) o.close();
      await fake.close();
      await audit.close();
      store.close();
    },
  };
}
