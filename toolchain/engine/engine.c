/*
 * Astrid capsule engine: QuickJS as an Extism plugin (wasm32-wasi, no WASI imports).
 *
 * Lifecycle
 *   1. `compile.ts` appends the capsule's bundled JavaScript to the end of the engine's initial
 *      memory (see "Source trailer" below) and runs Wizer, which calls `wizer.initialize`: it
 *      creates the QuickJS runtime, evaluates the bundle and snapshots the initialised heap.
 *      Nothing here calls an import during initialisation (Wizer forbids it): the clock reads 0,
 *      Math.random runs from a fixed seed and the interrupt handler counts ticks locally.
 *   2. The host instantiates the snapshot under Extism and calls `describe`, `call_tool`,
 *      `on_hook` or `on_cron`. The first call of an instance reseeds Math.random from the host
 *      and applies the host's (lower-only) memory limit.
 *
 * The bundle must set `globalThis.__astrid` to an object whose methods `describe()`,
 * `call_tool(input)`, `on_hook(input)` and `on_cron(input)` take the Extism input as a string
 * and return a string, any JSON-serialisable value, or a promise of either.
 * The bundle reaches the host through `globalThis.__astrid_host[name](jsonString)`, which returns
 * the host's reply as a string. `globalThis.__astrid_base64` holds the engine's base64 codec
 * (encode/decode, see "Base64" below), which the prelude keeps for itself and deletes. Every
 * host function takes and returns an Extism memory offset (i64) to UTF-8 JSON; async host
 * functions suspend the whole wasm stack (JSPI) on the host side.
 *
 * Errors are reported through Extism's error_set as JSON:
 *   {"code":"DEADLINE"|"MEMORY"|"STACK"|"THROWN"|"TRAPPED"|"ENGINE","message":"...","stack":"..."}
 * A trap (an error on the host that is not Extism's "Plugin-originated error") leaves the
 * instance unusable: every later entry call reports "TRAPPED" and the host must re-instantiate.
 *
 * Written for Astrid; no code is taken from the Extism PDKs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunused-parameter"
#pragma clang diagnostic ignored "-Wcast-function-type-mismatch"
#include "quickjs.h"
#pragma clang diagnostic pop

#define IMPORT(mod, name) __attribute__((import_module(mod), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

/* ---- Extism kernel (module "extism:host/env") ---- */
IMPORT("extism:host/env", "input_length") uint64_t ext_input_length(void);
IMPORT("extism:host/env", "input_load_u8") uint32_t ext_input_load_u8(uint64_t off);
IMPORT("extism:host/env", "input_load_u64") uint64_t ext_input_load_u64(uint64_t off);
IMPORT("extism:host/env", "output_set") void ext_output_set(uint64_t off, uint64_t len);
IMPORT("extism:host/env", "error_set") void ext_error_set(uint64_t off);
IMPORT("extism:host/env", "alloc") uint64_t ext_alloc(uint64_t len);
IMPORT("extism:host/env", "free") void ext_free(uint64_t off);
IMPORT("extism:host/env", "length") uint64_t ext_length(uint64_t off);
IMPORT("extism:host/env", "load_u8") uint32_t ext_load_u8(uint64_t off);
IMPORT("extism:host/env", "load_u64") uint64_t ext_load_u64(uint64_t off);
IMPORT("extism:host/env", "store_u8") void ext_store_u8(uint64_t off, uint32_t v);
IMPORT("extism:host/env", "store_u64") void ext_store_u64(uint64_t off, uint64_t v);
IMPORT("extism:host/env", "config_get") uint64_t ext_config_get(uint64_t key_off);

/* ---- Astrid host functions (module "extism:host/user"): JSON offset in, JSON offset out ---- */
#define USER "extism:host/user"
IMPORT(USER, "read-file") uint64_t host_read_file(uint64_t);
IMPORT(USER, "write-file") uint64_t host_write_file(uint64_t);
IMPORT(USER, "http-request") uint64_t host_http_request(uint64_t);
IMPORT(USER, "fs-exists") uint64_t host_fs_exists(uint64_t);
IMPORT(USER, "fs-mkdir") uint64_t host_fs_mkdir(uint64_t);
IMPORT(USER, "fs-readdir") uint64_t host_fs_readdir(uint64_t);
IMPORT(USER, "fs-stat") uint64_t host_fs_stat(uint64_t);
IMPORT(USER, "fs-unlink") uint64_t host_fs_unlink(uint64_t);
IMPORT(USER, "kv-get") uint64_t host_kv_get(uint64_t);
IMPORT(USER, "kv-set") uint64_t host_kv_set(uint64_t);
IMPORT(USER, "get-config") uint64_t host_get_config(uint64_t);
IMPORT(USER, "log") uint64_t host_log(uint64_t);
/* Beyond the design's twelve: a gated, budgeted model call, and a streamed chunk of a
   `[[llm_provider]]` answer. */
IMPORT(USER, "llm-complete") uint64_t host_llm_complete(uint64_t);
IMPORT(USER, "llm-emit") uint64_t host_llm_emit(uint64_t);
/* And an approved change of one of the capsule's own declared `[env]` config values. */
IMPORT(USER, "set-config") uint64_t host_set_config(uint64_t);
/* Internal helpers: milliseconds of CPU budget left in this call (<= 0 interrupts the capsule),
   64 bits from the host's CSPRNG (Math.random's seed and crypto.getRandomValues), and the wall
   clock in microseconds since the Unix epoch. */
