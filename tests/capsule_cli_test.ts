import { equal, match } from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDirs } from "./cli.ts";

const HELLO = new URL("../examples/hello", import.meta.url).pathname;

Deno.test("a compiled capsule installs, lists its tool, runs through the gate, and a swapped wasm exits 5", async () => {
  const { home, ws } = await tempDirs();
  await runCli(["init", ws], { home });
  const out = join(home, "hello-build");
  const compile = await runCli(["capsule", "compile", HELLO, "-o", out], { home, cwd: ws });
  equal(compile.code, 0, compile.stderr);
  const install = await runCli(["capsule", "install", out, "--yes"], { home, cwd: ws });
  equal(install.code, 0, install.stderr);
  const list = await runCli(["tools", "list", "--json"], { home, cwd: ws });
  equal(list.code, 0, list.stderr);
  const names = JSON.parse(list.stdout).map((t: { name: string }) => t.name);
  equal(names.includes("hello__greet"), true);

  const args = ["tools", "call", "hello__greet", "--args", JSON.stringify({ name: "Ada" })];
  equal((await runCli(args, { home, cwd: ws })).code, 4, "safe mode defers with nobody to ask");
  const call = await runCli([...args, "--approve", "once"], { home, cwd: ws });
  equal(call.code, 0, call.stderr);
  match(call.stdout, /Hello, Ada!/);

  const info = JSON.parse(
    (await runCli(["capsule", "info", "hello", "--json"], { home, cwd: ws })).stdout,
  );
  const wasm: string = info.wasm?.path ?? info.wasmPath;
  const bytes = await Deno.readFile(wasm);
  bytes[bytes.length - 1] = bytes.at(-1)! ^ 0xff;
  await Deno.writeFile(wasm, bytes);
  const swapped = await runCli(["capsule", "info", "hello"], { home, cwd: ws });
  equal(swapped.code, 5, swapped.stderr);
});

Deno.test("capsule install PATH --workspace installs into the nearest workspace; without it, for the user", async () => {
  const { home, ws } = await tempDirs();
  await runCli(["init", ws], { home });
  const out = join(home, "hello-build");
  equal((await runCli(["capsule", "compile", HELLO, "-o", out], { home, cwd: ws })).code, 0);
  const inWs = await runCli(["capsule", "install", out, "--workspace", "--yes"], { home, cwd: ws });
  equal(inWs.code, 0, inWs.stderr);
  match(inWs.stdout, /\(workspace\) in .*\.astrid/);
  const listed = await runCli(["capsule", "list", "--json"], { home, cwd: ws });
  equal(JSON.parse(listed.stdout).capsules[0]?.scope, "workspace");
  equal((await runCli(["capsule", "remove", "hello"], { home, cwd: ws })).code, 0);
  const forUser = await runCli(["capsule", "install", out, "--yes"], { home, cwd: ws });
  match(forUser.stdout, /\(user\)/);
  const elsewhere = await runCli(["capsule", "install", out, "--workspace", "--yes"], {
    home,
    cwd: home,
  });
  equal(elsewhere.code, 2, "no workspace here: a usage error");
  match(elsewhere.stderr, /no \.astrid\/ folder/);
});
