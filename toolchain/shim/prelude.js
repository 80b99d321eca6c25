// Astrid capsule prelude: prepended to every capsule bundle by toolchain/compile.ts and evaluated
// by the engine (QuickJS) inside wizer.initialize, before the capsule's own code.
//
// It provides what QuickJS lacks (console, TextEncoder/TextDecoder, Event/EventTarget,
// DOMException, AbortController/AbortSignal, URL/URLSearchParams, Blob/File,
// Headers/Request/Response and fetch over the gated http-request host function (binary bodies
// cross the host boundary as base64), timers on a virtual clock, atob/btoa,
// structuredClone) and the host API (`globalThis.__astrid_api`, wrapped by toolchain/sdk/mod.ts),
// then defines the entry object the engine calls (`globalThis.__astrid`), which dispatches to the
// capsule's default export (`globalThis.__astrid_capsule.default`, written by the IIFE bundle that
// follows). Every global is defined only when the engine does not already provide it.
//
// Host functions take one JSON argument and reply `{"ok": value}` or
// `{"error": {"code": string, "message": string}}`. They are synchronous as seen from JavaScript
// (the engine suspends the whole wasm stack while the host works), so a capsule call has no
// outside event that could wake it up: every promise settles through the job queue alone.
(() => {
  "use strict";
  const raw = globalThis.__astrid_host;
  // Bumped by every host call and timer change: the timer pump waits for it to stay still.
  let activity = 0;

  /** Calls one host function; throws the host's error with its code. */
  function hostCall(name, args) {
    activity++;
    const reply = JSON.parse(raw[name](JSON.stringify(args)));
    if (reply && typeof reply === "object" && "error" in reply) {
      const e = new Error(String(reply.error?.message ?? reply.error));
      e.code = String(reply.error?.code ?? "HOST_ERROR");
      throw e;
    }
    return reply?.ok ?? null;
  }
  /**
   * `hostCall` for a base64 payload without JSON copies of it (a 16 MiB file is 22 MiB of base64
   * against a 64 MiB heap): the engine encodes `bytes` straight into the JSON argument, as its
   * `content`, and decodes an `{"ok":"<base64>"}` reply in place into bytes.
   */
  function hostCallBase64(name, args, bytes = null) {
    activity++;
    const head = JSON.stringify(args);
    const arg = bytes
      ? base64Codec().encode(bytes, `${head.slice(0, -1)},"content":"`, '"}')
      : head;
    const reply = raw[name](arg);
    if (reply.startsWith('{"ok":"') && reply.endsWith('"}')) {
      return fromBase64(reply, 7, reply.length - 2);
    }
    const parsed = JSON.parse(reply);
    if (parsed && typeof parsed === "object" && "error" in parsed) {
      const e = new Error(String(parsed.error?.message ?? parsed.error));
      e.code = String(parsed.error?.code ?? "HOST_ERROR");
      throw e;
    }
    return parsed?.ok ?? null;
  }
  const later = (fn) => Promise.resolve().then(fn);
  const define = (name, value) => {
    if (globalThis[name] === undefined) {
      Object.defineProperty(globalThis, name, { value, writable: true, configurable: true });
    }
  };

  // ---- console -> log host function (dropped while initialising: no host calls then) ----
  const show = (v) => {
    if (typeof v === "string") return v;
    if (v instanceof Error) return `${v.name}: ${v.message}`;
    try {
      return JSON.stringify(v) ?? String(v);
    } catch {
      return String(v);
    }
  };
  const logAt = (level) => (...args) => {
    try {
      hostCall("log", { level, message: args.map(show).join(" ") });
    } catch {
      // initialising, or the host refused: console output is best effort
    }
  };
  globalThis.console = {
    log: logAt("info"),
    info: logAt("info"),
    warn: logAt("warn"),
    error: logAt("error"),
    debug: logAt("debug"),
    trace: logAt("debug"),
  };

  // ---- TextEncoder / TextDecoder (UTF-8 only) ----
  class TextEncoder {
    get encoding() {
      return "utf-8";
    }
    encode(input = "") {
      const s = String(input);
      const out = [];
      for (let i = 0; i < s.length; i++) {
        let c = s.charCodeAt(i);
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
          const d = s.charCodeAt(i + 1);
          if (d >= 0xdc00 && d <= 0xdfff) {
            c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            i++;
          }
        }
        if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
        if (c < 0x80) out.push(c);
        else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
        else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
        else {
          out.push(
            0xf0 | (c >> 18),
            0x80 | ((c >> 12) & 63),
            0x80 | ((c >> 6) & 63),
            0x80 | (c & 63),
          );
        }
      }
      return new Uint8Array(out);
    }
  }
  class TextDecoder {
    get encoding() {
      return "utf-8";
    }
    decode(input) {
      if (input === undefined) return "";
      const b = input instanceof Uint8Array
        ? input
        : ArrayBuffer.isView(input)
        ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
        : new Uint8Array(input);
      let s = "";
      for (let i = 0; i < b.length;) {
        const c = b[i++];
        let cp = 0xfffd;
        const need = c < 0x80 ? 0 : c >= 0xf0 && c < 0xf5 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : -1;
        if (need === 0) cp = c;
        else if (need > 0 && i + need <= b.length) {
          let v = c & (0x3f >> need);
          let ok = true;
          for (let k = 0; k < need; k++) {
            const n = b[i + k];
            if ((n & 0xc0) !== 0x80) ok = false;
            v = (v << 6) | (n & 63);
          }
          const min = [0, 0x80, 0x800, 0x10000][need];
          if (ok && v >= min && v <= 0x10ffff && !(v >= 0xd800 && v <= 0xdfff)) {
            cp = v;
            i += need;
          }
        }
        s += String.fromCodePoint(cp);
      }
      return s;
    }
  }
  define("TextEncoder", TextEncoder);
  define("TextDecoder", TextDecoder);
  const utf8 = new globalThis.TextEncoder();
  const fromUtf8 = new globalThis.TextDecoder();

  // ---- DOMException, Event, EventTarget (minimal: no capture or bubbling) ----
  const LEGACY_CODES = {
    IndexSizeError: 1,
    NotFoundError: 8,
    NotSupportedError: 9,
    InvalidStateError: 11,
    SyntaxError: 12,
    InvalidCharacterError: 5,
    NetworkError: 19,
    AbortError: 20,
    TimeoutError: 23,
    DataCloneError: 25,
  };
  class DOMException extends Error {
    constructor(message = "", options = "Error") {
      super(String(message));
      const name = typeof options === "object" && options !== null
        ? String(options.name ?? "Error")
        : String(options);
      Object.defineProperty(this, "name", { value: name, configurable: true, writable: true });
      if (typeof options === "object" && options !== null && "cause" in options) {
        Object.defineProperty(this, "cause", { value: options.cause, configurable: true });
      }
    }
    get code() {
      return LEGACY_CODES[this.name] ?? 0;
    }
  }
  define("DOMException", DOMException);
  const domError = (message, name) => new globalThis.DOMException(message, name);

  class Event {
    #stopped = false;
    constructor(type, init = {}) {
      if (arguments.length === 0) {
        throw new TypeError("Cannot create an Event: current value of type is missing");
      }
      this.type = String(type);
      this.bubbles = !!init.bubbles;
      this.cancelable = !!init.cancelable;
      this.composed = !!init.composed;
      this.defaultPrevented = false;
      this.target = null;
      this.currentTarget = null;
      this.timeStamp = Date.now();
      this.isTrusted = false;
    }
    preventDefault() {
      if (this.cancelable) this.defaultPrevented = true;
    }
    stopPropagation() {}
    stopImmediatePropagation() {
      this.#stopped = true;
    }
    get immediatePropagationStopped_() {
      return this.#stopped;
    }
  }
  class CustomEvent extends Event {
    constructor(type, init = {}) {
      super(type, init);
      this.detail = init.detail ?? null;
    }
  }
  class EventTarget {
    #listeners = new Map();
    addEventListener(type, listener, options) {
      if (listener === null || listener === undefined) return;
      const once = typeof options === "object" && options !== null && !!options.once;
      const signal = typeof options === "object" && options !== null ? options.signal : undefined;
      if (signal?.aborted) return;
      const list = this.#listeners.get(String(type)) ?? [];
      if (list.some((l) => l.listener === listener)) return;
      const entry = { listener, once };
      list.push(entry);
      this.#listeners.set(String(type), list);
      signal?.addEventListener?.("abort", () => this.removeEventListener(type, listener));
    }
    removeEventListener(type, listener) {
      const list = this.#listeners.get(String(type));
      if (!list) return;
      const i = list.findIndex((l) => l.listener === listener);
      if (i >= 0) list.splice(i, 1);
    }
    dispatchEvent(event) {
      if (!event || typeof event.type !== "string") {
        throw new TypeError("Cannot dispatch the event: current value is not an Event");
      }
      try {
        event.target = this;
        event.currentTarget = this;
      } catch { /* a frozen event keeps its fields */ }
      const handler = this[`on${event.type}`];
      const list = [...(this.#listeners.get(event.type) ?? [])];
      const run = (fn, self) => {
        try {
          fn.call(self, event);
        } catch (e) {
          console.error(e);
        }
      };
      if (typeof handler === "function") run(handler, this);
      for (const l of list) {
        if (event.immediatePropagationStopped_) break;
        if (l.once) this.removeEventListener(event.type, l.listener);
        if (typeof l.listener === "function") run(l.listener, this);
        else if (typeof l.listener?.handleEvent === "function") {
          run(l.listener.handleEvent, l.listener);
        }
      }
      return !event.defaultPrevented;
    }
  }
  define("Event", Event);
  define("CustomEvent", CustomEvent);
  define("EventTarget", EventTarget);

  // ---- timers on a virtual clock ----
  // A capsule call is a bounded computation, not an event loop: delays are not waited for in
  // real time. Timers armed during an entry call fire in order of their virtual due time, one at
  // a time, each once the call's other work has gone idle (no host call or timer change for
  // IDLE_TURNS turns of the job queue, LONG_IDLE_TURNS for a delay of 1000 ms or more: such
  // delays are mostly deadlines, which should fire only after all other work). JavaScript cannot
  // see the job queue, so a chain of more idle turns without a host call may still be overtaken
  // by a timer. A host call such as fetch() always completes before any timer of the same call
  // fires, and `await new Promise((r) => setTimeout(r, 1000))` resolves at once. An interval re-arms itself at due + delay until cleared. Timers stay armed
  // only while the entry call is in progress: when the entry's returned promise settles, every
  // pending timer is dropped (an uncleared interval cannot spin until the CPU deadline unless the
  // call itself never settles). While the module is being evaluated (Wizer), one-shot timers fire
  // after its jobs and intervals never fire.
  //
  // A service instance (the daemon's one long-lived instance per capsule with services,
  // runtime/daemon/gateway.ts) differs once the host's first `astrid:timers` call (fireTimers
  // below) marked it: the timers still pending when a call settles stay armed, and so do those
  // armed by a timer callback or after a call; they fire in real time, when the host calls
  // `astrid:timers` with the real ms elapsed since the instance began (the clock never runs
  // backwards). Inside a call, the call's own timers still fire on the virtual clock as above.
  // An interval re-arms at least SERVICE_MIN_DELAY_MS after it fired, and the host never fires
  // more often than that, so `setInterval(fn, 0)` cannot busy-loop.
  const IDLE_TURNS = 64;
  const LONG_IDLE_TURNS = 1024;
  const timers = new Map();
  let timerSeq = 0;
  let clock = 0;
  let call = null; // { settled: boolean } while an entry call is in progress
  let pumping = false;
  const SERVICE_MIN_DELAY_MS = 1000;
  let service = false; // a service instance: timers outlive the call that armed them
  let firing = false; // an `astrid:timers` call is running due callbacks (they arm real timers)
  const failures = []; // a service's timer callback errors, until the host's next look

  class Timeout {
    #id;
    constructor(id) {
      this.#id = id;
    }
    ref() {
      return this;
    }
    unref() {
      return this;
    }
    hasRef() {
      return true;
    }
    refresh() {
      const t = timers.get(this.#id);
      if (t) t.due = clock + t.delay;
      activity++;
      return this;
    }
    close() {
      timers.delete(this.#id);
      return this;
    }
    [Symbol.toPrimitive]() {
      return this.#id;
    }
  }
  const timerId = (handle) => (handle instanceof Timeout ? +handle : Number(handle));
  const arm = (fn, delay, args, repeat) => {
    if (typeof fn !== "function") {
      throw new TypeError(`Cannot set a timer: current value of the callback is ${typeof fn}`);
    }
    const id = ++timerSeq;
    const d = Math.max(repeat ? 1 : 0, Number(delay) || 0);
    // Intervals armed while the module is evaluated never fire (there is no call to bound them).
    if (repeat && !call && !service) return new Timeout(id);
    // In a service instance, a timer armed by a timer callback or outside a call is real-time.
    const owner = service && (firing || !call) ? null : call;
    timers.set(id, { fn, args, delay: d, due: clock + d, repeat, owner });
    activity++;
    if (owner || !service) pump();
    return new Timeout(id);
  };
  // The next timer the virtual clock may fire: in a service instance, only the call's own.
  const next = (all = false) => {
    let best = null;
    for (const [id, t] of timers) {
      if (!all && service && (call === null || t.owner !== call)) continue;
      if (!best || t.due < best[1].due || (t.due === best[1].due && id < best[0])) best = [id, t];
    }
    return best;
  };
  const idle = async (done) => {
    let seen = activity;
    const turns = () => ((next()?.[1].delay ?? 0) >= 1000 ? LONG_IDLE_TURNS : IDLE_TURNS);
    for (let quiet = 0; !done() && (quiet < IDLE_TURNS || quiet < turns());) {
      await undefined;
      if (activity !== seen) {
        seen = activity;
        quiet = 0;
      } else quiet++;
    }
  };
  function pump() {
    if (pumping) return;
    pumping = true;
    const owner = call;
    const done = () => call !== owner || (owner !== null && owner.settled) || next() === null;
    (async () => {
      try {
        for (;;) {
          await idle(done);
          if (done()) break;
          const [id, t] = next();
          if (t.repeat) t.due += t.delay;
          else timers.delete(id);
          clock = Math.max(clock, t.repeat ? t.due - t.delay : t.due);
          activity++;
          try {
            t.fn(...t.args);
          } catch (e) {
            console.error("Uncaught error in a timer callback:", e);
          }
        }
      } finally {
        pumping = false;
      }
    })();
  }
  globalThis.setTimeout = (fn, delay = 0, ...args) => arm(fn, delay, args, false);
  globalThis.setInterval = (fn, delay = 0, ...args) => arm(fn, delay, args, true);
  globalThis.clearTimeout = (handle) => {
    if (timers.delete(timerId(handle))) activity++;
  };
  globalThis.clearInterval = globalThis.clearTimeout;
  define("queueMicrotask", (fn) => void later(fn));
  const failure = (e) => {
    if (failures.length < 20) {
      failures.push(String(e instanceof Error ? e.message : e).slice(0, 500));
    }
  };
  /**
   * The `astrid:timers` entry of a service instance, `{ now, fire }` (`now`: real ms since the
   * instance began): marks the instance a service instance, moves the clock up to `now` and, when
   * `fire`, runs the timers due by then that were armed before this call, in due order (an
   * interval re-arms at least SERVICE_MIN_DELAY_MS later), returning as soon as they are called:
   * their promise jobs run before the engine returns. Replies `{ next, errors }`: ms from `now`
   * to the earliest armed timer (null: none) and the callback errors since the last reply.
   */
  const fireTimers = (input, owner) => {
    service = true;
    clock = Math.max(clock, Number(input?.now) || 0);
    if (input?.fire === true) {
      const due = [...timers].filter(([, t]) => t.owner !== owner && t.due <= clock)
        .sort(([a, x], [b, y]) => x.due - y.due || a - b);
      firing = true;
      try {
        for (const [id, t] of due) {
          if (timers.get(id) !== t) continue; // cleared by an earlier callback
          if (t.repeat) t.due = clock + Math.max(t.delay, SERVICE_MIN_DELAY_MS);
          else timers.delete(id);
          t.owner = null;
          activity++;
          try {
            const r = t.fn(...t.args);
            if (r && typeof r.then === "function") r.then(undefined, failure);
          } catch (e) {
            failure(e);
          }
        }
      } finally {
        firing = false;
      }
    }
    const n = next(true);
    return { next: n === null ? null : Math.max(0, n[1].due - clock), errors: failures.splice(0) };
  };

  // ---- AbortController / AbortSignal ----
  const SIGNAL_KEY = Symbol("astrid.signal");
  const ABORT = Symbol("astrid.abort");
  class AbortSignal extends globalThis.EventTarget {
    #aborted = false;
    #reason = undefined;
    constructor(key) {
      if (key !== SIGNAL_KEY) {
        throw new TypeError("Cannot construct an AbortSignal: use new AbortController().signal");
      }
      super();
      this.onabort = null;
    }
    get aborted() {
      return this.#aborted;
    }
    get reason() {
      return this.#reason;
    }
    throwIfAborted() {
      if (this.#aborted) throw this.#reason;
    }
    [ABORT](reason) {
      if (this.#aborted) return;
      this.#aborted = true;
      this.#reason = reason === undefined
        ? domError("This operation was aborted", "AbortError")
        : reason;
      this.dispatchEvent(new globalThis.Event("abort"));
    }
    static abort(reason) {
      const s = new AbortSignal(SIGNAL_KEY);
      s[ABORT](reason);
      return s;
    }
    static timeout(ms) {
      const s = new AbortSignal(SIGNAL_KEY);
      globalThis.setTimeout(
        () => s[ABORT](domError("The operation timed out.", "TimeoutError")),
        Number(ms) || 0,
      );
      return s;
    }
    static any(signals) {
      const s = new AbortSignal(SIGNAL_KEY);
      const list = [...signals];
      const hit = list.find((x) => x.aborted);
      if (hit) s[ABORT](hit.reason);
      else for (const x of list) x.addEventListener("abort", () => s[ABORT](x.reason));
      return s;
    }
  }
  class AbortController {
    #signal = new AbortSignal(SIGNAL_KEY);
    get signal() {
      return this.#signal;
    }
    abort(reason) {
      this.#signal[ABORT](reason);
    }
  }
  define("AbortSignal", AbortSignal);
  define("AbortController", AbortController);

  // ---- URLSearchParams and URL (WHATWG-style; no IDNA, no IPv4 number forms) ----
  const hex = (b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  /** Percent-encodes `s` (UTF-8), keeping the ASCII characters for which `keep(code)` holds. */
  const encodeSet = (s, keep) => {
    let out = "";
    for (const ch of String(s)) {
      const c = ch.codePointAt(0);
      if (c < 0x80 && keep(c, ch)) out += ch;
      else for (const b of utf8.encode(ch)) out += hex(b);
    }
    return out;
  };
  const pctDecode = (s) => {
    if (!s.includes("%")) return s;
    const bytes = [];
    for (let i = 0; i < s.length; i++) {
      const ch = s[i];
      if (ch === "%" && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
        bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
        i += 2;
      } else for (const b of utf8.encode(ch)) bytes.push(b);
    }
    return fromUtf8.decode(new Uint8Array(bytes));
  };
  const C0 = (c) => c > 0x1f && c < 0x7f;
  const FRAGMENT = (c, ch) => C0(c) && !' "<>`'.includes(ch);
  const QUERY = (c, ch) => C0(c) && !' "#<>'.includes(ch);
  const SPECIAL_QUERY = (c, ch) => QUERY(c, ch) && ch !== "'";
  const PATH = (c, ch) => QUERY(c, ch) && !"?^`{}".includes(ch);
  const USERINFO = (c, ch) => PATH(c, ch) && !"/:;=@[\\]|".includes(ch);
  const FORM = (c) =>
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
    c === 0x2a || c === 0x2d || c === 0x2e || c === 0x5f;
  const formEncode = (s) => encodeSet(s, FORM).replace(/%20/g, "+");
  const formDecode = (s) => pctDecode(s.replace(/\+/g, " "));

  const LIST = Symbol("astrid.list");
  const LINK = Symbol("astrid.link");
  const hide = (obj) => {
    for (const k of [LIST, LINK]) {
      Object.defineProperty(obj, k, { value: null, writable: true, enumerable: false });
    }
  };
  const parseForm = (s) => {
    const out = [];
    for (const part of s.split("&")) {
      if (part === "") continue;
      const eq = part.indexOf("=");
      const name = eq < 0 ? part : part.slice(0, eq);
      const value = eq < 0 ? "" : part.slice(eq + 1);
      out.push([formDecode(name), formDecode(value)]);
    }
    return out;
  };
  class URLSearchParams {
    constructor(init = "") {
      hide(this);
      this[LIST] = [];
      if (init instanceof URLSearchParams) this[LIST] = init[LIST].map(([k, v]) => [k, v]);
      else if (typeof init === "object" && init !== null && Symbol.iterator in init) {
        for (const pair of init) {
          const p = [...pair];
          if (p.length !== 2) {
            throw new TypeError(
              `Cannot build URLSearchParams: current pair has ${p.length} items, not 2`,
            );
          }
          this[LIST].push([String(p[0]), String(p[1])]);
        }
      } else if (typeof init === "object" && init !== null) {
        for (const k of Object.keys(init)) this[LIST].push([k, String(init[k])]);
      } else {
        const s = String(init ?? "");
        this[LIST] = parseForm(s.startsWith("?") ? s.slice(1) : s);
      }
    }
    #changed() {
      this[LINK]?.(this.toString());
    }
    get size() {
      return this[LIST].length;
    }
    append(name, value) {
      this[LIST].push([String(name), String(value)]);
      this.#changed();
    }
    delete(name, value) {
      const n = String(name);
      this[LIST] = this[LIST].filter(([k, v]) =>
        k !== n || (value !== undefined && v !== String(value))
      );
      this.#changed();
    }
    get(name) {
      const hit = this[LIST].find(([k]) => k === String(name));
      return hit ? hit[1] : null;
    }
    getAll(name) {
      return this[LIST].filter(([k]) => k === String(name)).map(([, v]) => v);
    }
    has(name, value) {
      return this[LIST].some(([k, v]) =>
        k === String(name) && (value === undefined || v === String(value))
      );
    }
    set(name, value) {
      const n = String(name);
      const i = this[LIST].findIndex(([k]) => k === n);
      if (i < 0) this[LIST].push([n, String(value)]);
      else {
        this[LIST][i] = [n, String(value)];
        this[LIST] = this[LIST].filter(([k], j) => j <= i || k !== n);
      }
      this.#changed();
    }
    sort() {
      this[LIST] = this[LIST]
        .map((p, i) => [p, i])
        .sort((a, b) => (a[0][0] < b[0][0] ? -1 : a[0][0] > b[0][0] ? 1 : a[1] - b[1]))
        .map(([p]) => p);
      this.#changed();
    }
    forEach(fn, self) {
      for (const [k, v] of this[LIST]) fn.call(self, v, k, this);
    }
    *entries() {
      for (const [k, v] of this[LIST]) yield [k, v];
    }
    *keys() {
      for (const [k] of this[LIST]) yield k;
    }
    *values() {
      for (const [, v] of this[LIST]) yield v;
    }
    [Symbol.iterator]() {
      return this.entries();
    }
    toString() {
      return this[LIST].map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`).join("&");
    }
  }

  const SPECIAL = {
    "http:": "80",
    "https:": "443",
    "ws:": "80",
    "wss:": "443",
    "ftp:": "21",
    "file:": "",
  };
  const invalid = (input) => new TypeError(`Cannot parse the URL: current value is "${input}"`);
  const normPath = (rawPath, special) => {
    const p = special ? rawPath.replace(/\\/g, "/") : rawPath;
    if (p === "") return special ? "/" : "";
    const segs = (p.startsWith("/") ? p : `/${p}`).split("/");
    const out = [];
    for (let i = 1; i < segs.length; i++) {
      const low = segs[i].toLowerCase();
      const last = i === segs.length - 1;
      if (low === ".." || low === ".%2e" || low === "%2e." || low === "%2e%2e") {
        out.pop();
        if (last) out.push("");
      } else if (low === "." || low === "%2e") {
        if (last) out.push("");
      } else out.push(encodeSet(segs[i], PATH));
    }
    return `/${out.join("/")}`;
  };
  const parseHost = (h, special, input) => {
    if (h.startsWith("[")) {
      if (!/^\[[0-9a-fA-F:.]+\]$/.test(h)) throw invalid(input);
      return h.toLowerCase();
    }
    if (!special) {
      // deno-lint-ignore no-control-regex -- forbidden host code points (WHATWG URL)
      if (/[\u0000\t\n\r #/<>?@[\\\]^|]/.test(h)) throw invalid(input);
      return encodeSet(h, C0);
    }
    const d = pctDecode(h).toLowerCase();
    if (/[^\u0021-\u007e]/.test(d)) {
      throw new TypeError(
        `Cannot parse the URL: current host "${d}" needs IDNA, which this sandbox lacks`,
      );
    }
    // deno-lint-ignore no-control-regex -- forbidden domain code points (WHATWG URL)
    if (/[\u0000-\u0020#%/:<>?@[\\\]^|]/.test(d)) throw invalid(input);
    return d;
  };
  /** Splits `rest` ("[path][?query][#hash]") into parts with their encodings. */
  const parseTail = (rec, rest, special) => {
    const hashAt = rest.indexOf("#");
    const beforeHash = hashAt < 0 ? rest : rest.slice(0, hashAt);
    rec.hash = hashAt < 0 ? "" : `#${encodeSet(rest.slice(hashAt + 1), FRAGMENT)}`;
    const qAt = beforeHash.indexOf("?");
    const path = qAt < 0 ? beforeHash : beforeHash.slice(0, qAt);
    rec.search = qAt < 0
      ? ""
      : `?${encodeSet(beforeHash.slice(qAt + 1), special ? SPECIAL_QUERY : QUERY)}`;
    return path;
  };
  const withAuthority = (protocol, rest, input) => {
    const special = protocol in SPECIAL;
    const end = rest.search(special ? /[/\\?#]/ : /[/?#]/);
    const auth = end < 0 ? rest : rest.slice(0, end);
    const tail = end < 0 ? "" : rest.slice(end);
    const at = auth.lastIndexOf("@");
    const userinfo = at < 0 ? "" : auth.slice(0, at);
    const hostport = at < 0 ? auth : auth.slice(at + 1);
    const colon = userinfo.indexOf(":");
    const m = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(hostport);
    if (!m) throw invalid(input);
    const port = m[2] ?? "";
    if (!/^\d*$/.test(port) || (port !== "" && Number(port) > 65535)) throw invalid(input);
    let hostname = parseHost(m[1], special, input);
    if (protocol === "file:" && hostname === "localhost") hostname = "";
    if (special && protocol !== "file:" && hostname === "") throw invalid(input);
    const rec = {
      protocol,
      username: encodeSet(colon < 0 ? userinfo : userinfo.slice(0, colon), USERINFO),
      password: colon < 0 ? "" : encodeSet(userinfo.slice(colon + 1), USERINFO),
      hostname,
      port: port === "" || String(Number(port)) === SPECIAL[protocol] ? "" : String(Number(port)),
      opaque: false,
    };
    rec.pathname = normPath(parseTail(rec, tail, special), special);
    return rec;
  };
  const parseURL = (input, base) => {
    // deno-lint-ignore no-control-regex -- leading and trailing C0 controls and spaces are dropped
    const s = String(input).replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, "").replace(
      /[\t\n\r]/g,
      "",
    );
    const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(s);
    if (m) {
      const protocol = `${m[1].toLowerCase()}:`;
      const rest = s.slice(m[0].length);
      const special = protocol in SPECIAL;
      if (special && protocol !== "file:" && base?.protocol === protocol && !/^[/\\]/.test(rest)) {
        return parseURL(rest, base);
      }
      if (protocol === "file:") {
        if (/^[/\\]{2}/.test(rest)) return withAuthority(protocol, rest.slice(2), input);
        return withAuthority(protocol, rest.startsWith("/") ? rest : `/${rest}`, input);
      }
      if (special) return withAuthority(protocol, rest.replace(/^[/\\]*/, ""), input);
      if (rest.startsWith("//")) return withAuthority(protocol, rest.slice(2), input);
      const rec = { protocol, username: "", password: "", hostname: null, port: "" };
      const path = parseTail(rec, rest, false);
      rec.opaque = !path.startsWith("/");
      rec.pathname = rec.opaque ? encodeSet(path, C0) : normPath(path, false);
      return rec;
    }
    if (!base) throw invalid(input);
    const special = base.protocol in SPECIAL;
    if (base.opaque) {
      if (!s.startsWith("#")) throw invalid(input);
      return { ...base, hash: `#${encodeSet(s.slice(1), FRAGMENT)}` };
    }
    if (special ? /^[/\\]{2}/.test(s) : s.startsWith("//")) {
      return withAuthority(base.protocol, s.slice(2), input);
    }
    const rec = { ...base };
    if (s === "") return { ...rec, hash: "" };
    if (s.startsWith("#")) return { ...rec, hash: `#${encodeSet(s.slice(1), FRAGMENT)}` };
    const path = parseTail(rec, s, special);
    if (path === "") return rec;
    if (/^[/]/.test(path) || (special && path.startsWith("\\"))) {
      rec.pathname = normPath(path, special);
    } else {
      const dir = base.pathname.slice(0, base.pathname.lastIndexOf("/") + 1) || "/";
      rec.pathname = normPath(dir + path, special);
    }
    return rec;
  };
  const toBase = (base) =>
    base === undefined ? undefined : base instanceof URL ? base[LIST] : parseURL(String(base));
  const hrefOf = (r) => {
    const cred = r.username || r.password
      ? `${r.username}${r.password ? `:${r.password}` : ""}@`
      : "";
    const authority = r.hostname === null
      ? (!r.opaque && r.pathname.startsWith("//") ? "/." : "")
      : `//${cred}${r.hostname}${r.port ? `:${r.port}` : ""}`;
    return `${r.protocol}${authority}${r.pathname}${r.search}${r.hash}`;
  };

  class URL {
    constructor(input, base) {
      hide(this);
      this[LIST] = parseURL(input instanceof URL ? input.href : String(input), toBase(base));
      this[LINK] = new URLSearchParams(this[LIST].search);
      this.#link();
    }
    #link() {
      this[LINK][LINK] = (query) => {
        this[LIST].search = query === "" ? "" : `?${query}`;
      };
    }
    #reset() {
      this[LINK][LIST] = new URLSearchParams(this[LIST].search)[LIST];
    }
    static canParse(input, base) {
      try {
        parseURL(String(input), toBase(base));
        return true;
      } catch {
        return false;
      }
    }
    static parse(input, base) {
      try {
        return new URL(input, base);
      } catch {
        return null;
      }
    }
    get href() {
      return hrefOf(this[LIST]);
    }
    set href(v) {
      this[LIST] = parseURL(String(v));
      this.#reset();
    }
    get protocol() {
      return this[LIST].protocol;
    }
    set protocol(v) {
      const p = `${String(v).replace(/:.*$/, "").toLowerCase()}:`;
      if (!/^[a-z][a-z0-9+.-]*:$/.test(p)) return;
      if ((p in SPECIAL) !== (this[LIST].protocol in SPECIAL)) return;
      this[LIST].protocol = p;
      if (SPECIAL[p] === this[LIST].port) this[LIST].port = "";
    }
    get username() {
      return this[LIST].username;
    }
    set username(v) {
      if (this[LIST].hostname) this[LIST].username = encodeSet(v, USERINFO);
    }
    get password() {
      return this[LIST].password;
    }
    set password(v) {
      if (this[LIST].hostname) this[LIST].password = encodeSet(v, USERINFO);
    }
    get hostname() {
      return this[LIST].hostname ?? "";
    }
    set hostname(v) {
      if (this[LIST].opaque) return;
      try {
        this[LIST].hostname = parseHost(String(v), this[LIST].protocol in SPECIAL, v);
      } catch { /* an invalid host leaves the URL unchanged */ }
    }
    get port() {
      return this[LIST].port;
    }
    set port(v) {
      const s = String(v);
      if (s === "") this[LIST].port = "";
      const d = /^\d+/.exec(s)?.[0];
      if (d !== undefined && Number(d) <= 65535) {
        this[LIST].port = String(Number(d)) === SPECIAL[this[LIST].protocol]
          ? ""
          : String(Number(d));
      }
    }
    get host() {
      const r = this[LIST];
      return r.hostname === null ? "" : r.port ? `${r.hostname}:${r.port}` : r.hostname;
    }
    set host(v) {
      const m = /^(\[[^\]]*\]|[^:/?#]*)(?::(\d*))?/.exec(String(v));
      if (!m) return;
      this.hostname = m[1];
      if (m[2] !== undefined) this.port = m[2];
    }
    get origin() {
      const r = this[LIST];
      return r.protocol in SPECIAL && r.protocol !== "file:"
        ? `${r.protocol}//${this.host}`
        : "null";
    }
    get pathname() {
      return this[LIST].pathname;
    }
    set pathname(v) {
      if (this[LIST].opaque) return;
      this[LIST].pathname = normPath(String(v), this[LIST].protocol in SPECIAL);
    }
    get search() {
      return this[LIST].search.length > 1 ? this[LIST].search : "";
    }
    set search(v) {
      const s = String(v).replace(/^\?/, "");
      const set = this[LIST].protocol in SPECIAL ? SPECIAL_QUERY : QUERY;
      this[LIST].search = s === "" ? "" : `?${encodeSet(s, set)}`;
      this.#reset();
    }
    get searchParams() {
      return this[LINK];
    }
    get hash() {
      return this[LIST].hash.length > 1 ? this[LIST].hash : "";
    }
    set hash(v) {
      const s = String(v).replace(/^#/, "");
      this[LIST].hash = s === "" ? "" : `#${encodeSet(s, FRAGMENT)}`;
    }
    toString() {
      return this.href;
    }
    toJSON() {
      return this.href;
    }
  }
  define("URLSearchParams", URLSearchParams);
  define("URL", URL);

  // ---- crypto.randomUUID over the engine's crypto.getRandomValues (host CSPRNG) ----
  if (globalThis.crypto && !globalThis.crypto.randomUUID) {
    globalThis.crypto.randomUUID = () => {
      const b = globalThis.crypto.getRandomValues(new Uint8Array(16));
      b[6] = (b[6] & 0x0f) | 0x40;
      b[8] = (b[8] & 0x3f) | 0x80;
      const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${
        h.slice(20)
      }`;
    };
  }

  // ---- base64: atob / btoa, and bytes <-> base64 for binary data through the host functions ----
  // The engine does the work in C (toolchain/engine/engine.c, `__astrid_base64`: QuickJS has no
  // base64 of its own and an interpreted codec dominated binary I/O); the prelude keeps the two
  // functions and takes the global away from capsule code.
  const native64 = globalThis.__astrid_base64;
  delete globalThis.__astrid_base64;
  const base64Codec = () => {
    if (!native64) {
      throw new Error(
        "Cannot use base64: the capsule engine has no native codec (rebuild it with " +
          "`deno task engine`, then recompile the capsule)",
      );
    }
    return native64;
  };
  // Forgiving base64 (the HTML standard's), Latin-1 strings.
  define("btoa", (input) => {
    const out = base64Codec().encode(String(input));
    if (out === null) {
      throw domError(
        "Cannot encode to base64: a character is outside Latin-1",
        "InvalidCharacterError",
      );
    }
    return out;
  });
  define("atob", (input) => {
    const out = base64Codec().decode(String(input), 0, undefined, true);
    if (out === null) {
      throw domError(
        "Cannot decode base64: the input is not valid base64",
        "InvalidCharacterError",
      );
    }
    return out;
  });

  // Standard padded base64 (RFC 4648 §4), the form the host's `encoding: "base64"` arguments and
  // results use, decoded exactly as strictly as the host decodes it (no whitespace, no missing
  // padding, no stray padding bits).
  /** A view of `data`'s bytes (no copy), or null when it is not binary. */
  const bytesOf = (data) =>
    data instanceof Uint8Array
      ? data
      : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : null;
  const toBase64 = (bytes) => base64Codec().encode(bytes);
  // The bytes of text[start, stop), read in place (no copy of a large reply).
  const fromBase64 = (text, start = 0, stop = undefined) => {
    const bytes = base64Codec().decode(String(text), start, stop);
    if (bytes === null) throw new TypeError("Cannot decode base64: the input is not valid base64");
    return bytes;
  };

  // ---- structuredClone (plain data, Date, RegExp, Map, Set, ArrayBuffer, typed arrays, Error) ----
  define("structuredClone", (value) => {
    const seen = new Map();
    const copy = (v) => {
      if (typeof v === "function" || typeof v === "symbol") {
        throw domError(`Cannot clone a ${typeof v}`, "DataCloneError");
      }
      if (v === null || typeof v !== "object") return v;
      if (seen.has(v)) return seen.get(v);
      let out;
      if (v instanceof Date) out = new Date(v.getTime());
      else if (v instanceof RegExp) out = new RegExp(v.source, v.flags);
      else if (v instanceof ArrayBuffer) out = v.slice(0);
      else if (ArrayBuffer.isView(v)) {
        out = new v.constructor(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
      } else if (v instanceof Map) {
        out = new Map();
        seen.set(v, out);
        for (const [k, x] of v) out.set(copy(k), copy(x));
        return out;
      } else if (v instanceof Set) {
        out = new Set();
        seen.set(v, out);
        for (const x of v) out.add(copy(x));
        return out;
      } else if (v instanceof Error) {
        out = new Error(v.message);
        out.name = v.name;
      } else if (Array.isArray(v)) {
        out = [];
        seen.set(v, out);
        for (let i = 0; i < v.length; i++) out[i] = copy(v[i]);
        return out;
      } else {
        out = {};
        seen.set(v, out);
        for (const k of Object.keys(v)) out[k] = copy(v[k]);
        return out;
      }
      seen.set(v, out);
      return out;
    };
    return copy(value);
  });

  // ---- host API ----
  const api = {
    fs: {
      readFile: (path) => later(() => hostCall("read-file", { path: String(path) })),
      // The exact bytes (base64 over the host boundary).
      readFileBytes: (path) =>
        later(() => hostCallBase64("read-file", { path: String(path), encoding: "base64" })),
      // A string is written as UTF-8; an ArrayBuffer or typed array as its exact bytes.
      writeFile: (path, content) =>
        later(() => {
          const bytes = bytesOf(content);
          return bytes
            ? hostCallBase64("write-file", { path: String(path), encoding: "base64" }, bytes)
            : hostCall("write-file", { path: String(path), content: String(content) });
        }),
      exists: (path) => later(() => hostCall("fs-exists", { path: String(path) })),
      mkdir: (path, opts = {}) =>
        later(() => hostCall("fs-mkdir", { path: String(path), recursive: !!opts.recursive })),
      readdir: (path) => later(() => hostCall("fs-readdir", { path: String(path) })),
      stat: (path) => later(() => hostCall("fs-stat", { path: String(path) })),
      unlink: (path) => later(() => hostCall("fs-unlink", { path: String(path) })),
    },
    http: {
      // A binary body (ArrayBuffer or typed array) is sent byte for byte; a body the host returns
      // as base64 (`responseEncoding` "base64", or "auto" and not UTF-8) comes back as bytes.
      request: (req) =>
        later(() => {
          const bytes = bytesOf(req?.body);
          const res = hostCall(
            "http-request",
            bytes ? { ...req, body: toBase64(bytes), bodyEncoding: "base64" } : req,
          );
          return res?.bodyEncoding === "base64" ? { ...res, body: fromBase64(res.body) } : res;
        }),
    },
    kv: {
      get: (key) => later(() => hostCall("kv-get", { key: String(key) })),
      set: (key, value) => later(() => hostCall("kv-set", { key: String(key), value })),
    },
    config: {
      get: (key) => later(() => hostCall("get-config", { key: String(key) })),
      // An approved action: the host asks the human (or a rule) first; the value is not coerced,
      // so a non-string is refused by the host rather than silently stringified.
      set: (key, value) =>
        typeof raw?.["set-config"] === "function"
          ? later(() => hostCall("set-config", { key: String(key), value }))
          : Promise.reject(
            new Error(
              "Cannot change config from this capsule: this engine has no set-config host function",
            ),
          ),
    },
    llm: {
      complete: (req) =>
        typeof raw?.["llm-complete"] === "function"
          ? later(() => hostCall("llm-complete", req))
          : Promise.reject(
            new Error(
              "Cannot call the model from this capsule: this engine has no llm-complete host function",
            ),
          ),
    },
    log: (level, message) => later(() => hostCall("log", { level, message: String(message) })),
  };
  for (const part of [api.fs, api.http, api.kv, api.config, api.llm]) Object.freeze(part);
  Object.defineProperty(globalThis, "__astrid_api", { value: Object.freeze(api) });

  // ---- Headers, Request, Response, fetch over http-request ----
  const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  const headerName = (name) => {
    const n = String(name);
    if (!TOKEN.test(n)) throw new TypeError(`Cannot use the header name: current value is "${n}"`);
    return n.toLowerCase();
  };
  const headerValue = (v) => String(v).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
  class Headers {
    #map = new Map();
    constructor(init) {
      if (init === undefined || init === null) return;
      if (init instanceof Headers) {
        for (const [k, vs] of init.#map) this.#map.set(k, [...vs]);
      } else if (typeof init === "object" && Symbol.iterator in init) {
        for (const pair of init) {
          const p = [...pair];
          if (p.length !== 2) {
            throw new TypeError(`Cannot build Headers: current pair has ${p.length} items, not 2`);
          }
          this.append(p[0], p[1]);
        }
      } else if (typeof init === "object") {
        for (const k of Object.keys(init)) this.append(k, init[k]);
      } else throw new TypeError(`Cannot build Headers: current value is ${typeof init}`);
    }
    append(name, value) {
      const k = headerName(name);
      const list = this.#map.get(k) ?? [];
      list.push(headerValue(value));
      this.#map.set(k, list);
    }
    delete(name) {
      this.#map.delete(headerName(name));
    }
    get(name) {
      const list = this.#map.get(headerName(name));
      return list ? list.join(", ") : null;
    }
    getSetCookie() {
      return [...(this.#map.get("set-cookie") ?? [])];
    }
    has(name) {
      return this.#map.has(headerName(name));
    }
    set(name, value) {
      this.#map.set(headerName(name), [headerValue(value)]);
    }
    forEach(fn, self) {
      for (const [k, v] of this) fn.call(self, v, k, this);
    }
    *entries() {
      for (const k of [...this.#map.keys()].sort()) {
        const list = this.#map.get(k);
        if (k === "set-cookie") { for (const v of list) yield [k, v]; }
        else yield [k, list.join(", ")];
      }
    }
    *keys() {
      for (const [k] of this.entries()) yield k;
    }
    *values() {
      for (const [, v] of this.entries()) yield v;
    }
    [Symbol.iterator]() {
      return this.entries();
    }
  }
  define("Headers", Headers);
  const H = globalThis.Headers;

  // ---- Blob, File (in memory: the bytes are held whole) ----
  const BLOB_BYTES = new WeakMap();
  class Blob {
    #type;
    constructor(parts = [], options = {}) {
      if (typeof parts !== "object" || parts === null || !(Symbol.iterator in parts)) {
        throw new TypeError("Cannot build a Blob: current parts are not iterable");
      }
      const chunks = [];
      let size = 0;
      for (const part of parts) {
        const b = BLOB_BYTES.get(part) ?? bytesOf(part) ?? utf8.encode(String(part));
        chunks.push(b);
        size += b.length;
      }
      const bytes = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) bytes.set(c, (at += c.length) - c.length);
      BLOB_BYTES.set(this, bytes);
      const type = String(options?.type ?? "");
      this.#type = /^[\x20-\x7e]*$/.test(type) ? type.toLowerCase() : "";
    }
    get size() {
      return BLOB_BYTES.get(this).length;
    }
    get type() {
      return this.#type;
    }
    bytes() {
      return Promise.resolve(BLOB_BYTES.get(this).slice());
    }
    arrayBuffer() {
      return Promise.resolve(BLOB_BYTES.get(this).slice().buffer);
    }
    text() {
      return Promise.resolve(fromUtf8.decode(BLOB_BYTES.get(this)));
    }
    slice(start = 0, end = this.size, type = "") {
      return new Blob([BLOB_BYTES.get(this).subarray(start, end)], { type });
    }
  }
  define("Blob", Blob);
  class File extends globalThis.Blob {
    constructor(parts, name, options = {}) {
      super(parts, options);
      this.name = String(name);
      this.lastModified = Number(options?.lastModified ?? globalThis.Date.now());
    }
  }
  define("File", File);

  /**
   * The body (a string, or a Uint8Array copy of binary data) and the content type it implies
   * (null when the caller must choose).
   */
  const bodyText = (body) => {
    if (body === undefined || body === null) return [null, null];
    if (typeof body === "string") return [body, "text/plain;charset=UTF-8"];
    if (body instanceof globalThis.URLSearchParams) {
      return [body.toString(), "application/x-www-form-urlencoded;charset=UTF-8"];
    }
    const blob = BLOB_BYTES.get(body);
    if (blob) return [blob.slice(), body.type || null];
    const bytes = bytesOf(body);
    if (bytes) return [bytes.slice(), null];
    return [String(body), "text/plain;charset=UTF-8"];
  };
  const consume = (self) => {
    if (self.bodyUsed_) {
      return Promise.reject(new TypeError("Cannot read the body: it has already been read"));
    }
    self.bodyUsed_ = true;
    return Promise.resolve(self.body_ ?? "");
  };
  // The decoded text drops a leading byte order mark, as the web's "UTF-8 decode" does.
  const asText = (b) => {
    const t = typeof b === "string" ? b : fromUtf8.decode(b);
    return t.charCodeAt(0) === 0xfeff ? t.slice(1) : t;
  };
  const asBytes = (b) => (typeof b === "string" ? utf8.encode(b) : b.slice());
  const bodyMethods = (proto) => {
    Object.defineProperty(proto, "bodyUsed", {
      get() {
        return !!this.bodyUsed_;
      },
    });
    proto.text = function () {
      return consume(this).then(asText);
    };
    proto.json = function () {
      return this.text().then((t) => JSON.parse(t));
    };
    proto.arrayBuffer = function () {
      return consume(this).then((b) => asBytes(b).buffer);
    };
    proto.bytes = function () {
      return consume(this).then(asBytes);
    };
    proto.blob = function () {
      const type = this.headers.get("content-type") ?? "";
      return consume(this).then((b) => new globalThis.Blob([asBytes(b)], { type }));
    };
  };
  const METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"];
  class Request {
    constructor(input, init = {}) {
      const from = input instanceof Request ? input : null;
      this.url = from ? from.url : new globalThis.URL(String(input)).href;
      const m = String(init.method ?? from?.method ?? "GET");
      this.method = METHODS.includes(m.toUpperCase()) ? m.toUpperCase() : m;
      this.headers = new H(init.headers ?? from?.headers);
      const [text, type] = init.body !== undefined
        ? bodyText(init.body)
        : [from?.body_ ?? null, null];
      if (text !== null && (this.method === "GET" || this.method === "HEAD")) {
        throw new TypeError(`Cannot build the request: a ${this.method} request has no body`);
      }
      if (type && !this.headers.has("content-type")) this.headers.set("content-type", type);
      this.body_ = text;
      this.signal = init.signal ?? from?.signal ?? new globalThis.AbortController().signal;
      this.redirect = init.redirect ?? from?.redirect ?? "follow";
      this.credentials = init.credentials ?? from?.credentials ?? "same-origin";
      this.cache = init.cache ?? from?.cache ?? "default";
      this.mode = init.mode ?? from?.mode ?? "cors";
      this.referrer = "about:client";
    }
    get body() {
      return null;
    }
    clone() {
      if (this.bodyUsed) throw new TypeError("Cannot clone the request: its body has been read");
      return new Request(this);
    }
  }
  bodyMethods(Request.prototype);
  class Response {
    constructor(body = null, init = {}) {
      const status = init.status ?? 200;
      if (!Number.isInteger(status) || ((status < 200 || status > 599) && status !== 0)) {
        throw new RangeError(`Cannot build the response: current status is ${status}`);
      }
      const [text, type] = bodyText(body);
      this.body_ = text;
      this.status = status;
      this.statusText = String(init.statusText ?? "");
      this.headers = new H(init.headers);
      if (type && !this.headers.has("content-type")) this.headers.set("content-type", type);
      this.url = String(init.url ?? "");
      this.type = init.type_ ?? "default";
      this.redirected = false;
    }
    get ok() {
      return this.status >= 200 && this.status < 300;
    }
    get body() {
      return null;
    }
    clone() {
      if (this.bodyUsed) throw new TypeError("Cannot clone the response: its body has been read");
      const copy = new Response(null, {
        status: this.status,
        statusText: this.statusText,
        headers: this.headers,
        url: this.url,
      });
      copy.body_ = this.body_;
      return copy;
    }
    static json(data, init = {}) {
      const headers = new H(init.headers);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
      return new Response(JSON.stringify(data), { ...init, headers });
    }
    static error() {
      return new Response(null, { status: 0, type_: "error" });
    }
    static redirect(url, status = 302) {
      return new Response(null, { status, headers: { location: new globalThis.URL(url).href } });
    }
  }
  bodyMethods(Response.prototype);
  define("Request", Request);
  define("Response", Response);

  globalThis.fetch = async (input, init = {}) => {
    const req = new globalThis.Request(input, init);
    if (req.signal?.aborted) {
      throw req.signal.reason ?? domError("This operation was aborted", "AbortError");
    }
    const headers = {};
    for (const [k, v] of req.headers) headers[k] = v;
    const body = req.body_;
    // "auto": a UTF-8 body comes as text, anything else as its exact bytes.
    const res = await api.http.request({
      url: req.url,
      method: req.method,
      headers,
      responseEncoding: "auto",
      ...(body === null || body === undefined ? {} : { body }),
    });
    if (req.signal?.aborted) {
      throw req.signal.reason ?? domError("This operation was aborted", "AbortError");
    }
    return new globalThis.Response(res.body ?? "", {
      status: res.status,
      headers: res.headers ?? {},
      url: req.url,
    });
  };

  // ---- entry object for the engine ----
  const capsule = () => {
    const c = globalThis.__astrid_capsule?.default;
    if (!c || typeof c !== "object") {
      throw new Error(
        "Cannot find the capsule: its module has no default export from defineCapsule()",
      );
    }
    return c;
  };
  const own = (obj, key) =>
    obj && Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
  const ctx = Object.freeze({ log: (message) => api.log("info", message) });
  const result = (v) => JSON.stringify(v === undefined ? null : v);
  // A definition may carry `prepare()`: awaited once per instance before its first entry call
  // (the OpenClaw adapter registers the plugin there, when host calls are possible).
  let prepared = null;
  const ready = () => {
    const c = capsule();
    if (typeof c.prepare === "function") prepared ??= Promise.resolve().then(() => c.prepare());
    return prepared ? prepared.then(() => c) : c;
  };
  /**
   * Runs one entry call: its timers live until the returned promise settles (in a service
   * instance they stay armed: see the timers section).
   */
  const entry = (run) => {
    const owner = { settled: false };
    call = owner;
    if (!service) {
      timers.clear();
      clock = 0;
    }
    const done = () => {
      owner.settled = true;
      if (call === owner) {
        call = null;
        if (!service) timers.clear();
      }
    };
    const p = (async () => run(await ready()))();
    p.then(done, done);
    return p;
  };
  const emit = (chunk) => {
    if (typeof raw?.["llm-emit"] === "function") hostCall("llm-emit", chunk);
  };

  globalThis.__astrid = Object.freeze({
    describe() {
      return entry((c) =>
        JSON.stringify({
          tools: Object.entries(c.tools ?? {}).map(([name, t]) => ({
            name,
            description: String(t.description ?? ""),
            input_schema: t.input ?? { type: "object" },
          })),
          hooks: Object.keys(c.hooks ?? {}),
          cron: Object.keys(c.cron ?? {}),
          commands: Object.entries(c.commands ?? {}).map(([name, cmd]) => ({
            name,
            description: String(cmd.description ?? ""),
            acceptsArgs: !!cmd.acceptsArgs,
          })),
          providers: Object.entries(c.providers ?? {}).map(([id, p]) => ({
            id,
            models: Array.isArray(p.models) ? p.models : [],
          })),
          notes: (Array.isArray(c.notes) ? c.notes : []).map(String),
          ...(c.config && typeof c.config === "object" ? { config: c.config } : {}),
        })
      );
    },
    call_tool(input) {
      const { name, args } = JSON.parse(input);
      return entry(async (c) => {
        const tool = own(c.tools, name);
        if (!tool) {
          throw new Error(`Cannot call tool ${name}: current value is not a tool of this capsule`);
        }
        return result(await tool.run(args ?? {}, ctx));
      });
    },
    on_hook(input) {
      const { hook, payload } = JSON.parse(input);
      if (hook === "astrid:timers") {
        const owner = { settled: false };
        call = owner;
        try {
          return JSON.stringify(fireTimers(payload, owner));
        } finally {
          owner.settled = true;
          if (call === owner) call = null;
        }
      }
      return entry(async (c) => {
        const name = String(hook);
        if (name.startsWith("command:")) {
          const cmd = own(c.commands, name.slice(8));
          if (!cmd) {
            throw new Error(`Cannot run ${name}: current value is not a command of this capsule`);
          }
          return result(await cmd.run(payload?.args ?? "", ctx));
        }
        if (name.startsWith("llm_provider:")) {
          const provider = own(c.providers, name.slice(13));
          if (!provider) {
            throw new Error(`Cannot run ${name}: current value is not a provider of this capsule`);
          }
          return result(await provider.complete(payload ?? null, { ...ctx, emit }));
        }
        const fn = own(c.hooks, name);
        if (!fn) {
          throw new Error(`Cannot run hook ${name}: current value is not a hook of this capsule`);
        }
        return result(await fn(payload ?? null, ctx));
      });
    },
    on_cron(input) {
      const { name } = JSON.parse(input);
      return entry(async (c) => {
        const fn = own(c.cron, name);
        if (!fn) {
          throw new Error(
            `Cannot run cron ${name}: current value is not a cron job of this capsule`,
          );
        }
        return result(await fn(ctx));
      });
    },
  });
})();
