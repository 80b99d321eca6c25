/**
 * RPC method `web.login` (a one-time sign-in URL for the web inbox, what `astrid daemon open`
 * prints) and the notifier of approvals nobody is there to answer (runtime/web/notify.ts),
 * started with the daemon.
 *
 * @module
 */
import type { MethodGroup } from "./mod.ts";
import { RpcError, RpcErrorCode, type RpcMethod } from "../types.ts";
import { startNotifier } from "../../web/notify.ts";

const login: RpcMethod = {
  name: "web.login",
  summary: "Mint a one-time sign-in URL for the web inbox (bearer-token clients only)",
  params: { type: "object", additionalProperties: false, properties: {} },
  result: {
    type: "object",
    additionalProperties: false,
    properties: {
      url: {
        type: "string",
        description: "`http://HOST:PORT/login?code=…`: single use, exchanged for a session cookie",
      },
      expiresAt: {
        type: "number",
        description: "when the code stops working (ms since the epoch; two minutes)",
      },
    },
    required: ["url", "expiresAt"],
  },
  async handler(_params: Record<string, never>, call) {
    // A browser (or a link) must not mint sessions: only the holder of the daemon's token.
    if (call.client.kind !== "cli") {
      throw new RpcError(
        RpcErrorCode.Denied,
        `Cannot mint a sign-in URL: only bearer-token clients may, this one is ${call.client.kind}`,
      );
    }
    return await call.daemon.links.login();
  },
};

/** The web methods, and the notifier. */
export const group: MethodGroup = {
  methods: [login],
  start(ctx) {
    const notifier = startNotifier(ctx);
    return Promise.resolve(() => notifier.close());
  },
};
