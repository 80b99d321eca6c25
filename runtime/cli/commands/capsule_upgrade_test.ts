import { equal, match, rejects } from "node:assert/strict";
import { openStore } from "../../storage/mod.ts";
import type { CliIo } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { applyData, decideData } from "./capsule_upgrade.ts";

function io(answers: (string | null)[]): CliIo & { err: string } {
  const out = {
    env: {},
    cwd: "/",
    isTty: true,
    err: "",
    stdout: () => {},
    stderr: (t: string) => void (out.err += t),
    readLine: (prompt: string) => {
      out.err += prompt;
      return Promise.resolve(answers.shift() ?? null);
    },
  };
  return out;
}

Deno.test("decideData() asks on a terminal, keeps on Enter or yes, resets on no", async () => {
  using store = await openStore(":memory:");
  await store.set(["capsule_kv", "notes", "a"], 1);
  await store.set(["capsule_kv", "notes", "b"], 2);
  const cases: [string | null, string][] = [["", "keep"], ["y", "keep"], [null, "keep"], [
    "no",
    "reset",
  ]];
  for (const [answer, fate] of cases) {
    const t = io([answer]);
    equal(await decideData(t, store, "notes", {}, true), fate, String(answer));
    match(t.err, /Keep notes's stored data \(2 KV entries\)\?/);
  }
});

Deno.test("decideData() follows the flags without asking, and keeps by default when it cannot ask", async () => {
  using store = await openStore(":memory:");
  await store.set(["capsule_kv", "notes", "a"], 1);
  const t = io(["no"]);
  equal(await decideData(t, store, "notes", { keepData: true }, true), "keep");
  equal(await decideData(t, store, "notes", { resetData: true }, true), "reset");
  equal(await decideData(t, store, "notes", {}, false), "keep");
  equal(t.err.includes("Keep notes"), false, "never asked");
  equal(await decideData(t, store, "other", { resetData: true }, true), "none", "no data");
  await rejects(
    decideData(t, store, "notes", { keepData: true, resetData: true }, true),
    (e: unknown) => e instanceof CliError && e.exitCode === ExitCode.Usage,
  );
});

Deno.test("applyData() deletes only on reset", async () => {
  using store = await openStore(":memory:");
  await store.set(["capsule_kv", "notes", "a"], 1);
  equal(await applyData(store, "notes", "keep"), 0);
  equal((await store.get(["capsule_kv", "notes", "a"])).value, 1);
  equal(await applyData(store, "notes", "reset"), 1);
  equal((await store.get(["capsule_kv", "notes", "a"])).value, null);
});
