/**
 * Test helpers for runtime/mcp: fixture server configs and a real gate over an in-memory store.
 * Not re-exported from mod.ts.
 *
 * @module
 */
import { openStore, type Store } from "../storage/mod.ts";
import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
import { AuditLog } from "../audit/mod.ts";
import { type AstridConfig, DEFAULT_CONFIG } from "../config/mod.ts";
import { openGate } from "../security/gate.ts";
import type { DeferredQueue, Frontend } from "../security/approval.ts";
import type { SecurityInterceptor } from "../security/interceptor.ts";
import type { StdioServerConfig } from "./server_config.ts";

/** Absolute path of `tests/fixtures/<file>`. */
export function fixturePath(file: string): string {
  return new URL(`../../tests/fixtures/${file}`, import.meta.url).pathname;
}

/** A stdio config that runs a fixture server with this Deno. */
export function fixtureServer(
  name: string,
  file: string,
  overrides: Partial<StdioServerConfig> = {},
): StdioServerConfig {
  return {
    name,
    transport: "stdio",
    command: Deno.execPath(),
    args: ["run", "--allow-env", "--allow-read", fixturePath(file)],
    env: {},
    autoStart: false,
    restartPolicy: "never",
    sandbox: { network: false, writable: [] },
    ...overrides,
  };
}

/** A gate with a real interceptor and audit log; dispose to close them. */
export interface TestGate extends AsyncDisposable {
  readonly interceptor: SecurityInterceptor;
  readonly audit: AuditLog;
  readonly store: Store;
  readonly deferred: DeferredQueue;
  readonly root: string;
}

/** Opens a gate over an in-memory store with `frontend` answering approvals. */
export async function openTestGate(
  frontend: Frontend | null,
  edit: (config: AstridConfig) => void = () => {},
): Promise<TestGate> {
  const store = await openStore(":memory:");
  const signer = signerFromSeed(generateSeed());
  const audit = await AuditLog.open(store, signer);
  const config = structuredClone(DEFAULT_CONFIG) as AstridConfig;
  edit(config);
  const root = await Deno.realPath(await Deno.makeTempDir());
  const { interceptor, deferred } = await openGate({
    store,
    signer,
    audit,
    config,
    workspaceRoot: root,
    workspaceId: "ws",
    sessionId: "s1",
    frontend,
  });
  return {
    interceptor,
    audit,
    store,
    deferred,
    root,
    async [Symbol.asyncDispose]() {
      await audit.close();
      store.close();
      await Deno.remove(root, { recursive: true });
    },
  };
}
