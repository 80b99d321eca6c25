/**
 * The daemon (`astridd`): JSON-RPC 2.0 over WebSocket at `ws://127.0.0.1:PORT/rpc` (docs/rpc.md),
 * its state files, the event bus, the approval hub, and the client the CLI attaches with.
 *
 * @module
 */
export * from "./types.ts";
export { connectDaemon, type DaemonClient, openClient } from "./client.ts";
export {
  type DaemonOptions,
  parseListen,
  parsePublicUrl,
  runDaemon,
  type RunningDaemon,
  ServiceMap,
  startDaemon,
} from "./daemon.ts";
export { type EventFilter, EventLog } from "./events.ts";
export { Hub, toPending } from "./hub.ts";
export { Dispatcher, MAX_FRAME_BYTES } from "./rpc.ts";
export { bearerMatches, createServer, CSP } from "./server.ts";
export {
  acquireLock,
  daemonDir,
  type DaemonInfo,
  DaemonRunningError,
  ensureToken,
  findDaemon,
  pidAlive,
  readDaemonInfo,
  readToken,
} from "./state.ts";
export {
  DAEMON_EVENT_SCHEMA,
  DAEMON_EVENT_TYPES,
  PENDING_APPROVAL_SCHEMA,
} from "./event_schema.ts";
