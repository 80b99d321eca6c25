// Astrid's shim for `openclaw/plugin-sdk/runtime-store`: a runtime slot per plugin. A capsule
// is one plugin in its own sandbox, so "global" slots (keyed by plugin id or registry key) are
// shared only within this capsule.

const slots = new Map();

/**
 * A slot that throws `errorMessage` when read before `setRuntime`. A string argument makes a
 * private slot; `{ pluginId | key, errorMessage }` a named one shared by every caller.
 */
export function createPluginRuntimeStore(options) {
  const named = typeof options === "object" && options !== null;
  const errorMessage = named ? String(options.errorMessage) : String(options);
  const key = named ? String(options.key ?? `plugin:${options.pluginId}`) : null;
  const own = { value: null };
  const slot = key === null ? own : (slots.get(key) ?? slots.set(key, { value: null }).get(key));
  return {
    setRuntime: (next) => void (slot.value = next),
    clearRuntime: () => void (slot.value = null),
    tryGetRuntime: () => slot.value ?? null,
    getRuntime: () => {
      if (slot.value === null || slot.value === undefined) throw new Error(errorMessage);
      return slot.value;
    },
  };
}
