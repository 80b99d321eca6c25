// Astrid's `node:path` (and `node:path/posix`): path-browserify's POSIX path functions. The
// current directory is "/" (capsules have no process), so `resolve` and `relative` never read
// `process.cwd()`. There is no win32 flavour: `win32` is the POSIX object too.
import base from "path-browserify";

/** Like Node's `path.resolve`, with "/" as the working directory. */
export const resolve = (...parts) => base.resolve("/", ...parts);
/** Like Node's `path.relative`, both sides resolved against "/". */
export const relative = (from, to) => base.relative(resolve(from), resolve(to));
export const {
  basename,
  delimiter,
  dirname,
  extname,
  format,
  isAbsolute,
  join,
  normalize,
  parse,
  sep,
} = base;
/** Node's no-op outside Windows. */
export const toNamespacedPath = (p) => p;

const path = {
  ...base,
  resolve,
  relative,
  toNamespacedPath,
};
path.posix = path;
path.win32 = path;
export const posix = path;
export const win32 = path;
export default path;