IMPORT(USER, "astrid-deadline") int64_t host_deadline(void);
IMPORT(USER, "astrid-random-seed") uint64_t host_random_seed(void);
IMPORT(USER, "astrid-now") int64_t host_now(void);

static const char *const HOST_NAMES[] = {
  "read-file", "write-file", "http-request", "fs-exists", "fs-mkdir", "fs-readdir",
  "fs-stat", "fs-unlink", "kv-get", "kv-set", "get-config", "log",
  "llm-complete", "llm-emit", "set-config",
};
#define HOST_COUNT ((int)(sizeof(HOST_NAMES) / sizeof(HOST_NAMES[0])))

/* ---- Limits ---- */
#define DEFAULT_MEMORY_LIMIT (64u << 20) /* the host may lower it, never raise it */
#define MIN_MEMORY_LIMIT (1u << 20)
/* QuickJS's stack limit, far below the 1 MiB linked stack. V8 runs wasm frames on its own native
   stack (about 1 MB, also under JSPI): plain JS recursion stops here first, with a catchable
   "stack overflow", but native-heavy recursion (JSON.stringify of deeply nested objects, parsing
   deeply nested expressions) uses little linear stack per level and can exhaust V8's stack
   first. That surfaces as a trap (RangeError) on the host; the next entry call then refuses with
   code "TRAPPED" and the host must drop the instance. */
#ifndef ASTRID_MAX_STACK
#define ASTRID_MAX_STACK (256u << 10)
#endif
#define INIT_TICK_BUDGET 20000 /* interrupt callbacks (x10000 ticks) allowed in initialisation */
/* Added to quickjs.c by build.ts (PATCHES): frees every queued promise job. */
void JS_AstridDropPendingJobs(JSRuntime *rt);

/* ---- Source trailer: the last 16 bytes of the initial memory (see embed.ts) ---- */
static const char SOURCE_MAGIC[8] = {'A', 'S', 'T', 'R', 'J', 'S', '0', '1'};
extern unsigned char __heap_base;

enum phase { PHASE_INIT = 0, PHASE_CALL = 1, PHASE_IDLE = 2 };

static JSRuntime *rt;
static JSContext *ctx;
static JSValue entry_obj; /* globalThis.__astrid, kept alive in the snapshot */
static int phase;         /* zero in the snapshot until the first call */
static int instance_ready; /* zero in every fresh instance (snapshotted as zero) */
static int interrupted;
static uint32_t init_ticks;
static uint64_t rng_s0 = 0x9E3779B97F4A7C15ull, rng_s1 = 0xD1B54A32D192ED03ull;
static char init_error[1024];

/* ---- Clock: no WASI; zero during initialisation so the snapshot is deterministic ---- */
int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
  (void)tz;
  int64_t us = phase == PHASE_CALL ? host_now() : 0;
  tv->tv_sec = (time_t)(us / 1000000);
  tv->tv_usec = (suseconds_t)(us % 1000000);
  return 0;
}

/* ---- stdio without WASI: QuickJS's few diagnostic prints are discarded ---- */
typedef struct { uint32_t buf, len; } CIovec;

int32_t __imported_wasi_snapshot_preview1_fd_write(int32_t fd, int32_t iovs, int32_t n,
                                                  int32_t written) {
  (void)fd;
  uint32_t total = 0;
  const CIovec *v = (const CIovec *)(uintptr_t)iovs;
  for (int32_t i = 0; i < n; i++) total += v[i].len;
  *(uint32_t *)(uintptr_t)written = total;
  return 0;
}

int32_t __imported_wasi_snapshot_preview1_fd_seek(int32_t fd, int64_t off, int32_t whence,
                                                 int32_t result) {
  (void)fd, (void)off, (void)whence, (void)result;
  return 70; /* ESPIPE */
}

int32_t __imported_wasi_snapshot_preview1_fd_close(int32_t fd) {
  (void)fd;
  return 0;
}

/* ---- Math.random: xorshift128+, reseeded from the host on an instance's first call ---- */
static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static void rng_seed(uint64_t seed) {
  rng_s0 = splitmix64(&seed);
  rng_s1 = splitmix64(&seed);
  if ((rng_s0 | rng_s1) == 0) rng_s1 = 1;
}

static JSValue js_random(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv) {
  (void)this_val, (void)argc, (void)argv;
  uint64_t s1 = rng_s0, s0 = rng_s1;
  rng_s0 = s0;
  s1 ^= s1 << 23;
  rng_s1 = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
  uint64_t bits = (rng_s1 + s0) >> 11; /* 53 random bits */
  return JS_NewFloat64(c, (double)bits * (1.0 / 9007199254740992.0));
}

/* ---- crypto.getRandomValues: 64 bits at a time from the host's CSPRNG ---- */
static JSValue js_get_random_values(JSContext *c, JSValueConst this_val, int argc,
                                    JSValueConst *argv) {
  (void)this_val;
  if (phase != PHASE_CALL) {
    return JS_ThrowInternalError(c, "Cannot get random values: the capsule is initialising");
  }
  size_t off, len, bpe, size;
  JSValue buf = JS_GetTypedArrayBuffer(c, argc > 0 ? argv[0] : JS_UNDEFINED, &off, &len, &bpe);
  if (JS_IsException(buf)) return JS_EXCEPTION;
  uint8_t *p = JS_GetArrayBuffer(c, &size, buf);
  JS_FreeValue(c, buf);
  if (!p || off + len > size) return JS_EXCEPTION;
  if (len > 65536) {
    return JS_ThrowRangeError(c, "Cannot get random values: current value is %zu bytes (max 65536)",
                              len);
  }
  for (size_t i = 0; i < len; i += 8) {
    uint64_t r = host_random_seed();
    memcpy(p + off + i, &r, len - i < 8 ? len - i : 8);
  }
  return JS_DupValue(c, argv[0]);
}

