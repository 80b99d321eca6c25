// Tests of the pure-utility SDK shims (param-readers, string-coerce-runtime, error-runtime): each
// helper in Deno on normal, edge and hostile input, then one OpenClaw plugin importing every new
// subpath compiled into a capsule and run.
import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { compileCapsule } from "../compile.ts";
import { loadCapsule } from "../../runtime/capsule/loader.ts";
import { CapsuleInstance } from "../../runtime/capsule/engines/wasm.ts";
import { SUBPATHS } from "./sdk/subpaths.ts";
import * as P from "./sdk/param-readers.js";
import * as S from "./sdk/string-coerce-runtime.js";
import * as E from "./sdk/error-runtime.js";

type Dict = Record<string, unknown>;

/** An object whose every property read throws. */
const hostile = (): Dict =>
  new Proxy({}, {
    get() {
      throw new Error("boom");
    },
    has() {
      throw new Error("boom");
    },
    getOwnPropertyDescriptor() {
      throw new Error("boom");
    },
  });
const throwingToString = {
  toString: () => {
    throw new Error("no");
  },
  toJSON: () => {
    throw new Error("no");
  },
};

Deno.test("param-readers: exported names match OpenClaw's subpath", () => {
  deepEqual(Object.keys(P).sort(), [
    "readFiniteNumberParam",
    "readNonNegativeIntegerParam",
    "readNumberParam",
    "readPositiveIntegerParam",
    "readStringArrayParam",
    "readStringOrNumberParam",
    "readStringParam",
  ]);
  for (const sub of ["param-readers", "string-coerce-runtime", "error-runtime"]) {
    ok(SUBPATHS[sub]?.endsWith(`/${sub}.js`), sub);
  }
});

Deno.test("param-readers: readStringParam", () => {
  equal(P.readStringParam({ q: "  hi  " }, "q"), "hi");
  equal(P.readStringParam({ q: "  hi  " }, "q", { trim: false }), "  hi  ");
  equal(P.readStringParam({ q: "   " }, "q"), undefined);
  equal(P.readStringParam({ q: "   " }, "q", { allowEmpty: true }), "");
  equal(P.readStringParam({ q: 5 }, "q"), undefined);
  equal(P.readStringParam({ max_results: "x" }, "maxResults"), "x", "snake_case fallback");
  equal(P.readStringParam({}, "toString"), undefined, "prototype keys are not params");
  throws(() => P.readStringParam({}, "q", { required: true }), /^ToolInputError: q required$/);
  throws(
    () => P.readStringParam({ q: " " }, "q", { required: true, label: "query" }),
    /query required/,
  );
  throws(() => P.readStringParam({ q: 1 }, "q", { required: true }), /q required/);
  equal(P.readStringParam(null as unknown as Dict, "q"), undefined);
  throws(() => P.readStringParam(null as unknown as Dict, "q", { required: true }), /q required/);
  throws(() => P.readStringParam(hostile(), "q"), /q could not be read/);
  const huge = "x".repeat(1_000_000);
  equal(P.readStringParam({ q: huge }, "q")?.length, 1_000_000);
});

