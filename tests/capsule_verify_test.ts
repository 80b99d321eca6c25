/**
 * `astrid capsule verify` (issue 15): listing trusts each wasm's recorded fingerprint, so this
 * command re-reads and re-hashes every installed capsule; a mismatch is exit 5.
 */
import { equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDirs } from "./cli.ts";
import { probeCopy } from "../runtime/capsule/_testing.ts";

Deno.test("capsule verify re-hashes every installed capsule: ok, then exit 5 for a changed wasm", async () => {
  const { home, ws } = await tempDirs();
  try {
    equal((await runCli(["init", ws], { home })).code, 0);
    const run = (args: string[]) => runCli(args, { home, cwd: ws });
    for (const name of ["alpha", "beta"]) {
      const install = await run(["capsule", "install", await probeCopy(name), "--yes"]);
      equal(install.code, 0, install.stderr);
    }
    const good = await run(["capsule", "verify", "--json"]);
    equal(good.code, 0, good.stderr);
    const rows = JSON.parse(good.stdout).capsules as { name: string; ok: boolean }[];
    equal(rows.map((r) => `${r.name}:${r.ok}`).join(","), "alpha:true,beta:true");

    const wasm = join(home, "capsules", "beta", "capsule.wasm");
    const bytes = await Deno.readFile(wasm);
    bytes[bytes.length - 3]! ^= 0xff;
    await Deno.writeFile(wasm, bytes);
    const bad = await run(["capsule", "verify"]);
    equal(bad.code, 5, bad.stderr);
    match(bad.stdout, /ok {7}alpha \(user\)/);
    match(bad.stderr, /error: beta \(user\): .*the wasm changed since install/);
    // Listing still catches it (the fingerprint changed) and a call is still exit 5.
    const list = await run(["tools", "list"]);
    equal(list.code, 0, list.stderr);
    match(list.stderr, /warning: capsule at .*beta not loaded/);
    ok(list.stdout.includes("alpha__echo"));
    const call = await run(["tools", "call", "beta__echo", "--args", "{}", "--approve", "once"]);
    equal(call.code, 5, call.stderr);
    const fine = await run(["tools", "call", "alpha__echo", "--args", "{}", "--approve", "once"]);
    equal(fine.code, 0, fine.stderr);
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
    await Deno.remove(ws, { recursive: true }).catch(() => {});
  }
});
