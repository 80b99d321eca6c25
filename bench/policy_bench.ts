/**
 * Admin policy check costs. Target: ≤ 10 µs median for a file action (`deno bench -A bench/`).
 *
 * @module
 */
import { AdminPolicy, DEFAULT_POLICY } from "../runtime/security/policy.ts";
import { parseCommandLine } from "../runtime/security/shell.ts";

const policy = new AdminPolicy({
  ...DEFAULT_POLICY,
  denied_hosts: ["*.evil.com"],
  deny_rules: ["file:///home/u/secrets/**", "exec://git push --force*"],
});

Deno.bench("policy.check file_read (allowed)", { group: "file", baseline: true }, () => {
  policy.check({ kind: "file_read", path: "/home/u/proj/src/main.ts" });
});

Deno.bench("policy.check file_write (denied path)", { group: "file" }, () => {
  policy.check({ kind: "file_write", path: "/etc/passwd" });
});

Deno.bench("policy.check network_request", () => {
  policy.check({ kind: "network_request", url: "https://api.github.com/repos/x" });
});

Deno.bench("policy.check execute_command argv only", { group: "command", baseline: true }, () => {
  policy.check({ kind: "execute_command", argv: ["git", "status"] });
});

Deno.bench("policy.check execute_command with a line", { group: "command" }, () => {
  policy.check({
    kind: "execute_command",
    argv: ["npm", "run", "test"],
    line: "npm run test && git status | grep main > /tmp/out",
  });
});

Deno.bench("parseCommandLine short line", () => {
  parseCommandLine("git status && npm run test");
});
