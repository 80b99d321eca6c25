import { deepEqual, equal } from "node:assert/strict";
import { scanArgs } from "./_launch_args.ts";

const CWD = "/u/proj";

Deno.test("scanArgs() grants init's folder, defaulting to the user's folder", () => {
  deepEqual(scanArgs(["init"], CWD).write, [CWD]);
  deepEqual(scanArgs(["init", "../other", "--json"], CWD).write, ["/u/other"]);
  equal(scanArgs(["init"], CWD).kind, "runtime");
});

Deno.test("scanArgs() reads option values in every form commander accepts", () => {
  deepEqual(scanArgs(["audit", "export", "-o", "a.jsonl"], CWD).write, [`${CWD}/a.jsonl`]);
  deepEqual(scanArgs(["audit", "export", "--output=/x/b.jsonl"], CWD).write, ["/x/b.jsonl"]);
  deepEqual(scanArgs(["audit", "export", "-oc.jsonl"], CWD).write, [`${CWD}/c.jsonl`]);
  const verify = scanArgs(["audit", "verify", "--key", "ab12", "--file", "e.jsonl"], CWD);
  deepEqual(verify.read, [`${CWD}/e.jsonl`]);
  deepEqual(verify.write, []);
  deepEqual(scanArgs(["config", "validate", "/etc/x.toml"], CWD).read, ["/etc/x.toml"]);
  deepEqual(scanArgs(["demo", "--keep", "kept"], CWD).write, [`${CWD}/kept`]);
});

Deno.test("scanArgs() finds capsule install's source past a variadic --env", () => {
  const scan = scanArgs(
    ["capsule", "install", "--env", "A=1", "B=2", "--scope", "user", "./cap"],
    CWD,
  );
  deepEqual(scan.read, [`${CWD}/cap`]);
  // A Capsule.toml names its folder.
  const file = scanArgs(["capsule", "install", "cap/Capsule.toml"], CWD, () => true);
  deepEqual(file.read, [`${CWD}/cap`]);
});

Deno.test("scanArgs() reads --workspace anywhere, with or without a folder", () => {
  equal(scanArgs(["--workspace", "ws", "tools", "list"], CWD).workspace, "ws");
  equal(scanArgs(["tools", "list", "-w", "/w"], CWD).workspace, "/w");
  equal(scanArgs(["tools", "list", "--workspace=/w2"], CWD).workspace, "/w2");
  equal(scanArgs(["capsule", "install", "./cap", "--workspace"], CWD).workspace, undefined);
  deepEqual(scanArgs(["capsule", "install", "./cap", "--workspace"], CWD).read, [`${CWD}/cap`]);
});

Deno.test("scanArgs() names nothing for a prompt or a tool's JSON arguments", () => {
  const chat = scanArgs(["chat", "-p", "/etc/passwd"], CWD);
  deepEqual([chat.read, chat.write], [[], []]);
  const call = scanArgs(["tools", "call", "write_file", "--args", '{"file_path":"/x"}'], CWD);
  deepEqual([call.read, call.write, call.command], [[], [], ["tools"]]);
});

Deno.test("scanArgs() sends capsule compile and capsule new to the toolchain", () => {
  const compile = scanArgs(["capsule", "compile", "cap", "--no-check"], CWD);
  equal(compile.kind, "toolchain");
  deepEqual(compile.toolchain, { project: `${CWD}/cap`, out: `${CWD}/cap/dist` });
  const out = scanArgs(["capsule", "compile", "cap", "-o", "/o"], CWD);
  deepEqual(out.toolchain, { project: `${CWD}/cap`, out: "/o" });
  deepEqual(scanArgs(["capsule", "new", "hello"], CWD).toolchain, {
    project: `${CWD}/hello`,
    out: `${CWD}/hello`,
  });
  deepEqual(scanArgs(["capsule", "new", "hello", "dir"], CWD).toolchain?.project, `${CWD}/dir`);
});

Deno.test("scanArgs() only lets --version and --help alone skip the relaunch", () => {
  equal(scanArgs(["--version"], CWD).kind, "print");
  equal(scanArgs(["-h"], CWD).kind, "print");
  equal(scanArgs(["tools", "call", "x", "--args", "--help"], CWD).kind, "runtime");
  equal(scanArgs(["--help", "init"], CWD).kind, "runtime");
});

Deno.test("scanArgs() names the registry hosts of oci:// references and capsule call's folder", () => {
  deepEqual(
    scanArgs(["capsule", "install", "oci://Registry.example.com:5000/caps/hello:1.0"], CWD).net,
    ["registry.example.com:5000"],
  );
  deepEqual(
    scanArgs(["capsule", "publish", "build/hello", "oci://ghcr.io/me/hello:1"], CWD).net,
    ["ghcr.io"],
  );
  deepEqual(scanArgs(["capsule", "search", "oci://127.0.0.1:5001"], CWD).net, ["127.0.0.1:5001"]);
  deepEqual(scanArgs(["capsule", "install", "./oci:/x"], CWD).net, []);
  const call = scanArgs(["capsule", "call", "build/hello", "greet", "--args", "{}"], CWD);
  equal(call.capsuleDir, "/u/proj/build/hello");
  equal(scanArgs(["tools", "call", "x"], CWD).capsuleDir, undefined);
});

Deno.test("resolvePath(), dirnameOf() and joinPath() agree with node:path's POSIX forms", async () => {
  const { dirnameOf, joinPath, resolvePath } = await import("./_launch_args.ts");
  const { posix } = await import("node:path");
  const cases = [
    ".",
    "..",
    "a",
    "./a",
    "../a",
    "a/b/../c",
    "/",
    "//",
    "/a//b/",
    "/a/./b/..",
    "/../x",
    "a/..",
    "../../..",
    "x/y/z/../../..",
    "/etc/astrid/config.toml",
    "a b/c",
    "..a/.b/c..",
    "~/x",
  ];
  for (const cwd of ["/", "/u/proj", "/u/proj/"]) {
    for (const p of cases) equal(resolvePath(cwd, p), posix.resolve(cwd, p), `${cwd} ${p}`);
  }
  equal(resolvePath("/a", "/b", "c"), posix.resolve("/a", "/b", "c"));
  equal(resolvePath("/a", "", "c"), posix.resolve("/a", "", "c"));
  for (const p of [...cases, "/a/b/", "a", "a/", "/a"]) {
    equal(dirnameOf(p), posix.dirname(p), p);
    const joined = posix.join("/h", p);
    equal(joinPath("/h", p), joined.length > 1 ? joined.replace(/\/$/, "") : joined, p);
  }
});
