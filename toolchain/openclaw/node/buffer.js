// Astrid's `node:buffer`: the `buffer` npm package (Buffer over Uint8Array), also installed as
// `globalThis.Buffer` when imported; Blob and File are the prelude's (toolchain/shim/prelude.js).
// Not provided: transcode, resolveObjectURL. The
// package is imported by file (`buffer/index.js`): the bundler maps the bare name `buffer` to
// this module.
import * as impl from "buffer/index.js";

export const Buffer = impl.Buffer;
export const SlowBuffer = impl.SlowBuffer;
export const INSPECT_MAX_BYTES = impl.INSPECT_MAX_BYTES;
export const kMaxLength = impl.kMaxLength;
export const constants = { MAX_LENGTH: impl.kMaxLength, MAX_STRING_LENGTH: (1 << 29) - 24 };
export const atob = (s) => globalThis.atob(s);
export const btoa = (s) => globalThis.btoa(s);
export const Blob = globalThis.Blob;
export const File = globalThis.File;
globalThis.Buffer ??= Buffer;
export default {
  Buffer,
  SlowBuffer,
  INSPECT_MAX_BYTES,
  kMaxLength,
  constants,
  atob,
  btoa,
  Blob,
  File,
};