Deno.test("param-readers: numbers", () => {
  equal(P.readNumberParam({ n: 3.5 }, "n"), 3.5);
  equal(P.readNumberParam({ n: " 7 " }, "n"), 7);
  equal(P.readNumberParam({ n: "12px" }, "n"), 12);
  equal(P.readNumberParam({ n: "12px" }, "n", { strict: true }), undefined);
  equal(P.readNumberParam({ n: 3.9 }, "n", { integer: true }), 3);
  equal(P.readNumberParam({ n: -0.5 }, "n", { integer: true }), 0);
  for (const bad of [NaN, Infinity, -Infinity, "abc", "", null, {}, [], true]) {
    equal(P.readNumberParam({ n: bad }, "n"), undefined, String(bad));
  }
  throws(
    () => P.readNumberParam({ n: NaN }, "n", { required: true, label: "count" }),
    /count required/,
  );
  throws(() => P.readNumberParam({ n: 0 }, "n", { positiveInteger: true }), /positive integer/);
  throws(() => P.readNumberParam({ n: 1.5 }, "n", { positiveInteger: true }), /positive integer/);
  equal(P.readNumberParam({ n: "4" }, "n", { positiveInteger: true }), 4);
  throws(() => P.readNumberParam({ n: -1 }, "n", { nonNegativeInteger: true }), /non-negative/);
  equal(P.readNumberParam({ n: 0 }, "n", { nonNegativeInteger: true }), 0);
  equal(
    P.readNumberParam({ n: "1".repeat(5000) }, "n"),
    undefined,
    "huge numeric strings are refused",
  );

  equal(P.readPositiveIntegerParam({}, "n"), undefined);
  equal(P.readPositiveIntegerParam({ n: "5" }, "n"), 5);
  equal(P.readPositiveIntegerParam({ n: 10 }, "n", { max: 10 }), 10);
  throws(
    () => P.readPositiveIntegerParam({ n: 11 }, "n", { max: 10 }),
    /n must be a positive integer no greater than 10/,
  );
  throws(
    () => P.readPositiveIntegerParam({ n: 0 }, "n", { message: "bad n" }),
    /^ToolInputError: bad n$/,
  );
  throws(() => P.readPositiveIntegerParam({ n: 2 ** 60 }, "n"), /positive integer/);
  throws(() => P.readPositiveIntegerParam({ n: "1.5" }, "n"), /positive integer/);
  equal(P.readNonNegativeIntegerParam({ n: 0 }, "n"), 0);
  equal(P.readNonNegativeIntegerParam({ n: "-0" }, "n"), 0);
  throws(() => P.readNonNegativeIntegerParam({ n: -1 }, "n"), /non-negative integer/);

  equal(P.readFiniteNumberParam({ t: "0.5" }, "t", { min: 0, max: 1 }), 0.5);
  equal(P.readFiniteNumberParam({}, "t", { min: 0 }), undefined);
  equal(P.readFiniteNumberParam({ t: 0 }, "t", { min: 0 }), 0);
  throws(
    () => P.readFiniteNumberParam({ t: 0 }, "t", { min: 0, minExclusive: true }),
    /greater than 0/,
  );
  throws(
    () => P.readFiniteNumberParam({ t: 1 }, "t", { max: 1, maxExclusive: true }),
    /less than 1/,
  );
  throws(() => P.readFiniteNumberParam({ t: Infinity }, "t"), /finite number/);
  throws(() => P.readFiniteNumberParam({ t: "1e999" }, "t", { message: "nope" }), /nope/);
});

Deno.test("param-readers: string lists and string-or-number", () => {
  deepEqual(P.readStringArrayParam({ a: [" x ", 1, "", "y", null] }, "a"), ["x", "y"]);
  deepEqual(P.readStringArrayParam({ a: [" x ", ""] }, "a", { trim: false, allowEmpty: true }), [
    " x ",
    "",
  ]);
  deepEqual(P.readStringArrayParam({ a: " one " }, "a"), ["one"]);
  equal(P.readStringArrayParam({ a: [] }, "a"), undefined);
  equal(P.readStringArrayParam({ a: { 0: "x" } }, "a"), undefined);
  throws(
    () => P.readStringArrayParam({ a: [1, 2] }, "a", { required: true, label: "tags" }),
    /tags required/,
  );
  equal(P.readStringOrNumberParam({ id: 42 }, "id"), "42");
  equal(P.readStringOrNumberParam({ id: " abc " }, "id"), "abc");
  equal(P.readStringOrNumberParam({ id: NaN }, "id"), undefined);
  throws(
    () => P.readStringOrNumberParam({ id: Infinity }, "id", { required: true }),
    /id required/,
  );
});

