/**
 * RPC methods: servers.* (being written).
 *
 * @module
 */
import type { MethodGroup } from "./mod.ts";

/** The servers methods. */
export const group: MethodGroup = { methods: [] };