/* ---- Base64 (RFC 4648 §4) for binary data through the host functions ----
   QuickJS has no native base64, and interpreted codecs dominated binary I/O (a 16 MiB file
   crosses the host boundary as 22 MiB of base64). `globalThis.__astrid_base64` holds the two
   functions below; the prelude captures them and deletes the global. Both take strings, not
   values to convert, so no capsule code runs while they hold a pointer into a buffer. */
static const char B64_ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
#define B64_STRING_MAX ((size_t)(1u << 30) - 1) /* QuickJS's longest string */
static uint8_t b64_codes[256];                    /* 0xFF for a character outside the alphabet */
static int b64_codes_ready;

static const uint8_t *b64_table(void) {
  if (!b64_codes_ready) {
    memset(b64_codes, 0xFF, sizeof(b64_codes));
    for (int i = 0; i < 64; i++) b64_codes[(uint8_t)B64_ALPHABET[i]] = (uint8_t)i;
    b64_codes_ready = 1;
  }
  return b64_codes;
}

/* Writes the padded base64 of `p[0, n)` to `out` (4 * ceil(n / 3) bytes). */
static void b64_encode_into(char *out, const uint8_t *p, size_t n) {
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    *out++ = B64_ALPHABET[v >> 18];
    *out++ = B64_ALPHABET[(v >> 12) & 63];
    *out++ = B64_ALPHABET[(v >> 6) & 63];
    *out++ = B64_ALPHABET[v & 63];
  }
  if (i < n) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
    *out++ = B64_ALPHABET[v >> 18];
    *out++ = B64_ALPHABET[(v >> 12) & 63];
    *out++ = i + 1 < n ? B64_ALPHABET[(v >> 6) & 63] : '=';
    *out++ = '=';
  }
}

/* An optional string argument as UTF-8 (empty when undefined); NULL with a TypeError otherwise. */
static const char *b64_string_arg(JSContext *c, JSValueConst v, size_t *plen, const char *what) {
  if (JS_IsUndefined(v)) {
    *plen = 0;
    return "";
  }
  if (!JS_IsString(v)) {
    JS_ThrowTypeError(c, "Cannot encode to base64: the %s is not a string", what);
    return NULL;
  }
  return JS_ToCStringLen(c, plen, v);
}

static void b64_free_arg(JSContext *c, JSValueConst v, const char *s) {
  if (!JS_IsUndefined(v) && s) JS_FreeCString(c, s);
}

/* encode(data, head?, tail?) -> head + base64(data) + tail. `data` is a typed array or an
   ArrayBuffer (its bytes), or a string whose characters are bytes (Latin-1, for btoa): null when
   a character is above U+00FF. The head and tail let the prelude build a host call's JSON
   argument around 22 MiB of base64 without another copy of it. The output is staged in plain
   malloc memory (freed before returning; the module's memory maximum bounds it) and the string
   itself is allocated, and counted, by QuickJS. */
static JSValue js_b64_encode(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv) {
  (void)this_val;
  JSValueConst data = argc > 0 ? argv[0] : JS_UNDEFINED;
  JSValueConst vhead = argc > 1 ? argv[1] : JS_UNDEFINED;
  JSValueConst vtail = argc > 2 ? argv[2] : JS_UNDEFINED;
  size_t head_len, tail_len, n = 0;
  const char *head = b64_string_arg(c, vhead, &head_len, "head");
  if (!head) return JS_EXCEPTION;
  const char *tail = b64_string_arg(c, vtail, &tail_len, "tail");
  if (!tail) return b64_free_arg(c, vhead, head), JS_EXCEPTION;
  JSValue result = JS_EXCEPTION;
  const uint8_t *p = NULL;
  uint8_t *latin1 = NULL;
  const char *text = NULL;
  if (JS_IsString(data)) {
    size_t len;
    text = JS_ToCStringLen(c, &len, data);
    if (!text) goto done;
    latin1 = malloc(len ? len : 1);
    if (!latin1) {
      JS_ThrowOutOfMemory(c);
      goto done;
    }
    const uint8_t *u = (const uint8_t *)text;
    for (size_t i = 0; i < len; i++) {
      if (u[i] < 0x80) {
        latin1[n++] = u[i];
      } else if ((u[i] == 0xC2 || u[i] == 0xC3) && i + 1 < len && (u[i + 1] & 0xC0) == 0x80) {
        latin1[n++] = (uint8_t)((u[i] & 0x1F) << 6 | (u[i + 1] & 0x3F));
        i++;
      } else {
        result = JS_NULL; /* a character outside Latin-1 */
        goto done;
      }
    }
    p = latin1;
  } else {
    size_t off, size, bpe;
    JSValue buf = JS_GetTypedArrayBuffer(c, data, &off, &n, &bpe);
    if (JS_IsException(buf)) {
      JS_FreeValue(c, JS_GetException(c));
      off = 0;
      p = JS_GetArrayBuffer(c, &n, data);
      if (!p) {
        JS_FreeValue(c, JS_GetException(c));
        JS_ThrowTypeError(c, "Cannot encode to base64: the data is not an ArrayBuffer or a "
                             "typed array (or it is detached)");
        goto done;
      }
    } else {
      const uint8_t *base = JS_GetArrayBuffer(c, &size, buf);
      JS_FreeValue(c, buf);
      if (!base || off + n > size) {
        if (JS_HasException(c)) JS_FreeValue(c, JS_GetException(c));
        JS_ThrowTypeError(c, "Cannot encode to base64: the typed array's buffer is detached");
        goto done;
      }
      p = base + off;
    }
  }
  size_t extra = head_len + tail_len;
  if (extra > B64_STRING_MAX || (n + 2) / 3 > (B64_STRING_MAX - extra) / 4) {
    JS_ThrowRangeError(c, "Cannot encode to base64: current value is %zu bytes (too long)", n);
    goto done;
  }
  size_t out_len = head_len + (n + 2) / 3 * 4 + tail_len;
  char *out = malloc(out_len ? out_len : 1);
  if (!out) {
    JS_ThrowOutOfMemory(c);
    goto done;
  }
  memcpy(out, head, head_len);
  b64_encode_into(out + head_len, p, n);
  memcpy(out + out_len - tail_len, tail, tail_len);
  result = JS_NewStringLen(c, out, out_len);
  free(out);
done:
  free(latin1);
  if (text) JS_FreeCString(c, text);
  b64_free_arg(c, vhead, head);
  b64_free_arg(c, vtail, tail);
  return result;
}