Deno.test("string-coerce-runtime: exports every OpenClaw name", () => {
  const names = [
    "asBoolean",
    "asDateTimestampMs",
    "asFiniteNumber",
    "asFiniteNumberInRange",
    "asNonArrayRecord",
    "asNullableObjectRecord",
    "asNullableRecord",
    "asOptionalObjectRecord",
    "asOptionalRecord",
    "asPositiveSafeInteger",
    "asRecord",
    "asSafeIntegerInRange",
    "filterStringEntries",
    "filterStringRecord",
    "hasNonEmptyString",
    "isRecord",
    "localeLowercasePreservingWhitespace",
    "lowercasePreservingWhitespace",
    "normalizeAtHashSlug",
    "normalizeBoundedOptionalString",
    "normalizeFastMode",
    "normalizeHyphenSlug",
    "normalizeLowercaseStringOrEmpty",
    "normalizeNullableString",
    "normalizeOptionalLowercaseString",
    "normalizeOptionalString",
    "normalizeOptionalStringifiedId",
    "normalizeOptionalTrimmedStringList",
    "normalizeSingleOrTrimmedStringList",
    "normalizeSortedUniqueTrimmedStringList",
    "normalizeStringEntries",
    "normalizeStringEntriesLower",
    "normalizeStringifiedEntries",
    "normalizeStringifiedOptionalString",
    "normalizeTrimmedStringList",
    "normalizeUniqueStringEntries",
    "normalizeUniqueTrimmedStringList",
    "parseBooleanValue",
    "parseFiniteNumber",
    "parseStrictFiniteNumber",
    "parseStrictInteger",
    "parseStrictNonNegativeInteger",
    "parseStrictPositiveInteger",
    "readNonBlankString",
    "readNonEmptyStringPreservingWhitespace",
    "readStringField",
    "readStringValue",
    "sortUniqueStrings",
    "summarizeStringEntries",
    "truncateUtf16Safe",
    "uniqueStrings",
    "uniqueValues",
  ];
  deepEqual(Object.keys(S).sort(), names.sort());
});

Deno.test("string-coerce-runtime: strings", () => {
  equal(S.readStringValue(" a "), " a ");
  equal(S.readStringValue(1), undefined);
  equal(S.normalizeOptionalString("  a b "), "a b");
  for (const v of ["", "   ", 1, null, undefined, {}, NaN, Symbol("s")]) {
    equal(S.normalizeOptionalString(v), undefined);
  }
  equal(S.normalizeNullableString(" "), null);
  equal(S.normalizeNullableString(" x"), "x");
  equal(S.normalizeBoundedOptionalString(" abc ", 3), "abc");
  equal(S.normalizeBoundedOptionalString("abcd", 3), undefined);
  equal(S.normalizeBoundedOptionalString("abcd", NaN), undefined);
  equal(S.normalizeBoundedOptionalString("abcd", Infinity), "abcd");
  equal(S.readNonBlankString("  x "), "  x ");
  equal(S.readNonBlankString("  "), undefined);
  equal(S.readNonEmptyStringPreservingWhitespace("  "), "  ");
  equal(S.readNonEmptyStringPreservingWhitespace(""), undefined);
  equal(S.normalizeStringifiedOptionalString(12), "12");
  equal(S.normalizeStringifiedOptionalString(true), "true");
  equal(S.normalizeStringifiedOptionalString(10n), "10");
  equal(S.normalizeStringifiedOptionalString(NaN), undefined);
  equal(S.normalizeStringifiedOptionalString({}), undefined);
  deepEqual(S.normalizeStringifiedEntries([" a ", 1, null, "", false, {}]), ["a", "1", "false"]);
  deepEqual(S.normalizeStringifiedEntries("abc" as unknown as unknown[]), []);
  equal(S.normalizeOptionalLowercaseString(" AbC "), "abc");
  equal(S.normalizeLowercaseStringOrEmpty(5), "");
  equal(S.normalizeLowercaseStringOrEmpty(" ÄB "), "äb");
  equal(S.normalizeFastMode(true), true);
  equal(S.normalizeFastMode(" AUTO "), "auto");
  equal(S.normalizeFastMode("on"), true);
  equal(S.normalizeFastMode("off"), false);
  equal(S.normalizeFastMode("maybe"), undefined);
  equal(S.normalizeFastMode(1), undefined);
  equal(S.lowercasePreservingWhitespace("  AB \n"), "  ab \n");
  equal(S.localeLowercasePreservingWhitespace(" İ "), " İ ".toLocaleLowerCase());
  equal(S.normalizeOptionalStringifiedId(123), "123");
  equal(S.normalizeOptionalStringifiedId(" t-1 "), "t-1");
  equal(S.normalizeOptionalStringifiedId(Infinity), undefined);
  ok(S.hasNonEmptyString(" x"));
  ok(!S.hasNonEmptyString(" "));
  ok(!S.hasNonEmptyString(["x"]));
});

