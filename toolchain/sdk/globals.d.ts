/**
 * The globals a capsule can use, beyond ES2022: exactly what the engine and the shim
 * (toolchain/shim/prelude.js) provide inside the sandbox. Capsules are type-checked against this
 * file and `lib: ["es2022"]` only, so `Deno.*`, DOM and Node APIs, which do not exist in the
 * sandbox, are compile errors rather than failures at run time.
 *
 * @module
 */

/** `console.*` goes to the `log` host function (the runtime's capsule log). */
declare const console: {
  log(...data: unknown[]): void;
  info(...data: unknown[]): void;
  warn(...data: unknown[]): void;
  error(...data: unknown[]): void;
  debug(...data: unknown[]): void;
};

/** UTF-8 only. */
declare class TextEncoder {
  readonly encoding: "utf-8";
  encode(input?: string): Uint8Array;
}

/** UTF-8 only; invalid sequences become U+FFFD. */
declare class TextDecoder {
  readonly encoding: "utf-8";
  decode(input?: ArrayBuffer | ArrayBufferView): string;
}

/** A minimal URL: absolute URLs only (no base, no IDNA), read-only parts. */
declare class URL {
  constructor(input: string);
  readonly protocol: string;
  readonly hostname: string;
  readonly port: string;
  readonly pathname: string;
  readonly search: string;
  readonly hash: string;
  readonly host: string;
  readonly origin: string;
  readonly href: string;
  toString(): string;
  toJSON(): string;
}

/** Header names are lowercased. */
declare class Headers implements Iterable<[string, string]> {
  constructor(init?: Headers | Record<string, string>);
  get(name: string): string | null;
  has(name: string): boolean;
  set(name: string, value: string): void;
  entries(): IterableIterator<[string, string]>;
  [Symbol.iterator](): IterableIterator<[string, string]>;
}

/** Bytes held in memory, with a MIME type. */
declare class Blob {
  constructor(
    parts?: Iterable<string | ArrayBuffer | ArrayBufferView | Blob>,
    options?: { type?: string },
  );
  readonly size: number;
  readonly type: string;
  bytes(): Promise<Uint8Array>;
  arrayBuffer(): Promise<ArrayBuffer>;
  text(): Promise<string>;
  slice(start?: number, end?: number, type?: string): Blob;
}

/** A named Blob. */
declare class File extends Blob {
  constructor(
    parts: Iterable<string | ArrayBuffer | ArrayBufferView | Blob>,
    name: string,
    options?: { type?: string; lastModified?: number },
  );
  readonly name: string;
  readonly lastModified: number;
}

/** What a request or response body may be: binary bodies are kept byte for byte. */
type CapsuleBodyInit = string | ArrayBuffer | ArrayBufferView | Blob;

/** A fully read response of the `http-request` host function (its exact bytes are kept). */
declare class Response {
  constructor(
    body?: CapsuleBodyInit | null,
    init?: { status?: number; statusText?: string; headers?: Record<string, string>; url?: string },
  );
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly url: string;
  readonly ok: boolean;
  readonly bodyUsed: boolean;
  /** A copy whose body can be read separately. */
  clone(): Response;
  /** The body as UTF-8 text (invalid sequences become U+FFFD). */
  text(): Promise<string>;
  // As in the web platform's Response: the body's shape is the author's to narrow.
  // deno-lint-ignore no-explicit-any
  json(): Promise<any>;
  /** The body's exact bytes. */
  arrayBuffer(): Promise<ArrayBuffer>;
  /** The body's exact bytes. */
  bytes(): Promise<Uint8Array>;
  /** The body's exact bytes, typed by its content-type. */
  blob(): Promise<Blob>;
}

/** What `fetch` accepts: text, or bytes sent byte for byte (at most 8 MiB). */
interface CapsuleRequestInit {
  method?: string;
  headers?: Headers | Record<string, string>;
  body?: CapsuleBodyInit | null;
}

/** `fetch` over the gated `http-request` host function (hosts limited by `[capabilities] net`). */
declare function fetch(
  input: string | URL | { url: string },
  init?: CapsuleRequestInit,
): Promise<Response>;

/** Runs `fn` once the current job ends; delays order callbacks but are not real time. */
declare function setTimeout<A extends unknown[]>(
  fn: (...args: A) => void,
  delay?: number,
  ...args: A
): number;
declare function clearTimeout(id?: number): void;
/**
 * Re-arms every `delay` ms until cleared. Inside a call it runs on the call's virtual clock and
 * ends with the call; in an OpenClaw service run by the daemon it keeps firing in real time (at
 * most once a second). For periodic work of an ordinary capsule, use `[[cron]]`.
 */
declare function setInterval<A extends unknown[]>(
  fn: (...args: A) => void,
  delay?: number,
  ...args: A
): number;
declare function clearInterval(id?: number): void;
declare function queueMicrotask(fn: () => void): void;
/** Base64 of a string of Latin-1 characters (an `InvalidCharacterError` above U+00FF). */
declare function btoa(data: string): string;
/** The Latin-1 string a base64 text encodes (forgiving: whitespace and missing padding). */
declare function atob(data: string): string;

/** Randomness from the host's CSPRNG. */
declare const crypto: {
  getRandomValues<T extends ArrayBufferView>(array: T): T;
  randomUUID(): `${string}-${string}-${string}-${string}-${string}`;
};
