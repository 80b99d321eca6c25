import { deepEqual, equal, rejects } from "node:assert/strict";
import { CapsuleError } from "../errors.ts";
import { loadCapsule } from "../loader.ts";
import { probeCopy } from "../_testing.ts";
import { loadStatic, MAX_STATIC_FILE_BYTES, readStatic } from "./static.ts";

async function staticCapsule(extra: string): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/Capsule.toml`,
    `[package]\nname = "docs"\nversion = "1"\n${extra}`,
  );
  return dir;
}

Deno.test("loadStatic() offers context files, skills and commands without any wasm", async () => {
  const dir = await staticCapsule(`[[context_file]]
name = "conventions"
path = "CONTEXT.md"
[[skill]]
name = "style"
description = "House style"
path = "skills/style.md"
[[command]]
name = "review"
prompt = "Review this"
[[command]]
name = "plan"
path = "plan.md"
`);
  await Deno.mkdir(`${dir}/skills`);
  await Deno.writeTextFile(`${dir}/CONTEXT.md`, "Use tabs.");
  await Deno.writeTextFile(`${dir}/skills/style.md`, "Be brief.");
  await Deno.writeTextFile(`${dir}/plan.md`, "Plan it.");
  const loaded = await loadCapsule(dir, { requireHash: true });
  equal(loaded.wasm, null);
  const offer = await loadStatic(loaded);
  equal(offer.contextFiles[0]?.content, "Use tabs.");
  equal(offer.contextFiles[0]?.name, "conventions");
  equal(offer.skills[0]?.content, "Be brief.");
  equal(offer.commands.map((c) => c.prompt).join("|"), "Review this|Plan it.");
  deepEqual(offer.commands.map((c) => c.kind), ["prompt", "prompt"]);
});

Deno.test("loadStatic() offers a command without prompt or path as a wasm command", async () => {
  const dir = await probeCopy(
    "cmds",
    (t) => `${t}[[command]]\nname = "status"\ndescription = "S"\n`,
  );
  const offer = await loadStatic(await loadCapsule(dir, { requireHash: true }));
  deepEqual(offer.commands, [
    { capsule: "cmds", name: "status", description: "S", kind: "wasm" },
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readStatic() refuses a file over the size cap", async () => {
  const dir = await staticCapsule("");
  await Deno.writeFile(`${dir}/big.md`, new Uint8Array(MAX_STATIC_FILE_BYTES + 1));
  const loaded = await loadCapsule(dir, { requireHash: true });
  await rejects(
    readStatic(loaded, "big.md"),
    (e: unknown) => e instanceof CapsuleError && e.code === "MANIFEST",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a static file that is a symlink out of the capsule folder is refused", async () => {
  const dir = await staticCapsule('[[context_file]]\npath = "CONTEXT.md"\n');
  await Deno.symlink("/etc/passwd", `${dir}/CONTEXT.md`);
  await rejects(
    loadStatic(await loadCapsule(dir, { requireHash: true })),
    (e: unknown) => e instanceof CapsuleError && e.code === "NOT_FOUND",
  );
});

Deno.test("a command with neither prompt nor path, and no wasm, is a manifest error", async () => {
  const dir = await staticCapsule('[[command]]\nname = "x"\n');
  await rejects(
    loadCapsule(dir, { requireHash: true }),
    (e: unknown) => e instanceof CapsuleError && e.code === "MANIFEST",
  );
});
