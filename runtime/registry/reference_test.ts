import { equal, throws } from "node:assert/strict";
import { isLoopbackHost, parseRef, parseRegistry } from "./reference.ts";

Deno.test("parseRef() uses plain HTTP only for loopback hosts and HTTPS for the rest", () => {
  equal(parseRef("oci://127.0.0.1:5000/a/b:1").base, "http://127.0.0.1:5000");
  equal(parseRef("oci://localhost/a:1").scheme, "http");
  equal(parseRef("oci://[::1]:5000/a:1").base, "http://[::1]:5000");
  equal(parseRef("oci://registry.example/a:1").base, "https://registry.example");
  equal(parseRef("oci://127.0.0.1.nip.io/a:1").scheme, "https");
  equal(parseRef("oci://localhost/a").tag, "latest");
});

Deno.test("parseRef() refuses http:// to a non-loopback host", () => {
  throws(() => parseRef("http://example.com/a:1"), (e: Error & { code?: string }) => {
    equal(e.code, "INSECURE");
    return true;
  });
  equal(parseRef("http://127.0.0.1:1/a:1").scheme, "http");
  equal(parseRef("https://example.com/a:1").scheme, "https");
});

Deno.test("parseRef() refuses traversal, uppercase, bad tags, bad digests and oversized input", () => {
  for (
    const bad of [
      "oci://h/../etc:1",
      "oci://h/a/../../b:1",
      "oci://h/A:1",
      "oci://h/a:../x",
      "oci://h/a:",
      "oci://h/a@sha256:abc",
      "oci://h/a@md5:" + "0".repeat(32),
      "oci://h",
      "oci:///a:1",
      "oci://h:99999/a:1",
      "oci://user@h/a:1",
      "file:///etc/passwd",
      `oci://h/${"a".repeat(2000)}:1`,
    ]
  ) {
    throws(() => parseRef(bad), (e: Error & { code?: string }) => {
      equal(e.code, "REF", bad);
      return true;
    });
  }
});

Deno.test("parseRegistry() takes a host only", () => {
  equal(parseRegistry("oci://127.0.0.1:5000/").host, "127.0.0.1:5000");
  throws(() => parseRegistry("oci://127.0.0.1:5000/repo"), /HOST\[:PORT\] only/);
});

Deno.test("isLoopbackHost() accepts 127/8, localhost and ::1 only", () => {
  equal(isLoopbackHost("127.255.0.1"), true);
  equal(isLoopbackHost("127.0.0.256"), false);
  equal(isLoopbackHost("128.0.0.1"), false);
  equal(isLoopbackHost("localhost.example"), false);
  equal(isLoopbackHost("::2"), false);
});