Deno.test("string-coerce-runtime: records", () => {
  const rec = { a: 1 };
  ok(S.isRecord(rec));
  ok(!S.isRecord([]));
  ok(!S.isRecord(null));
  ok(S.isRecord(Object.create(null)));
  equal(S.asRecord(rec), rec);
  deepEqual(S.asRecord("x"), {});
  const arr: unknown[] = [];
  equal(S.asRecord(arr), arr);
  deepEqual(S.asNonArrayRecord(arr), {});
  equal(S.asOptionalRecord(arr), undefined);
  equal(S.asOptionalRecord(rec), rec);
  equal(S.asNullableRecord(5), null);
  equal(S.asOptionalObjectRecord(arr), arr);
  equal(S.asNullableObjectRecord(undefined), null);
  equal(S.readStringField({ k: "v" }, "k"), "v");
  equal(S.readStringField({ k: 1 }, "k"), undefined);
  equal(S.readStringField(null, "k"), undefined);
  equal(S.readStringField(hostile(), "k"), undefined);
  const parsed = JSON.parse('{"a":"x","b":2,"__proto__":"p","c":"y"}');
  const filtered = S.filterStringRecord(parsed)!;
  deepEqual(Object.keys(filtered), ["a", "__proto__", "c"]);
  equal(Object.getPrototypeOf(filtered), Object.prototype);
  const getterBomb = {
    ok: "1",
    get bad() {
      throw new Error("boom");
    },
  };
  deepEqual(S.filterStringRecord(getterBomb), { ok: "1" });
  equal(S.filterStringRecord(["a"]), undefined);
});

Deno.test("string-coerce-runtime: numbers and booleans", () => {
  equal(S.asFiniteNumber(1.5), 1.5);
  for (const v of [NaN, Infinity, "1", null, 1n]) equal(S.asFiniteNumber(v), undefined);
  equal(S.asFiniteNumberInRange(5, { min: 0, max: 5 }), 5);
  equal(S.asFiniteNumberInRange(5, { max: 5, maxExclusive: true }), undefined);
  equal(S.asFiniteNumberInRange(0, { min: 0, minExclusive: true }), undefined);
  equal(S.asFiniteNumberInRange(NaN, {}), undefined);
  equal(S.asSafeIntegerInRange(3, { min: 1, max: 3 }), 3);
  equal(S.asSafeIntegerInRange(3.5, {}), undefined);
  equal(S.asSafeIntegerInRange(2 ** 53, {}), undefined);
  equal(S.parseFiniteNumber(" 1.5e3 "), 1500);
  equal(S.parseFiniteNumber(".5"), 0.5);
  for (const v of ["", "1x", "0x10", "Infinity", "1e999", "NaN", " ", "1 2", {}, null]) {
    equal(S.parseFiniteNumber(v), undefined, String(v));
  }
  equal(S.parseStrictFiniteNumber("-2.25"), -2.25);
  equal(S.parseStrictFiniteNumber("2.25abc"), undefined);
  equal(S.parseStrictFiniteNumber("9".repeat(100_000)), undefined);
  equal(S.parseStrictInteger("42"), 42);
  equal(S.parseStrictInteger("-7"), -7);
  equal(S.parseStrictInteger("4.0"), undefined);
  equal(S.parseStrictInteger(4.5), undefined);
  equal(S.parseStrictInteger("9007199254740993"), undefined);
  equal(S.parseStrictPositiveInteger("0"), undefined);
  equal(S.parseStrictPositiveInteger("3"), 3);
  equal(S.parseStrictNonNegativeInteger("-0"), 0);
  ok(Object.is(S.parseStrictNonNegativeInteger("-0"), 0));
  equal(S.parseStrictNonNegativeInteger(-1), undefined);
  equal(S.asPositiveSafeInteger("3"), undefined);
  equal(S.asPositiveSafeInteger(3), 3);
  equal(S.asDateTimestampMs(0), 0);
  equal(S.asDateTimestampMs(8.64e15), 8.64e15);
  equal(S.asDateTimestampMs(8.64e15 + 1), undefined);
  equal(S.asDateTimestampMs(new Date(5)), 5);
  equal(S.asDateTimestampMs(new Date(NaN)), undefined);
  equal(S.asBoolean(false), false);
  equal(S.asBoolean("true"), undefined);
  equal(S.parseBooleanValue(" YES "), true);
  equal(S.parseBooleanValue("0"), false);
  equal(S.parseBooleanValue("maybe"), undefined);
  equal(S.parseBooleanValue(1), undefined);
  equal(S.parseBooleanValue("y", { truthy: ["y"], falsy: ["n"] }), true);
  equal(S.parseBooleanValue("yes", { truthy: ["y"], falsy: ["n"] }), undefined);
});

