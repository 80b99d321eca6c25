import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  array,
  boolean,
  nullable,
  oneOf,
  optional,
  parse,
  record,
  strict,
  string,
  unknown,
} from "./_check.ts";

const SHAPE = strict({
  name: string(/^[a-z.]{1,8}$/, (s) => !s.includes(".."), ' without ".."'),
  on: boolean,
  kind: oneOf(["a", "b"]),
  parent: nullable(strict({ id: string() })),
  note: optional(string()),
  list: array(strict({ n: oneOf([1, 2]) })),
  map: record(strict({ v: string() })),
  free: record(unknown),
});

function good(): Record<string, unknown> {
  return { name: "x.y", on: true, kind: "a", parent: null, list: [], map: {}, free: {} };
}

/** The TypeError message for `value`, or "ok". */
function why(value: unknown): string {
  try {
    parse(SHAPE, value, "the thing");
    return "ok";
  } catch (e) {
    ok(e instanceof TypeError);
    return e.message;
  }
}

Deno.test("parse() returns a fresh copy in shape order with optional keys kept only if present", () => {
  const input = { ...good(), note: "n", list: [{ n: 2 }], map: { k: { v: "1" } } };
  const out = parse(SHAPE, input, "the thing");
  deepEqual(out, input);
  ok(out !== input && out.list !== input.list && out.map !== input.map);
  deepEqual(Object.keys(parse(SHAPE, { free: {}, ...good() }, "t")), Object.keys(good()));
  equal("note" in parse(SHAPE, good(), "t"), false);
  equal("note" in parse(SHAPE, { ...good(), note: undefined }, "t"), true);
});

Deno.test("parse() names the failing field and what it expected", () => {
  equal(
    why({ ...good(), list: [{ n: 1 }, { n: 3 }] }),
    "Cannot accept the thing at list[1].n: expected 1 or 2, current value is 3",
  );
  equal(
    why({ ...good(), name: "a..b" }),
    'Cannot accept the thing at name: expected a string matching /^[a-z.]{1,8}$/ without "..", ' +
      'current value is "a..b"',
  );
  equal(
    why({ ...good(), map: { "a b": { v: 1 } } }),
    'Cannot accept the thing at map["a b"].v: expected a string, current value is 1',
  );
  equal(why(null), "Cannot accept the thing: expected an object, current value is null");
  equal(why([]), "Cannot accept the thing: expected an object, current value is an array");
  equal(why({ ...good(), parent: { id: "p", up: 1 } }).includes("at parent.up: expected no"), true);
  for (const key of Object.keys(good())) {
    const missing = good();
    delete missing[key];
    ok(why(missing).includes(` at ${key}: expected `), key);
  }
});

Deno.test("parse() refuses prototype keys in strict objects and drops them from records", () => {
  const planted = JSON.parse(`{"__proto__": {"on": false}, "v": "1"}`);
  ok(why({ ...good(), __proto__x: 1 }).includes("at __proto__x"));
  ok(why(Object.defineProperty(good(), "__proto__", { value: 1, enumerable: true })) !== "ok");
  ok(why({ ...good(), constructor: "x" }).includes("at constructor: expected no such key"));
  const out = parse(SHAPE, { ...good(), free: planted }, "t");
  const map = parse(
    SHAPE,
    { ...good(), map: JSON.parse(`{"__proto__": 5, "k": {"v": "1"}}`) },
    "t",
  );
  deepEqual(Object.keys(map.map), ["k"]);
  deepEqual(Object.keys(out.free), ["v"]);
  equal(Object.getPrototypeOf(out.free), Object.prototype);
  const keys = parse(SHAPE, { ...good(), free: { constructor: 1, toString: 2 } }, "t").free;
  deepEqual({ ...keys }, { constructor: 1, toString: 2 });
});

Deno.test("parse() refuses symbol keys, exotic objects and sparse holes without crashing", () => {
  ok(why({ ...good(), free: { [Symbol("s")]: 1 } }).includes("string keys only"));
  ok(why({ ...good(), map: new Map() }).includes("at map: expected an object"));
  ok(why({ ...good(), parent: new Date(0) }).includes("at parent: expected an object"));
  ok(why({ ...good(), list: new Array(3) }).includes("at list[0]: expected an object"));
  ok(why(Object.assign(Object.create(null), good())) === "ok");
});

Deno.test("parse() keeps unknown values as they are, however deep", () => {
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = { d: deep };
  const out = parse(SHAPE, { ...good(), free: { deep } }, "t");
  equal(out.free.deep, deep);
});

Deno.test("parse() shortens a huge value in its message", () => {
  const message = why({ ...good(), name: "x".repeat(1_000_000) });
  ok(message.length < 200, `${message.length}`);
  ok(message.endsWith("(1000000 chars)"));
  ok(why({ ...good(), map: { ["k".repeat(1_000_000)]: {} } }).length < 300);
});

Deno.test("parse() lets an error that is not a check's failure through unchanged", () => {
  const broken = () => {
    throw new RangeError("a bug");
  };
  throws(() => parse(broken, 1, "t"), (e: unknown) => e instanceof RangeError);
});
