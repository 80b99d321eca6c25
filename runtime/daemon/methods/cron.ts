/**
 * RPC methods: cron.* (being written).
 *
 * @module
 */
import type { MethodGroup } from "./mod.ts";

/** The cron methods. */
export const group: MethodGroup = { methods: [] };
