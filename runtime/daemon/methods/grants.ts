/**
 * RPC methods: grants.* (being written).
 *
 * @module
 */
import type { MethodGroup } from "./mod.ts";

/** The grants methods. */
export const group: MethodGroup = { methods: [] };
