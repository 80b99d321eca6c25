/**
 * RPC methods: sessions.* (being written).
 *
 * @module
 */
import type { MethodGroup } from "./mod.ts";

/** The sessions methods. */
export const group: MethodGroup = { methods: [] };
