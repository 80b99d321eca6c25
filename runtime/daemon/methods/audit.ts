/**
 * RPC methods: audit.* (being written).
 *
 * @module
 */
import type { MethodGroup } from "./mod.ts";

/** The audit methods. */
export const group: MethodGroup = { methods: [] };
