/**
 * Newline-delimited JSON-RPC framing for the stdio transport, with a hard cap on line length
 * so a server that floods stdout without a newline cannot grow our memory without bound.
 *
 * @module
 */

/** Splits a byte stream into lines; throws RangeError when one line exceeds `maxLineBytes`. */
export class LineDecoder {
  #chunks: Uint8Array[] = [];
  #pending = 0;
  #max: number;
  #decoder = new TextDecoder();

  /** Creates a decoder that refuses lines longer than `maxLineBytes`. */
  constructor(maxLineBytes: number) {
    this.#max = maxLineBytes;
  }

  /** Feeds bytes; returns the complete lines they finish (without the newline). */
  push(bytes: Uint8Array): string[] {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = bytes.indexOf(0x0a, start);
      if (nl === -1) break;
      const part = bytes.subarray(start, nl);
      if (this.#pending + part.length > this.#max) this.#tooLong(this.#pending + part.length);
      this.#chunks.push(part);
      lines.push(this.#take());
      start = nl + 1;
    }
    const rest = bytes.subarray(start);
    if (rest.length > 0) {
      if (this.#pending + rest.length > this.#max) this.#tooLong(this.#pending + rest.length);
      this.#chunks.push(rest.slice());
      this.#pending += rest.length;
    }
    return lines;
  }

  #take(): string {
    const total = this.#chunks.reduce((n, c) => n + c.length, 0);
    const joined = new Uint8Array(total);
    let at = 0;
    for (const c of this.#chunks) {
      joined.set(c, at);
      at += c.length;
    }
    this.#chunks = [];
    this.#pending = 0;
    const text = this.#decoder.decode(joined);
    return text.endsWith("\r") ? text.slice(0, -1) : text;
  }

  #tooLong(size: number): never {
    this.#chunks = [];
    this.#pending = 0;
    throw new RangeError(
      `Cannot read a message from the server: a line exceeds ${this.#max} bytes (current value is at least ${size})`,
    );
  }
}

/** Keeps the last `limit` bytes written to it (a server's stderr, for error messages). */
export class TailBuffer {
  #buf: Uint8Array;
  #len = 0;
  #total = 0;

  /** Creates a tail of at most `limit` bytes. */
  constructor(limit: number) {
    this.#buf = new Uint8Array(limit);
  }

  /** Appends bytes, dropping the oldest ones beyond the limit. */
  push(bytes: Uint8Array): void {
    this.#total += bytes.length;
    const cap = this.#buf.length;
    if (bytes.length >= cap) {
      this.#buf.set(bytes.subarray(bytes.length - cap));
      this.#len = cap;
      return;
    }
    const keep = Math.min(this.#len, cap - bytes.length);
    this.#buf.copyWithin(0, this.#len - keep, this.#len);
    this.#buf.set(bytes, keep);
    this.#len = keep + bytes.length;
  }

  /** Total bytes ever pushed. */
  get total(): number {
    return this.#total;
  }

  /** The kept tail as text. */
  text(): string {
    return new TextDecoder().decode(this.#buf.subarray(0, this.#len));
  }
}
