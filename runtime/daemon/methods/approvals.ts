/**
 * RPC methods: approvals.* (being written).
 *
 * @module
 */
import type { MethodGroup } from "./mod.ts";

/** The approvals methods. */
export const group: MethodGroup = { methods: [] };
