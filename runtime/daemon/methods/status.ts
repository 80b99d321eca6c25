/**
 * RPC methods: status.* (being written).
 *
 * @module
 */
import type { MethodGroup } from "./mod.ts";

/** The status methods. */
export const group: MethodGroup = { methods: [] };
