/**
 * RPC methods: events.* (being written).
 *
 * @module
 */
import type { MethodGroup } from "./mod.ts";

/** The events methods. */
export const group: MethodGroup = { methods: [] };
