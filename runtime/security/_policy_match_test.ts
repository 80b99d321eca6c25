import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { BlockedCommand, commandTokens, normalizePath, PathMatcher } from "./_policy_match.ts";
import { HostMatcher } from "./_hosts.ts";

Deno.test("normalizePath() collapses dot segments without climbing above the root", () => {
  equal(normalizePath("/../../etc"), "/etc");
  equal(normalizePath("//"), "/");
  equal(normalizePath("~"), "~");
  equal(normalizePath("~root/./x/.."), "~root");
});

Deno.test("PathMatcher matches folders, dotfiles and exempts harmless devices", () => {
  const m = new PathMatcher(["/etc/**", "/dev/**", "~/.ssh/**"]);
  equal(m.match("/etc"), "/etc/**");
  equal(m.match("/etc/.hidden"), "/etc/**");
  equal(m.match("/etc/../etc/x"), "/etc/**");
  equal(m.match("/etcetera"), undefined);
  equal(m.match("/dev/null"), undefined);
  equal(m.match("/dev/sda"), "/dev/**");
  equal(m.match("~/.ssh/id_rsa"), "~/.ssh/**");
  equal(m.matchDynamic("/e*c/passwd"), "/etc/**");
  equal(m.matchDynamic("/tmp/*.txt"), undefined);
  equal(m.matchDynamic("/etc/$X"), "/etc/**");
  throws(() => new PathMatcher(["relative/**"]), TypeError);
});

Deno.test("HostMatcher matches apex and subdomains, case and trailing dot insensitive", () => {
  const m = new HostMatcher(["*.evil.com", "exact.org"]);
  for (const h of ["evil.com", "api.evil.com", "a.b.EVIL.com."]) equal(m.match(h), "*.evil.com");
  equal(m.match("exact.org"), "exact.org");
  equal(m.match("sub.exact.org"), undefined);
  equal(m.match("notevil.com"), undefined);
  equal(m.match("evil.com.au"), undefined);
});

Deno.test("commandTokens() and BlockedCommand normalise option spellings", () => {
  deepEqual([...commandTokens("rm", ["-fr", "//"])].sort(), ["-f", "-r", "/", "//"].sort());
  const rm = new BlockedCommand("rm -rf /", ["rm", "-rf", "/"]);
  ok(rm.matches(["rm", "-r", "-f", "/"]));
  ok(rm.matches(["/bin/rm", "--force", "--recursive", "/."]));
  ok(!rm.matches(["rm", "-rf", "build"]));
  ok(!rm.matches(["rm", "-r", "/"]));
  const chmod = new BlockedCommand("chmod 777", ["chmod", "777"]);
  for (const mode of ["777", "0777", "4777", "a+rwx", "ugo=rwx"]) {
    ok(chmod.matches(["chmod", mode, "f"]), mode);
  }
  ok(!chmod.matches(["chmod", "755", "f"]));
  ok(!chmod.matches(["chmod", "u+rwx", "f"]));
  ok(new BlockedCommand("mkfs", ["mkfs"]).matches(["mkfs.ext4", "/dev/sda"]));
  ok(!new BlockedCommand("su", ["su"]).matches(["sudo"]));
  throws(() => new BlockedCommand("", []), TypeError);
});
