import { equal, notEqual, throws } from "node:assert/strict";
import { LinkStore, MAX_LINK_TTL_MS } from "./links.ts";

Deno.test("take() uses a link once", () => {
  const links = new LinkStore();
  const { code } = links.mint("a1", 60_000);
  equal(links.take(code)?.approvalId, "a1");
  equal(links.take(code), null);
  equal(links.peek(code), null);
});

Deno.test("a link expires at its ttl", () => {
  let now = 5_000;
  const links = new LinkStore(() => now);
  const { code, expiresAt } = links.mint("a1", 1_000);
  equal(expiresAt, 6_000);
  now = 5_999;
  notEqual(links.peek(code), null);
  now = 6_000;
  equal(links.take(code), null);
});

Deno.test("settle() kills every link of that approval and no other", () => {
  const links = new LinkStore();
  const a = links.mint("a1", 60_000).code;
  const b = links.mint("a1", 60_000).code;
  const c = links.mint("a2", 60_000).code;
  links.settle("a1");
  equal(links.peek(a), null);
  equal(links.peek(b), null);
  equal(links.peek(c)?.approvalId, "a2");
});

Deno.test("each link gets its own code and its own CSRF token", () => {
  const links = new LinkStore();
  const [x, y] = [links.mint("a1", 60_000), links.mint("a1", 60_000)];
  notEqual(x.code, y.code);
  notEqual(links.peek(x.code)!.csrf, links.peek(y.code)!.csrf);
});

Deno.test("mint() refuses an empty id and a ttl out of range", () => {
  const links = new LinkStore();
  throws(() => links.mint("", 1_000), TypeError);
  throws(() => links.mint("a1", 0), RangeError);
  throws(() => links.mint("a1", MAX_LINK_TTL_MS + 1), RangeError);
  throws(() => links.mint("a1", Number.NaN), RangeError);
});

Deno.test("peek() and take() refuse malformed and oversized codes", () => {
  const links = new LinkStore();
  links.mint("a1", 60_000);
  equal(links.peek(""), null);
  equal(links.take("../a1"), null);
  equal(links.take("a".repeat(1_000_000)), null);
  equal(links.size, 1);
});
