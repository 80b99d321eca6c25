import { deepEqual } from "node:assert/strict";
import { parseManifest } from "./manifest.ts";
import { carryEnv, type EnvKeySpec } from "./env_store.ts";

const manifest = (env: string) =>
  parseManifest(`[package]\nname = "n"\nversion = "2"\n${env}`).manifest;
const s = (type: "secret" | "string"): EnvKeySpec => ({ type, required: false });

Deno.test("carryEnv() keeps a value only for a key still declared with the same type", () => {
  const after = manifest('[env.TOKEN]\ntype = "secret"\n[env.HOST]\ntype = "secret"\n[env.NEW]\n');
  const before = { TOKEN: s("secret"), HOST: s("string"), GONE: s("string") };
  deepEqual(carryEnv({ TOKEN: "t", HOST: "h", GONE: "g" }, before, after), {
    kept: { TOKEN: "t" },
    dropped: ["GONE", "HOST"],
  });
});

Deno.test("carryEnv() keeps nothing without an earlier record, nor a value no record declared", () => {
  const after = manifest("[env.A]\n");
  deepEqual(carryEnv({ A: "1" }, null, after), { kept: {}, dropped: ["A"] });
  // A value planted in the env file for a key the human never approved is not carried.
  deepEqual(carryEnv({ A: "1" }, {}, after), { kept: {}, dropped: ["A"] });
});

Deno.test("carryEnv() is not fooled by inherited keys", () => {
  const after = manifest("[env.A]\n");
  const stored = JSON.parse('{"__proto__": "x", "constructor": "y", "A": "1"}');
  deepEqual(carryEnv(stored, { A: s("string") }, after).kept, { A: "1" });
});
