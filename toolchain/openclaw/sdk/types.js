// Astrid's shim for `openclaw/plugin-sdk/types`: type-only in OpenClaw, so nothing at run time.
export {};
