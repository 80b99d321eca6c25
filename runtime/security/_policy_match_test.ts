import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  BlockedCommand,
  commandTokens,
  normalizePath,
  PathMatcher,
  plainArgv,
} from "./_policy_match.ts";
import { CommandLineParser } from "./shell.ts";
import { DEFAULT_POLICY } from "./policy_types.ts";
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

Deno.test("plainArgv() splits exactly as the shell parser does, and declines everything else", () => {
  const parser = new CommandLineParser();
  const plain = [
    ...DEFAULT_POLICY.blocked_commands,
    "sudo\tid",
    "  rm   -rf  /  ",
    "a:b c,d e@f g%h i+j k.l /m/n -o --x",
    "bash -c ls",
    "eval id",
    "exec sudo",
    "command sudo",
  ];
  for (const entry of plain) {
    const argv = plainArgv(entry);
    ok(argv !== undefined, entry);
    deepEqual(argv, parser.parse(entry).commands[0], entry);
  }
  // Quoting, expansion, globs, operators, assignments, comments, newlines and keywords change
  // what the shell reads: those entries go to the real parser.
  for (
    const entry of [
      "",
      " \t ",
      "sudo 'x",
      'su"do"',
      "s\\udo",
      "$SUDO",
      "`id`",
      "rm -rf /*",
      "rm -rf ~",
      "sudo; id",
      "sudo|id",
      "sudo&",
      "a=b sudo",
      "#sudo",
      "sudo\nid",
      "sudo\rid",
      "{sudo,su}",
      "[ x ]",
      "!sudo",
      "sudo\u00a0id",
      "time sudo",
      "coproc sudo",
      "declare sudo",
      "sudo if",
      "function sudo",
    ]
  ) {
    equal(plainArgv(entry), undefined, JSON.stringify(entry));
  }
});