Deno.test("string-coerce-runtime: UTF-16 truncation, lists, slugs, samples", () => {
  equal(S.truncateUtf16Safe("hello", 3), "hel");
  equal(S.truncateUtf16Safe("a😀b", 2), "a", "does not split the surrogate pair");
  equal(S.truncateUtf16Safe("a😀b", 3), "a😀");
  equal(S.truncateUtf16Safe("abc", -1), "");
  equal(S.truncateUtf16Safe("abc", NaN), "");
  equal(S.truncateUtf16Safe("abc", Infinity), "abc");
  equal(S.truncateUtf16Safe("😀".repeat(500_000), 999_999).length, 999_998);

  deepEqual(S.filterStringEntries(["a", 1, " b "]), ["a", " b "]);
  deepEqual(S.filterStringEntries("a"), []);
  deepEqual(S.normalizeStringEntries([" a ", 1, null, undefined, "", throwingToString]), [
    "a",
    "1",
  ]);
  deepEqual(S.normalizeStringEntriesLower([" A "]), ["a"]);
  deepEqual(S.uniqueValues([1, 2, 1, NaN, NaN]), [1, 2, NaN]);
  deepEqual(S.uniqueStrings(new Set(["b", "a", "b"])), ["b", "a"]);
  deepEqual(S.sortUniqueStrings(["b", "a", "B", "a"]), ["B", "a", "b"]);
  deepEqual(S.normalizeUniqueStringEntries([" a", "a ", "b"]), ["a", "b"]);
  deepEqual(S.normalizeTrimmedStringList([" a ", 1, ""]), ["a"]);
  deepEqual(S.normalizeTrimmedStringList("a"), []);
  deepEqual(S.normalizeUniqueTrimmedStringList(["b", " b", "a"]), ["b", "a"]);
  deepEqual(S.normalizeSortedUniqueTrimmedStringList(["b", " b", "a"]), ["a", "b"]);
  equal(S.normalizeOptionalTrimmedStringList([" "]), undefined);
  deepEqual(S.normalizeOptionalTrimmedStringList(["x"]), ["x"]);
  deepEqual(S.normalizeSingleOrTrimmedStringList(" one "), ["one"]);
  deepEqual(S.normalizeSingleOrTrimmedStringList(["a", " "]), ["a"]);
  deepEqual(S.normalizeSingleOrTrimmedStringList(null), []);
  equal(S.normalizeHyphenSlug("  My Cool_Channel #1! "), "my-cool_channel-#1");
  equal(S.normalizeHyphenSlug(null), "");
  equal(S.normalizeAtHashSlug("#General Chat!"), "general-chat");
  equal(S.normalizeAtHashSlug("@@Ops"), "ops");
  equal(S.normalizeAtHashSlug(undefined), "");
  equal(S.summarizeStringEntries({ entries: ["a", "b", "c"], limit: 2 }), "a, b (+1 more)");
  equal(S.summarizeStringEntries({ entries: ["a"], limit: 0 }), "a");
  equal(S.summarizeStringEntries({ entries: [], emptyText: "(none)" }), "(none)");
  equal(S.summarizeStringEntries({ entries: null }), "none");
  equal(S.summarizeStringEntries({ entries: ["a", "b"], limit: NaN }), "a, b");
});

