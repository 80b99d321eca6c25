/**
 * Every RPC method group the daemon serves, in docs order. Each group module exports `group`:
 * its methods and, optionally, a `start(ctx)` that runs when the daemon starts (and returns a
 * closer run at shutdown).
 *
 * @module
 */
import type { DaemonContext, RpcMethod } from "../types.ts";
import { group as status } from "./status.ts";
import { group as events } from "./events.ts";
import { group as sessions } from "./sessions.ts";
import { group as approvals } from "./approvals.ts";
import { group as tools } from "./tools.ts";
import { group as grants } from "./grants.ts";
import { group as audit } from "./audit.ts";
import { group as servers } from "./servers.ts";
import { group as cron } from "./cron.ts";
import { group as web } from "./web.ts";
import { group as elicitations } from "./elicitations.ts";
import { group as commands } from "./commands.ts";

/** One group of methods and what it starts with the daemon. */
export interface MethodGroup {
  readonly methods: readonly RpcMethod[];
  /** Runs once the daemon listens; the returned function runs at shutdown. */
  start?(ctx: DaemonContext): Promise<(() => Promise<void>) | void>;
}

/** All groups. */
export const GROUPS: readonly MethodGroup[] = [
  status,
  events,
  sessions,
  approvals,
  elicitations,
  tools,
  commands,
  grants,
  audit,
  servers,
  cron,
  web,
];
