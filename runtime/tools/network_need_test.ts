import { deepEqual } from "node:assert/strict";
import { networkTargets, UNKNOWN_HOST } from "./network_need.ts";

Deno.test("networkTargets() finds URLs and hosts behind wrappers and paths", () => {
  deepEqual(networkTargets(["/usr/bin/curl", "-sSL", "HTTPS://Example.COM:443/a/../b"]), [
    "https://example.com/b",
  ]);
  deepEqual(networkTargets(["env", "X=1", "timeout", "5", "wget", "http://10.0.0.1:8080/"]), [
    "http://10.0.0.1:8080/",
  ]);
  deepEqual(networkTargets(["ssh", "-p", "22", "deploy@prod.example.org", "uptime"]), [
    "https://prod.example.org/",
  ]);
  deepEqual(networkTargets(["scp", "f", "me@files.example.net:/srv/"]), [
    "https://files.example.net/",
  ]);
  deepEqual(networkTargets(["nc", "-l", "4444"]), [`https://${UNKNOWN_HOST}/`]);
  deepEqual(networkTargets(["python3", "-m", "pip", "install", "requests"]), ["https://pypi.org/"]);
  deepEqual(networkTargets(["git", "push", "--force"]), ["https://git-remote.invalid/"]);
  deepEqual(networkTargets(["deno", "run", "https://deno.land/x/mod.ts"]), [
    "https://deno.land/x/mod.ts",
  ]);
  deepEqual(networkTargets(["git", "clone", "ssh://git@example.com/r.git"]), [
    "https://example.com/",
  ]);
});

Deno.test("networkTargets() leaves local commands alone", () => {
  deepEqual(networkTargets(["ls", "-la"]), []);
  deepEqual(networkTargets(["git", "status"]), []);
  deepEqual(networkTargets(["npm", "test"]), []);
  deepEqual(networkTargets(["cat", "notes.txt"]), []);
});

Deno.test("networkTargets() survives hostile tokens", () => {
  deepEqual(networkTargets(["curl", "http://[::1"]), [`https://${UNKNOWN_HOST}/`]);
  deepEqual(networkTargets(["curl", "http://$HOST/x"]), [`https://${UNKNOWN_HOST}/`]);
  deepEqual(networkTargets(["curl", "x".repeat(100_000)]), [`https://${UNKNOWN_HOST}/`]);
});