Deno.test("error-runtime: coercion, codes, names", () => {
  const err = new Error("bad");
  equal(E.toErrorObject(err, "fallback"), err);
  const fromObj = E.toErrorObject({ message: "m", code: "E1", status: 500 }, "fb") as Error & Dict;
  equal(fromObj.message, "m");
  equal(fromObj.code, "E1");
  equal(fromObj.status, 500);
  deepEqual(fromObj.cause, { message: "m", code: "E1", status: 500 });
  equal(E.toErrorObject({ code: 1 }, "fb").message, "fb");
  equal(E.toErrorObject("plain", "fb").message, "plain");
  equal(E.toErrorObject(undefined, "fb").message, "fb");
  const bomb = {
    code: "X",
    get status() {
      throw new Error("boom");
    },
  };
  equal((E.toErrorObject(bomb, "fb") as Error & Dict).code, "X");
  equal(E.toErrorObject(hostile(), "fb").message, "fb");

  equal(E.toStringifiedError(err), err);
  equal(E.toStringifiedError(42).message, "42");
  equal(E.toStringifiedError({ a: 1 }).message, '{"a":1}');
  equal(E.coerceErrorMessage(err), "bad");
  equal(E.coerceErrorMessage(null), "null");
  equal(E.coerceErrorMessage(undefined), "undefined");
  equal(E.coerceErrorMessage(Symbol("s")), "Symbol(s)");
  equal(E.coerceErrorMessage(10n), "10");
  equal(E.coerceErrorMessage(throwingToString), "[object Object]");
  equal(E.coerceErrorMessage(Object.create(null)), "[object Object]");
  const cyclic: Dict = {};
  cyclic.self = cyclic;
  equal(E.coerceErrorMessage(cyclic), "[object Object]");

  equal(E.extractErrorCode({ code: "ENOENT" }), "ENOENT");
  equal(E.extractErrorCode({ code: 429 }), "429");
  equal(E.extractErrorCode({ code: NaN }), undefined);
  equal(E.extractErrorCode("ENOENT"), undefined);
  equal(E.extractErrorCode(hostile()), undefined);
  equal(E.readErrorName(new TypeError("x")), "TypeError");
  equal(E.readErrorName(null), "");
  equal(E.readErrorName(hostile()), "");
});

Deno.test("error-runtime: graphs, formatting, diagnostics, approvals, classes", () => {
  const root = new Error("outer", { cause: new Error("inner", { cause: "leaf" }) });
  const graph = E.collectErrorGraphCandidates(root);
  equal(graph.length, 3);
  equal(graph[2], "leaf");
  const agg = new AggregateError([new Error("a"), new Error("b")], "many");
  equal(E.collectErrorGraphCandidates(agg).length, 3);
  const loop: Dict = { message: "loop" };
  loop.cause = loop;
  equal(E.collectErrorGraphCandidates(loop).length, 1);
  const nested = E.collectErrorGraphCandidates(
    { inner: { deep: 1 } },
    (c: Dict) => c.inner ? [c.inner] : [],
  );
  equal(nested.length, 2);
  equal(
    E.collectErrorGraphCandidates({}, () => {
      throw new Error("resolver");
    }).length,
    1,
  );
  equal(E.collectErrorGraphCandidates(hostile()).length, 1);
  equal(E.collectErrorGraphCandidates(null).length, 0);
  let chain: Dict = { message: "end" };
  for (let i = 0; i < 1000; i++) chain = { cause: chain };
  equal(E.collectErrorGraphCandidates(chain).length, 64, "bounded");

  equal(E.formatErrorMessage(root), "outer | inner | leaf");
  equal(E.formatErrorMessage(new Error("")), "Error");
  equal(E.formatErrorMessage("text"), "text");
  equal(E.formatErrorMessage({ a: 1 }), '{"a":1}');
  const selfCause = new Error("self");
  (selfCause as Error & Dict).cause = selfCause;
  equal(E.formatErrorMessage(selfCause), "self");
  match(E.formatUncaughtError(new Error("kaput")), /^Error: kaput\n/);
  equal(E.formatUncaughtError(5), "5");

  const diag = new Error("failed");
  equal(E.attachErrorDiagnostic(diag, "host=example.com"), diag);
  E.attachErrorDiagnostic(diag, "host=example.com");
  equal(E.formatErrorMessageForDisplay(diag), "failed\nhost=example.com");
  equal(E.formatErrorMessageForDisplay(diag, "custom"), "custom\nhost=example.com");
  const wrapper = new Error("wrap", { cause: diag });
  equal(E.formatErrorMessageForDisplay(wrapper), "wrap | failed\nhost=example.com");
  equal(E.formatErrorMessageForDisplay("plain"), "plain");
  equal(E.attachErrorDiagnostic(null as unknown as object, "x"), null);

  ok(E.isApprovalNotFoundError({ code: "APPROVAL_NOT_FOUND" }));
  ok(
    E.isApprovalNotFoundError(
      new Error("gateway", { cause: { details: { reason: "APPROVAL_NOT_FOUND" } } }),
    ),
  );
  ok(E.isApprovalNotFoundError(new Error("unknown or expired approval id abc")));
  ok(E.isApprovalNotFoundError(new Error("approval not found")));
  ok(!E.isApprovalNotFoundError(new Error("approval granted")));
  ok(!E.isApprovalNotFoundError(null));
  ok(!E.isApprovalNotFoundError(hostile()));

  const nd = new E.PlatformMessageNotDispatchedError("not sent", { cause: "rate" });
  ok(nd instanceof Error);
  equal(nd.name, "PlatformMessageNotDispatchedError");
  equal(nd.code, "OPENCLAW_PLATFORM_MESSAGE_NOT_DISPATCHED");
  equal(nd.retryable, true);
  equal(nd.cause, "rate");
  equal(
    new E.PlatformMessageNotDispatchedError("x", { cause: null, retryable: false }).retryable,
    false,
  );
  const rs = new E.RequestScopedSubagentRuntimeError();
  equal(rs.code, E.SUBAGENT_RUNTIME_REQUEST_SCOPE_ERROR_CODE);
  equal(rs.message, E.SUBAGENT_RUNTIME_REQUEST_SCOPE_ERROR_MESSAGE);
  equal(new E.RequestScopedSubagentRuntimeError("m").message, "m");
  deepEqual(Object.keys(E).sort(), [
    "PlatformMessageNotDispatchedError",
    "RequestScopedSubagentRuntimeError",
    "SUBAGENT_RUNTIME_REQUEST_SCOPE_ERROR_CODE",
    "SUBAGENT_RUNTIME_REQUEST_SCOPE_ERROR_MESSAGE",
    "attachErrorDiagnostic",
    "coerceErrorMessage",
    "collectErrorGraphCandidates",
    "extractErrorCode",
    "formatErrorMessage",
    "formatErrorMessageForDisplay",
    "formatUncaughtError",
    "isApprovalNotFoundError",
    "readErrorName",
    "toErrorObject",
    "toStringifiedError",
  ]);
});

