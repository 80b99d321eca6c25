/**
 * Calls one of the daemon's RPC methods from inside the daemon (the approval link's POST runs
 * `approvals.respond` exactly as a client's call would), found by name in the method groups.
 *
 * @module
 */
import { GROUPS } from "../daemon/methods/mod.ts";
import { type ClientInfo, type DaemonContext, RpcError, RpcErrorCode } from "../daemon/types.ts";

/** Runs method `name` with `params` as `client`; throws what the handler throws. */
export async function callMethod(
  daemon: DaemonContext,
  name: string,
  params: Record<string, unknown>,
  client: ClientInfo,
): Promise<unknown> {
  const method = GROUPS.flatMap((g) => g.methods).find((m) => m.name === name);
  if (!method) {
    throw new RpcError(RpcErrorCode.MethodNotFound, `Cannot call ${name}: no such method`);
  }
  const controller = new AbortController();
  try {
    return await method.handler(params, {
      daemon,
      client,
      signal: controller.signal,
      notify() {},
    });
  } finally {
    controller.abort();
  }
}
