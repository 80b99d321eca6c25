/**
 * The OS wall around every process the runtime starts: bash, capsules' `[[mcp_server]]`s and
 * the user's `[servers]` (unless one sets `sandbox = "off"`). Bubblewrap with every capability
 * dropped, a user namespace mapping the caller to uid 65534 where the kernel allows, `no_new_privs`,
 * a PID namespace and a fresh `/proc`, the filesystem read-only except the workspace and declared
 * paths, the workspace's `.astrid/` read-only, the runtime's state, credentials and other users'
 * homes hidden, and no network unless allowed. It holds when the runtime runs as root.
 * docs/sandbox.md says exactly what the wall shows and hides.
 *
 * @example Build the wall for this runtime
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { Sandbox } from "./mod.ts";
 * import { NO_WALLS } from "../security/walls.ts";
 * const sandbox = await Sandbox.open(NO_WALLS);
 * equal(sandbox instanceof Sandbox || typeof sandbox === "string", true);
 * ```
 *
 * @module
 */
export { CREDENTIAL_PATHS, hiddenPaths, type HideInputs, SOCKET_DIRS } from "./hide.ts";
export { probeSandbox, type SandboxSupport } from "./probe.ts";
export { SANDBOX_ID, wallArgs, type WallSpec } from "./wall.ts";
export { Sandbox, SandboxError, type WalledCommand, type WallOptions } from "./sandbox.ts";
export { CreateError, WalledCreator, workspaceCreator } from "./creator.ts";
