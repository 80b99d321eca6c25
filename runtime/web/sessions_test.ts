import { equal, match, notEqual, ok } from "node:assert/strict";
import {
  BrowserSessions,
  clearedCookie,
  LOGIN_TTL_MS,
  readSessionCookie,
  sameSecret,
  SESSION_IDLE_MS,
  sessionCookie,
} from "./sessions.ts";

Deno.test("redeemLogin() opens one session per code, and only once", () => {
  const s = new BrowserSessions();
  const { code } = s.mintLogin();
  equal(code.length, 43); // 32 bytes, base64url
  const opened = s.redeemLogin(code);
  notEqual(opened, null);
  equal(s.redeemLogin(code), null);
  equal(s.get(opened!.cookie)?.id, opened!.session.id);
  notEqual(opened!.cookie, code);
});

Deno.test("redeemLogin() refuses an expired code, and the code stays dead", () => {
  let now = 1_000_000;
  const s = new BrowserSessions(() => now);
  const { code, expiresAt } = s.mintLogin();
  equal(expiresAt, now + LOGIN_TTL_MS);
  now += LOGIN_TTL_MS;
  equal(s.redeemLogin(code), null);
  now -= LOGIN_TTL_MS; // a clock that jumps back does not revive it
  equal(s.redeemLogin(code), null);
});

Deno.test("redeemLogin() refuses unknown, empty and oversized codes", () => {
  const s = new BrowserSessions();
  s.mintLogin();
  equal(s.redeemLogin(""), null);
  equal(s.redeemLogin("x".repeat(100_000)), null);
  equal(s.redeemLogin("../../etc/passwd"), null);
});

Deno.test("get() ends a session idle for 12 hours, and each request keeps it alive", () => {
  let now = 0;
  const s = new BrowserSessions(() => now);
  const { cookie } = s.redeemLogin(s.mintLogin().code)!;
  now += SESSION_IDLE_MS - 1;
  notEqual(s.get(cookie), null); // seen: the idle clock restarts
  now += SESSION_IDLE_MS - 1;
  notEqual(s.get(cookie), null);
  now += SESSION_IDLE_MS;
  equal(s.get(cookie), null);
  now = 0;
  equal(s.get(cookie), null); // gone for good
});

Deno.test("end() signs the session out", () => {
  const s = new BrowserSessions();
  const { cookie } = s.redeemLogin(s.mintLogin().code)!;
  s.end(cookie);
  equal(s.get(cookie), null);
});

Deno.test("sessionCookie() is HttpOnly, SameSite=Strict, Path=/, and Secure only over https", () => {
  const plain = sessionCookie("abc", false);
  match(plain, /^astrid_web=abc;/);
  for (const flag of ["HttpOnly", "SameSite=Strict", "Path=/"]) ok(plain.includes(flag), flag);
  ok(!plain.includes("Secure"));
  ok(sessionCookie("abc", true).endsWith("; Secure"));
  match(clearedCookie(false), /^astrid_web=; Max-Age=0;/);
});

Deno.test("readSessionCookie() finds the cookie among others, and only by its exact name", () => {
  equal(readSessionCookie("a=1; astrid_web=v2; b=3"), "v2");
  equal(readSessionCookie("xastrid_web=v; astrid_webx=w"), undefined);
  equal(readSessionCookie(null), undefined);
});

Deno.test("sameSecret() compares by value", () => {
  ok(sameSecret("abc", "abc"));
  ok(!sameSecret("abc", "abd"));
  ok(!sameSecret("abc", "abcd"));
});