static void b64_free_bytes(JSRuntime *r, void *opaque, void *ptr) {
  (void)opaque;
  js_free_rt(r, ptr);
}

/* Strict decoding of `s[0, n)`: the host's rules (RFC 4648 §4: a multiple of four characters
   from the standard alphabet, at most two '=' and only at the end, no whitespace, zero padding
   bits). Returns the byte count written to `out` (3 * n / 4 bytes are enough), or -1. */
static long b64_decode_strict(const uint8_t *s, size_t n, uint8_t *out) {
  const uint8_t *t = b64_table();
  if (n % 4 != 0) return -1;
  size_t pad = n > 0 && s[n - 1] == '=' ? (n > 1 && s[n - 2] == '=' ? 2 : 1) : 0;
  size_t whole = pad ? n - 4 : n, at = 0;
  for (size_t i = 0; i < whole; i += 4) {
    uint32_t a = t[s[i]], b = t[s[i + 1]], d = t[s[i + 2]], e = t[s[i + 3]];
    if ((a | b | d | e) & 0xC0) return -1;
    uint32_t v = a << 18 | b << 12 | d << 6 | e;
    out[at++] = (uint8_t)(v >> 16);
    out[at++] = (uint8_t)(v >> 8);
    out[at++] = (uint8_t)v;
  }
  if (pad) {
    uint32_t a = t[s[whole]], b = t[s[whole + 1]];
    uint32_t d = pad == 1 ? t[s[whole + 2]] : 0;
    if ((a | b | d) & 0xC0) return -1;
    if (pad == 2 ? (b & 15) != 0 : (d & 3) != 0) return -1; /* stray bits */
    uint32_t v = a << 18 | b << 12 | d << 6;
    out[at++] = (uint8_t)(v >> 16);
    if (pad == 1) out[at++] = (uint8_t)(v >> 8);
  }
  return (long)at;
}

/* Forgiving decoding (the HTML standard's, for atob): ASCII whitespace is skipped, padding is
   optional, leftover bits are dropped. Returns the byte count, or -1. */
static long b64_decode_forgiving(const uint8_t *s, size_t n, uint8_t *out) {
  const uint8_t *t = b64_table();
  size_t len = 0, last = 0, before = 0; /* non-whitespace count; positions of the last two */
  for (size_t i = 0; i < n; i++) {
    uint8_t ch = s[i];
    if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\f' || ch == '\r') continue;
    before = last, last = i, len++;
  }
  size_t pad = 0;
  if (len % 4 == 0 && len > 0 && s[last] == '=') pad = len > 1 && s[before] == '=' ? 2 : 1;
  size_t keep = len - pad, seen = 0, at = 0;
  if (keep % 4 == 1) return -1;
  uint32_t acc = 0, bits = 0;
  for (size_t i = 0; i < n && seen < keep; i++) {
    uint8_t ch = s[i];
    if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\f' || ch == '\r') continue;
    uint32_t v = t[ch];
    if (v & 0xC0) return -1;
    seen++;
    acc = (acc << 6 | v) & 0xFFFFFF;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (uint8_t)(acc >> bits);
    }
  }
  return (long)at;
}

/* decode(text, start?, end?, forgiving?) -> the bytes of text[start, end) as a Uint8Array, or
   null when that is not valid strict base64. With `forgiving` true: atob's rules, and the bytes
   as a Latin-1 string. The text is read in place (a JavaScript string of ASCII characters is
   already UTF-8), so a host reply is decoded without copying it. */
