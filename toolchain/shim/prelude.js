// Astrid capsule prelude: prepended to every capsule bundle by toolchain/compile.ts and evaluated
// by the engine (QuickJS) inside wizer.initialize, before the capsule's own code.
//
// It provides what QuickJS lacks (console, TextEncoder/TextDecoder, a minimal URL, fetch over the
// gated http-request host function, timers that run as soon as the current job ends) and the
// host API (`globalThis.__astrid_api`, wrapped by toolchain/sdk/mod.ts), then defines the entry
// object the engine calls (`globalThis.__astrid`), which dispatches to the capsule's default
// export (`globalThis.__astrid_capsule.default`, written by the IIFE bundle that follows).
//
// Host functions take one JSON argument and reply `{"ok": value}` or
// `{"error": {"code": string, "message": string}}`.
(() => {
  "use strict";
  const raw = globalThis.__astrid_host;

  /** Calls one host function; throws the host's error with its code. */
  function hostCall(name, args) {
    const reply = JSON.parse(raw[name](JSON.stringify(args)));
    if (reply && typeof reply === "object" && "error" in reply) {
      const e = new Error(String(reply.error?.message ?? reply.error));
      e.code = String(reply.error?.code ?? "HOST_ERROR");
      throw e;
    }
    return reply?.ok ?? null;
  }
  const later = (fn) => Promise.resolve().then(fn);

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
        : new Uint8Array(ArrayBuffer.isView(input) ? input.buffer : input);
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
  globalThis.TextEncoder ??= TextEncoder;
  globalThis.TextDecoder ??= TextDecoder;

  // ---- URL (minimal: absolute http(s)/file URLs, no IDNA, no relative resolution) ----
  if (!globalThis.URL) {
    const pattern =
      /^([a-z][a-z0-9+.-]*:)\/\/(?:[^@/?#]*@)?([^:/?#]*)(?::(\d+))?([^?#]*)(\?[^#]*)?(#.*)?$/i;
    class URL {
      constructor(input, base) {
        const m = pattern.exec(String(input));
        if (!m || base !== undefined) throw new TypeError(`Invalid URL: ${String(input)}`);
        this.protocol = m[1].toLowerCase();
        this.hostname = m[2].toLowerCase();
        this.port = m[3] ?? "";
        this.pathname = m[4] || "/";
        this.search = m[5] && m[5] !== "?" ? m[5] : "";
        this.hash = m[6] && m[6] !== "#" ? m[6] : "";
      }
      get host() {
        return this.port ? `${this.hostname}:${this.port}` : this.hostname;
      }
      get origin() {
        return `${this.protocol}//${this.host}`;
      }
      get href() {
        return `${this.origin}${this.pathname}${this.search}${this.hash}`;
      }
      toString() {
        return this.href;
      }
      toJSON() {
        return this.href;
      }
    }
    globalThis.URL = URL;
  }

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

  // ---- timers: callbacks run in order of delay once the current job ends; delays are not real
  // time (a capsule call is a bounded computation, not an event loop) ----
  const timers = new Map();
  let timerSeq = 0;
  globalThis.setTimeout = (fn, delay = 0, ...args) => {
    const id = ++timerSeq;
    timers.set(id, { fn, args, at: Number(delay) || 0 });
    later(() => {
      const due = [...timers.entries()].sort((a, b) => a[1].at - b[1].at || a[0] - b[0]);
      for (const [tid, t] of due) {
        if (!timers.delete(tid)) continue;
        t.fn(...t.args);
      }
    });
    return id;
  };
  globalThis.clearTimeout = (id) => void timers.delete(id);
  globalThis.setInterval = () => {
    throw new Error("Cannot use setInterval in a capsule: calls are bounded; use [[cron]] instead");
  };
  globalThis.clearInterval = () => {};
  globalThis.queueMicrotask ??= (fn) => void later(fn);

  // ---- host API ----
  const api = {
    fs: {
      readFile: (path) => later(() => hostCall("read-file", { path: String(path) })),
      writeFile: (path, content) =>
        later(() => hostCall("write-file", { path: String(path), content: String(content) })),
      exists: (path) => later(() => hostCall("fs-exists", { path: String(path) })),
      mkdir: (path, opts = {}) =>
        later(() => hostCall("fs-mkdir", { path: String(path), recursive: !!opts.recursive })),
      readdir: (path) => later(() => hostCall("fs-readdir", { path: String(path) })),
      stat: (path) => later(() => hostCall("fs-stat", { path: String(path) })),
      unlink: (path) => later(() => hostCall("fs-unlink", { path: String(path) })),
    },
    http: {
      request: (req) => later(() => hostCall("http-request", req)),
    },
    kv: {
      get: (key) => later(() => hostCall("kv-get", { key: String(key) })),
      set: (key, value) => later(() => hostCall("kv-set", { key: String(key), value })),
    },
    config: {
      get: (key) => later(() => hostCall("get-config", { key: String(key) })),
    },
    log: (level, message) => later(() => hostCall("log", { level, message: String(message) })),
  };
  Object.freeze(api.fs), Object.freeze(api.http), Object.freeze(api.kv), Object.freeze(api.config);
  Object.defineProperty(globalThis, "__astrid_api", { value: Object.freeze(api) });

  // ---- fetch over http-request ----
  class Headers {
    constructor(init = {}) {
      this.map = new Map();
      const entries = init instanceof Headers ? init.map.entries() : Object.entries(init);
      for (const [k, v] of entries) this.map.set(String(k).toLowerCase(), String(v));
    }
    get(name) {
      return this.map.get(String(name).toLowerCase()) ?? null;
    }
    has(name) {
      return this.map.has(String(name).toLowerCase());
    }
    set(name, value) {
      this.map.set(String(name).toLowerCase(), String(value));
    }
    entries() {
      return this.map.entries();
    }
    [Symbol.iterator]() {
      return this.map.entries();
    }
  }
  class Response {
    constructor(body, init = {}) {
      this.body_ = body ?? "";
      this.status = init.status ?? 200;
      this.statusText = init.statusText ?? "";
      this.headers = new Headers(init.headers);
      this.url = init.url ?? "";
    }
    get ok() {
      return this.status >= 200 && this.status < 300;
    }
    text() {
      return Promise.resolve(this.body_);
    }
    json() {
      return this.text().then(JSON.parse);
    }
    arrayBuffer() {
      return Promise.resolve(new TextEncoder().encode(this.body_).buffer);
    }
  }
  globalThis.Headers ??= Headers;
  globalThis.Response ??= Response;
  globalThis.fetch = async (input, init = {}) => {
    const url = typeof input === "string" ? input : String(input.url ?? input);
    const headers = Object.fromEntries(new Headers(init.headers ?? {}).entries());
    const body = init.body === undefined || init.body === null ? undefined : String(init.body);
    const res = await api.http.request({
      url,
      method: String(init.method ?? "GET").toUpperCase(),
      headers,
      ...(body === undefined ? {} : { body }),
    });
    return new Response(res.body, { status: res.status, headers: res.headers ?? {}, url });
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

  globalThis.__astrid = Object.freeze({
    describe() {
      const c = capsule();
      return JSON.stringify({
        tools: Object.entries(c.tools ?? {}).map(([name, t]) => ({
          name,
          description: String(t.description ?? ""),
          input_schema: t.input ?? { type: "object" },
        })),
        hooks: Object.keys(c.hooks ?? {}),
        cron: Object.keys(c.cron ?? {}),
      });
    },
    async call_tool(input) {
      const { name, args } = JSON.parse(input);
      const tool = own(capsule().tools, name);
      if (!tool) {
        throw new Error(`Cannot call tool ${name}: current value is not a tool of this capsule`);
      }
      return result(await tool.run(args ?? {}, ctx));
    },
    async on_hook(input) {
      const { hook, payload } = JSON.parse(input);
      const fn = own(capsule().hooks, hook);
      if (!fn) {
        throw new Error(`Cannot run hook ${hook}: current value is not a hook of this capsule`);
      }
      return result(await fn(payload ?? null, ctx));
    },
    async on_cron(input) {
      const { name } = JSON.parse(input);
      const fn = own(capsule().cron, name);
      if (!fn) {
        throw new Error(`Cannot run cron ${name}: current value is not a cron job of this capsule`);
      }
      return result(await fn(ctx));
    },
  });
})();