Deno.test("an OpenClaw plugin importing the utility subpaths compiles and runs sandboxed", async () => {
  const src = await Deno.makeTempDir({ prefix: "astrid-sdkutil-src-" });
  const out = await Deno.makeTempDir({ prefix: "astrid-sdkutil-out-" });
  try {
    await Deno.writeTextFile(`${src}/openclaw.plugin.json`, JSON.stringify({ id: "util-plugin" }));
    await Deno.writeTextFile(
      `${src}/index.ts`,
      `
import { definePluginEntry } from "openclaw/plugin-sdk/plugin-entry";
import { readStringParam, readNumberParam, readStringArrayParam } from "openclaw/plugin-sdk/param-readers";
import { normalizeOptionalString, truncateUtf16Safe, uniqueStrings, parseBooleanValue } from "openclaw/plugin-sdk/string-coerce-runtime";
import { formatErrorMessage, PlatformMessageNotDispatchedError } from "openclaw/plugin-sdk/error-runtime";
export default definePluginEntry({
  id: "util-plugin", name: "Util", description: "Uses utility subpaths",
  register(api) {
    api.registerTool({ name: "util", description: "Util", parameters: { type: "object" },
      execute: async (_id, params) => {
        let missing = "";
        try { readStringParam(params, "absent", { required: true }); } catch (e) { missing = formatErrorMessage(e); }
        const text = JSON.stringify({
          who: normalizeOptionalString(readStringParam(params, "who")),
          n: readNumberParam(params, "n", { integer: true }),
          tags: uniqueStrings(readStringArrayParam(params, "tags") ?? []),
          short: truncateUtf16Safe("a😀b", 2),
          flag: parseBooleanValue("yes"),
          missing,
          nd: new PlatformMessageNotDispatchedError("x", { cause: "y" }).code,
        });
        return { content: [{ type: "text", text }] };
      } });
  },
});
`,
    );
    await compileCapsule(src, { out, typeCheck: false });
    const loaded = await loadCapsule(out, { requireHash: true });
    const instance = await CapsuleInstance.create(loaded, null, {
      timeoutMs: 30_000,
      memoryMb: 64,
    });
    try {
      const result = await instance.callTool("util", {
        who: " Ada ",
        n: "4.7",
        tags: ["x", " x ", "y"],
      });
      deepEqual(JSON.parse(String(result)), {
        who: "Ada",
        n: 4,
        tags: ["x", "y"],
        short: "a",
        flag: true,
        missing: "absent required",
        nd: "OPENCLAW_PLATFORM_MESSAGE_NOT_DISPATCHED",
      });
    } finally {
      await instance.close();
    }
  } finally {
    await Deno.remove(src, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});