static JSValue js_b64_decode(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv) {
  (void)this_val;
  JSValueConst text = argc > 0 ? argv[0] : JS_UNDEFINED;
  if (!JS_IsString(text)) return JS_ThrowTypeError(c, "Cannot decode base64: it is not a string");
  int forgiving = argc > 3 && JS_ToBool(c, argv[3]) > 0;
  int64_t start = 0, end = 0;
  int to_end = argc <= 2 || JS_IsUndefined(argv[2]);
  if (argc > 1 && !JS_IsUndefined(argv[1]) && JS_ToInt64(c, &start, argv[1]) < 0) {
    return JS_EXCEPTION;
  }
  if (!to_end && JS_ToInt64(c, &end, argv[2]) < 0) {
    return JS_EXCEPTION;
  }
  size_t len;
  const char *s = JS_ToCStringLen(c, &len, text);
  if (!s) return JS_EXCEPTION;
  JSValue result = JS_NULL;
  JSValue vlength = JS_GetPropertyStr(c, text, "length");
  int64_t chars = -1;
  JS_ToInt64(c, &chars, vlength);
  JS_FreeValue(c, vlength);
  /* A character outside ASCII is never base64; it also makes the UTF-8 longer than the string,
     so string indexes would not be byte offsets. */
  if (chars != (int64_t)len) goto done;
  if (to_end) end = (int64_t)len;
  if (start < 0 || start > end || end > (int64_t)len) {
    result = JS_ThrowRangeError(c, "Cannot decode base64: current range is %lld..%lld of %zu",
                                (long long)start, (long long)end, len);
    goto done;
  }
  const uint8_t *in = (const uint8_t *)s + start;
  size_t n = (size_t)(end - start);
  size_t cap = n / 4 * 3 + 3;
  uint8_t *out = js_malloc(c, cap);
  if (!out) {
    result = JS_EXCEPTION;
    goto done;
  }
  long got = forgiving ? b64_decode_forgiving(in, n, out) : b64_decode_strict(in, n, out);
  if (got < 0) {
    js_free(c, out);
    goto done;
  }
  if (forgiving) {
    /* Latin-1 string: bytes above 0x7F become two UTF-8 bytes for JS_NewStringLen. */
    size_t wide = 0;
    for (long i = 0; i < got; i++) wide += out[i] >> 7;
    char *utf8 = malloc((size_t)got + wide + 1);
    if (!utf8) {
      js_free(c, out);
      result = JS_ThrowOutOfMemory(c);
      goto done;
    }
    size_t k = 0;
    for (long i = 0; i < got; i++) {
      if (out[i] < 0x80) {
        utf8[k++] = (char)out[i];
      } else {
        utf8[k++] = (char)(0xC0 | out[i] >> 6);
        utf8[k++] = (char)(0x80 | (out[i] & 0x3F));
      }
    }
    js_free(c, out);
    result = JS_NewStringLen(c, utf8, k);
    free(utf8);
    goto done;
  }
  JSValue ab = JS_NewArrayBuffer(c, out, (size_t)got, b64_free_bytes, NULL, 0);
  if (JS_IsException(ab)) {
    js_free(c, out);
    result = JS_EXCEPTION;
    goto done;
  }
  /* The constructor reads all three arguments (buffer, offset, length) whatever argc says. */
  JSValueConst ta_args[3] = {ab, JS_UNDEFINED, JS_UNDEFINED};
  result = JS_NewTypedArray(c, 3, ta_args, JS_TYPED_ARRAY_UINT8);
  JS_FreeValue(c, ab);
done:
  JS_FreeCString(c, s);
  return result;
}

/* ---- Interrupt handler: the host owns the deadline ---- */
static int on_interrupt(JSRuntime *r, void *opaque) {
  (void)r, (void)opaque;
  if (interrupted) return 1;
  if (phase == PHASE_INIT) {
    if (++init_ticks > INIT_TICK_BUDGET) interrupted = 1;
  } else if (host_deadline() <= 0) {
    interrupted = 1;
  }
  return interrupted;
}

/* ---- Extism memory helpers ---- */
static uint64_t ext_store(const char *p, size_t n) {
  uint64_t off = ext_alloc(n);
  if (off == 0) return 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    memcpy(&v, p + i, 8);
    ext_store_u64(off + i, v);
  }
  for (; i < n; i++) ext_store_u8(off + i, (uint8_t)p[i]);
  return off;
}

/* Copies an Extism block into a NUL-terminated malloc'd buffer. */
static char *ext_load(uint64_t off, size_t *plen) {
  size_t n = (size_t)ext_length(off);
  char *buf = malloc(n + 1);
  if (!buf) return NULL;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = ext_load_u64(off + i);
    memcpy(buf + i, &v, 8);
  }
  for (; i < n; i++) buf[i] = (char)ext_load_u8(off + i);
  buf[n] = 0;
  *plen = n;
  return buf;
}

static char *ext_input(size_t *plen) {
  size_t n = (size_t)ext_input_length();
  char *buf = malloc(n + 1);
  if (!buf) return NULL;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = ext_input_load_u64(i);
    memcpy(buf + i, &v, 8);
  }
  for (; i < n; i++) buf[i] = (char)ext_input_load_u8(i);
  buf[n] = 0;
  *plen = n;
  return buf;
}

/* ---- Host calls from JavaScript: __astrid_host[name](json) -> string ---- */
static uint64_t call_host(int which, uint64_t arg) {
  switch (which) {
  case 0: return host_read_file(arg);
  case 1: return host_write_file(arg);
  case 2: return host_http_request(arg);
  case 3: return host_fs_exists(arg);
  case 4: return host_fs_mkdir(arg);
  case 5: return host_fs_readdir(arg);
  case 6: return host_fs_stat(arg);
  case 7: return host_fs_unlink(arg);
  case 8: return host_kv_get(arg);
  case 9: return host_kv_set(arg);
  case 10: return host_get_config(arg);
  case 11: return host_log(arg);
  case 12: return host_llm_complete(arg);
  case 13: return host_llm_emit(arg);
  default: return host_set_config(arg);
  }
}

