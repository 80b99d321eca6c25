/**
 * RPC methods: tools.* (being written).
 *
 * @module
 */
import type { MethodGroup } from "./mod.ts";

/** The tools methods. */
export const group: MethodGroup = { methods: [] };
