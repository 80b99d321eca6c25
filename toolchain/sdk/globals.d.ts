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

/** A fully read response of the `http-request` host function. */
declare class Response {
  constructor(
    body?: string | null,
    init?: { status?: number; statusText?: string; headers?: Record<string, string>; url?: string },
  );
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly url: string;
  readonly ok: boolean;
  text(): Promise<string>;
  // As in the web platform's Response: the body's shape is the author's to narrow.
  // deno-lint-ignore no-explicit-any
  json(): Promise<any>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** What `fetch` accepts: a string body only. */
interface CapsuleRequestInit {
  method?: string;
  headers?: Headers | Record<string, string>;
  body?: string | null;
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
/** Throws: a capsule call is bounded (use `[[cron]]` for periodic work). */
declare function setInterval(fn: () => void, delay?: number): never;
declare function clearInterval(id?: number): void;
declare function queueMicrotask(fn: () => void): void;

/** Randomness from the host's CSPRNG. */
declare const crypto: {
  getRandomValues<T extends ArrayBufferView>(array: T): T;
  randomUUID(): `${string}-${string}-${string}-${string}-${string}`;
};