static JSValue js_host(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv,
                       int magic) {
  (void)this_val;
  if (phase != PHASE_CALL) {
    return JS_ThrowInternalError(c, "Cannot call host function %s: the capsule is initialising",
                                 HOST_NAMES[magic]);
  }
  size_t len;
  const char *arg = JS_ToCStringLen(c, &len, argc > 0 ? argv[0] : JS_UNDEFINED);
  if (!arg) return JS_EXCEPTION;
  uint64_t in = ext_store(arg, len);
  JS_FreeCString(c, arg);
  if (in == 0) return JS_ThrowInternalError(c, "Cannot pass input to %s: host alloc failed",
                                            HOST_NAMES[magic]);
  uint64_t out = call_host(magic, in);
  ext_free(in);
  if (out == 0) return JS_ThrowInternalError(c, "Cannot read %s result: host returned none",
                                             HOST_NAMES[magic]);
  size_t n;
  char *text = ext_load(out, &n);
  ext_free(out);
  if (!text) return JS_ThrowOutOfMemory(c);
  JSValue s = JS_NewStringLen(c, text, n);
  free(text);
  return s;
}

/* ---- JSON error reports ---- */
typedef struct { char *p; size_t len, cap; int failed; } Buf;

static void buf_put(Buf *b, const char *s, size_t n) {
  if (b->failed) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = (b->cap ? b->cap * 2 : 256);
    while (cap < b->len + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) { b->failed = 1; return; }
    b->p = p, b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

static void buf_str(Buf *b, const char *s) { buf_put(b, s, strlen(s)); }

/* Appends `s` as a JSON string, cut after MAX_REPORT bytes (at a UTF-8 boundary). */
#define MAX_REPORT 4096
static void buf_json_string(Buf *b, const char *s) {
  static const char hex[] = "0123456789abcdef";
  buf_put(b, "\"", 1);
  size_t n = 0;
  for (const unsigned char *q = (const unsigned char *)s; *q; q++, n++) {
    if (n >= MAX_REPORT && (*q & 0xC0) != 0x80) {
      buf_str(b, "...");
      break;
    }
    if (*q == '"' || *q == '\\') {
      char e[2] = {'\\', (char)*q};
      buf_put(b, e, 2);
    } else if (*q < 0x20) {
      char e[6] = {'\\', 'u', '0', '0', hex[*q >> 4], hex[*q & 15]};
      buf_put(b, e, 6);
    } else {
      buf_put(b, (const char *)q, 1);
    }
  }
  buf_put(b, "\"", 1);
}

static int report_error(const char *code, const char *message, const char *stack) {
  Buf b = {0};
  buf_str(&b, "{\"code\":");
  buf_json_string(&b, code);
  buf_str(&b, ",\"message\":");
  buf_json_string(&b, message ? message : "");
  if (stack && *stack) {
    buf_str(&b, ",\"stack\":");
    buf_json_string(&b, stack);
  }
  buf_str(&b, "}");
  static const char fallback[] = "{\"code\":\"MEMORY\",\"message\":\"out of memory\"}";
  const char *text = b.failed ? fallback : b.p;
  uint64_t off = ext_store(text, b.failed ? sizeof(fallback) - 1 : b.len);
  free(b.p);
  if (off) ext_error_set(off);
  return 1;
}

/* Classifies and reports `exc` (which it frees). Queued jobs of the failed call are dropped. */
static int report_exception(JSValue exc) {
  JS_AstridDropPendingJobs(rt);
  if (interrupted) {
    JS_FreeValue(ctx, exc);
    return report_error("DEADLINE", "Cannot finish the call: the capsule exceeded its CPU deadline",
                        NULL);
  }
  const char *code = "THROWN";
  const char *name = NULL, *msg = NULL, *stack = NULL;
  JSValue vname = JS_UNDEFINED, vstack = JS_UNDEFINED;
  if (JS_IsError(ctx, exc)) {
    vname = JS_GetPropertyStr(ctx, exc, "name");
    vstack = JS_GetPropertyStr(ctx, exc, "stack");
    name = JS_ToCString(ctx, vname);
    if (JS_IsString(vstack)) stack = JS_ToCString(ctx, vstack);
    JSValue vmsg = JS_GetPropertyStr(ctx, exc, "message");
    msg = JS_ToCString(ctx, vmsg);
    JS_FreeValue(ctx, vmsg);
  } else {
    msg = JS_ToCString(ctx, exc);
  }
  if (JS_HasException(ctx)) JS_FreeValue(ctx, JS_GetException(ctx));
  if (name && msg && strcmp(name, "InternalError") == 0 && strcmp(msg, "out of memory") == 0) {
    code = "MEMORY";
  } else if (name && msg && strcmp(name, "InternalError") == 0 &&
             strcmp(msg, "stack overflow") == 0) {
    code = "STACK";
  }
  int r = report_error(code, msg ? msg : "the capsule threw a value that is not a string", stack);
  if (name) JS_FreeCString(ctx, name);
  if (msg) JS_FreeCString(ctx, msg);
  if (stack) JS_FreeCString(ctx, stack);
  JS_FreeValue(ctx, vname);
  JS_FreeValue(ctx, vstack);
  JS_FreeValue(ctx, exc);
  JS_RunGC(rt);
  return r;
}

/* Runs queued promise jobs until none is left. Returns 0, or -1 with an exception to report.
   After an interrupt the remaining jobs are dropped: nothing of that call runs on later. */
static int drain_jobs(JSValue *exc) {
  for (;;) {
    if (interrupted) {
      JS_AstridDropPendingJobs(rt);
      break;
    }
    JSContext *jc;
    int r = JS_ExecutePendingJob(rt, &jc);
    if (r == 0) break;
    if (r < 0 && !interrupted) {
      *exc = JS_GetException(jc);
      return -1;
    }
    if (r < 0) JS_FreeValue(ctx, JS_GetException(jc));
  }
  if (interrupted) {
    *exc = JS_UNDEFINED;
    return -1;
  }
  return 0;
}

/* ---- Initialisation (Wizer) ---- */
static void init_fail(const char *what, JSValue exc) {
  const char *msg = !ctx || JS_IsUndefined(exc) ? NULL : JS_ToCString(ctx, exc);
  const char *stack = NULL;
  JSValue vstack = JS_UNDEFINED;
  if (ctx && JS_IsError(ctx, exc)) {
    vstack = JS_GetPropertyStr(ctx, exc, "stack");
    if (JS_IsString(vstack)) stack = JS_ToCString(ctx, vstack);
  }
  Buf b = {0};
  buf_str(&b, what);
  if (msg) buf_str(&b, ": "), buf_str(&b, msg);
  if (stack) buf_str(&b, "\n"), buf_str(&b, stack);
  size_t n = b.failed ? 0 : (b.len < sizeof(init_error) - 1 ? b.len : sizeof(init_error) - 1);
  memcpy(init_error, b.p ? b.p : "", n);
  init_error[n] = 0;
  __builtin_trap();
}

/** Returns the reason `wizer.initialize` trapped (empty when it did not). */
EXPORT("astrid_init_error") const char *astrid_init_error(void) { return init_error; }

/* Finds the source that embed.ts placed near the end of the initial memory (a trailer in the
   last 16 bytes gives its length and address) and moves it into the heap. wasi-libc's malloc
   takes [__heap_base, end of initial memory) as its first segment and writes bookkeeping at both
   ends, so embed.ts leaves a gap larger than the source below it and a pad above it; this runs
   before anything else allocates. The placed copy is then zeroed to keep it out of the snapshot. */
static char *take_source(uint32_t *plen) {
  unsigned char *end = (unsigned char *)(__builtin_wasm_memory_size(0) * 65536);
  unsigned char *trailer = end - 16;
  uint32_t len, at;
  memcpy(&len, trailer + 8, 4);
  memcpy(&at, trailer + 12, 4);
  unsigned char *placed = (unsigned char *)(uintptr_t)at;
  if (memcmp(trailer, SOURCE_MAGIC, 8) != 0 || placed < &__heap_base || placed > trailer ||
      len > (uint32_t)(trailer - placed)) {
    init_fail("Cannot find the capsule source: the engine was not prepared by compile.ts",
              JS_UNDEFINED);
  }
  char *src = malloc((size_t)len + 1);
  if (!src || (unsigned char *)src + len + 64 > placed) {
    init_fail("Cannot copy the capsule source: it overlaps the heap", JS_UNDEFINED);
  }
  memcpy(src, placed, len);
  src[len] = 0;
  memset(placed, 0, len);
  *plen = len;
  return src;
}

EXPORT("wizer.initialize") void astrid_initialize(void) {
  phase = PHASE_INIT;
  uint32_t len;
  char *src = take_source(&len);
  rt = JS_NewRuntime();
  if (!rt) init_fail("Cannot create the QuickJS runtime", JS_UNDEFINED);
  JS_SetMemoryLimit(rt, DEFAULT_MEMORY_LIMIT);
  JS_SetMaxStackSize(rt, ASTRID_MAX_STACK);
  JS_SetInterruptHandler(rt, on_interrupt, NULL);
  JS_SetStripInfo(rt, JS_STRIP_SOURCE);
  ctx = JS_NewContext(rt);
  if (!ctx) init_fail("Cannot create the QuickJS context", JS_UNDEFINED);

  JSValue global = JS_GetGlobalObject(ctx);
  JSValue math = JS_GetPropertyStr(ctx, global, "Math");
  JS_SetPropertyStr(ctx, math, "random", JS_NewCFunction(ctx, js_random, "random", 0));
  JS_FreeValue(ctx, math);
  JSValue crypto = JS_NewObject(ctx);
  JS_SetPropertyStr(ctx, crypto, "getRandomValues",
                    JS_NewCFunction(ctx, js_get_random_values, "getRandomValues", 1));
  JS_SetPropertyStr(ctx, global, "crypto", crypto);
  JSValue host = JS_NewObject(ctx);
  for (int i = 0; i < HOST_COUNT; i++) {
    JS_SetPropertyStr(ctx, host, HOST_NAMES[i],
                      JS_NewCFunctionMagic(ctx, js_host, HOST_NAMES[i], 1, JS_CFUNC_generic_magic, i));
  }
  JS_SetPropertyStr(ctx, global, "__astrid_host", host);
  JSValue base64 = JS_NewObject(ctx);
  JS_SetPropertyStr(ctx, base64, "encode", JS_NewCFunction(ctx, js_b64_encode, "encode", 3));
  JS_SetPropertyStr(ctx, base64, "decode", JS_NewCFunction(ctx, js_b64_decode, "decode", 4));
  JS_SetPropertyStr(ctx, global, "__astrid_base64", base64);

  JSValue r = JS_Eval(ctx, src, len, "capsule.js", JS_EVAL_TYPE_GLOBAL);
  explicit_bzero(src, len); /* freed memory stays in the snapshot: leave no source behind */
  free(src);
  JSValue exc = JS_UNDEFINED;
  if (JS_IsException(r) || (JS_FreeValue(ctx, r), drain_jobs(&exc) < 0)) {
    if (JS_IsException(r)) exc = JS_GetException(ctx);
    init_fail(interrupted ? "Cannot evaluate the capsule: it ran past its initialisation budget"
                          : "Cannot evaluate the capsule",
              exc);
  }
  entry_obj = JS_GetPropertyStr(ctx, global, "__astrid");
  if (!JS_IsObject(entry_obj)) {
    init_fail("Cannot find the capsule entry: globalThis.__astrid is not an object", JS_UNDEFINED);
  }
  JS_FreeValue(ctx, global);
  JS_RunGC(rt);
  phase = PHASE_IDLE;
}

/* ---- Entry points ---- */
static void prepare_instance(void) {
  if (instance_ready) return;
  instance_ready = 1;
  rng_seed(host_random_seed());
  static const char key[] = "astrid.memory_limit";
  uint64_t koff = ext_store(key, sizeof(key) - 1);
  uint64_t voff = koff ? ext_config_get(koff) : 0;
  if (voff) {
    size_t n;
    char *v = ext_load(voff, &n);
    if (v) {
      unsigned long long lim = strtoull(v, NULL, 10);
      if (lim >= MIN_MEMORY_LIMIT && lim < DEFAULT_MEMORY_LIMIT) JS_SetMemoryLimit(rt, lim);
      free(v);
    }
  }
}

static int run_entry(const char *method, int with_input) {
  if (!ctx || !JS_IsObject(entry_obj)) {
    return report_error("ENGINE", "Cannot run the capsule: it was not initialised", NULL);
  }
  if (phase == PHASE_CALL) {
    /* A previous call never returned: it trapped (its state is unknown) or it is suspended in an
       async host call (QuickJS is not re-entrant). Either way this instance cannot be used. */
    return report_error("TRAPPED",
                        "Cannot run the capsule: a previous call trapped or is still suspended; "
                        "use a fresh instance",
                        NULL);
  }
  phase = PHASE_CALL;
  interrupted = 0;
  prepare_instance();
  JS_UpdateStackTop(rt);
  JSValue args[1] = {JS_UNDEFINED};
  if (with_input) {
    size_t n;
    char *in = ext_input(&n);
    if (!in) return phase = PHASE_IDLE, report_error("MEMORY", "Cannot read the input", NULL);
    args[0] = JS_NewStringLen(ctx, in, n);
    free(in);
    if (JS_IsException(args[0])) return phase = PHASE_IDLE, report_exception(JS_GetException(ctx));
  }
  JSValue fn = JS_GetPropertyStr(ctx, entry_obj, method);
  JSValue result;
  if (!JS_IsFunction(ctx, fn)) {
    result = JS_ThrowTypeError(ctx, "Cannot call %s: the capsule does not define it", method);
  } else {
    result = JS_Call(ctx, fn, entry_obj, with_input ? 1 : 0, args);
  }
  JS_FreeValue(ctx, fn);
  JS_FreeValue(ctx, args[0]);
  int rc;
  JSValue exc;
  if (JS_IsException(result)) {
    rc = report_exception(JS_GetException(ctx));
  } else if (drain_jobs(&exc) < 0) {
    JS_FreeValue(ctx, result);
    rc = report_exception(exc);
  } else {
    if (JS_IsObject(result) && JS_PromiseState(ctx, result) != (JSPromiseStateEnum)-1) {
      JSPromiseStateEnum st = JS_PromiseState(ctx, result);
      JSValue settled = JS_PromiseResult(ctx, result);
      JS_FreeValue(ctx, result);
      result = settled;
      if (st == JS_PROMISE_PENDING) {
        JS_FreeValue(ctx, result);
        result = JS_ThrowInternalError(ctx, "Cannot finish %s: its promise never settled", method);
      } else if (st == JS_PROMISE_REJECTED) {
        JS_Throw(ctx, result);
        result = JS_EXCEPTION;
      }
    }
    if (JS_IsException(result)) {
      rc = report_exception(JS_GetException(ctx));
    } else {
      JSValue text = JS_IsString(result) ? JS_DupValue(ctx, result)
                                         : JS_JSONStringify(ctx, result, JS_UNDEFINED, JS_UNDEFINED);
      JS_FreeValue(ctx, result);
      size_t n;
      const char *s = JS_IsException(text) ? NULL
                      : JS_IsUndefined(text) ? "null"
                                             : JS_ToCStringLen(ctx, &n, text);
      if (s && JS_IsUndefined(text)) n = 4;
      if (!s) {
        JS_FreeValue(ctx, text);
        rc = report_exception(JS_GetException(ctx));
      } else {
        uint64_t off = ext_store(s, n);
        if (!JS_IsUndefined(text)) JS_FreeCString(ctx, s);
        JS_FreeValue(ctx, text);
        if (off) ext_output_set(off, n);
        rc = off ? 0 : report_error("MEMORY", "Cannot store the output: host alloc failed", NULL);
      }
    }
  }
  phase = PHASE_IDLE;
  return rc;
}

EXPORT("describe") int32_t astrid_describe(void) { return run_entry("describe", 0); }
EXPORT("call_tool") int32_t astrid_call_tool(void) { return run_entry("call_tool", 1); }
EXPORT("on_hook") int32_t astrid_on_hook(void) { return run_entry("on_hook", 1); }
EXPORT("on_cron") int32_t astrid_on_cron(void) { return run_entry("on_cron", 1); }
