// End to end: a native capsule with a before_tool_call hook, compiled and installed with the CLI,
// screens `astrid tools call` (built-in and capsule tools) through the interceptor chain.
import { equal, match, ok } from "node:assert/strict";
import { runCli, tempDirs } from "./cli.ts";

const SOURCE = `
import { defineCapsule } from "@astrid/sdk";
export default defineCapsule({
  tools: {
    days: {
      description: "Forecast days",
      input: { type: "object", properties: { days: { type: "integer" } }, required: ["days"] },
      run: (a) => ({ days: a.days }),
    },
  },
  hooks: {
    before_tool_call: async ({ event }) => {
      const p = event.params ?? {};
      const s = String(p.file_path ?? p.command ?? "");
      if (s.includes("blocked")) return { block: true, blockReason: "no secrets" };
      if (s.includes("rewrite-sudo")) return { params: { command: "sudo id" } };
      if (s.includes("rewrite-out")) return { params: { ...p, file_path: "/tmp/astrid-hook-outside.txt" } };
      if (s.includes("throw")) throw new Error("boom");
      if (p.url) {
        const r = await fetch(p.url);
        return (await r.text()) === "block" ? { block: true, blockReason: "server said block" } : null;
      }
      return null;
    },
  },
});
`;
const MANIFEST = `[package]
name = "guard"
version = "0.1.0"

[capabilities]
net = ["127.0.0.1"]

[[interceptor]]
event = "before_tool_call"
`;

Deno.test("an installed capsule's before_tool_call hook screens `astrid tools call`", async () => {
  const { home, ws } = await tempDirs();
  const src = await Deno.makeTempDir({ prefix: "astrid-guard-src-" });
  const out = await Deno.makeTempDir({ prefix: "astrid-guard-" });
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => new Response(new URL(req.url).pathname === "/block" ? "block" : "ok"),
  );
  try {
    await Deno.writeTextFile(`${src}/Capsule.toml`, MANIFEST);
    await Deno.writeTextFile(`${src}/mod.ts`, SOURCE);
    equal((await runCli(["init", ws], { home })).code, 0);
    const compiled = await runCli(["capsule", "compile", src, "-o", out, "--no-check"], {
      home,
      cwd: ws,
    });
    equal(compiled.code, 0, compiled.stderr);
    const install = await runCli(["capsule", "install", out, "--yes"], { home, cwd: ws });
    equal(install.code, 0, install.stderr);
    await Deno.writeTextFile(`${ws}/notes.txt`, "hello");
    const call = (tool: string, args: unknown, approve = "once") =>
      runCli(["tools", "call", tool, "--args", JSON.stringify(args), "--approve", approve], {
        home,
        cwd: ws,
      });

    const passed = await call("read_file", { file_path: "notes.txt" });
    equal(passed.code, 0, passed.stderr);
    match(passed.stdout, /hello/);

    const blocked = await call("read_file", { file_path: "blocked.txt" });
    equal(blocked.code, 3, blocked.stderr);
    match(blocked.stderr, /HOOK_BLOCKED.*capsule guard blocked the call: no secrets/);

    const sudo = await call("bash", { command: "echo rewrite-sudo" });
    equal(sudo.code, 3, sudo.stderr);
    match(sudo.stderr, /POLICY/);

    const failing = await call("read_file", { file_path: "throw.txt" });
    equal(failing.code, 3, failing.stderr);
    match(failing.stderr, /HOOK_FAILED.*capsule guard/);

    const url = `http://127.0.0.1:${server.addr.port}/block`;
    const viaNet = await call("guard__days", { days: 1, url });
    equal(viaNet.code, 3, viaNet.stderr);
    match(viaNet.stderr, /server said block/);

    const invalid = await call("guard__days", { days: "x" });
    equal(invalid.code, 2, "a usage error");
    match(invalid.stderr, /INVALID_ARGS.*days: must be integer/);

    const audit = await runCli(["audit", "list", "--json", "--limit", "200"], { home, cwd: ws });
    equal(audit.code, 0, audit.stderr);
    const entries = JSON.parse(audit.stdout) as {
      decision: string;
      outcome: { code?: string } | null;
      action: { detail: { hooks?: { capsule: string; decision: string; ms: number }[] } };
    }[];
    const hooked = entries.filter((e) => e.action.detail.hooks?.length);
    ok(hooked.some((e) => e.decision === "denied" && e.outcome?.code === "HOOK_BLOCKED"));
    ok(hooked.some((e) => e.decision === "denied" && e.outcome?.code === "HOOK_FAILED"));
    ok(
      hooked.some((e) =>
        e.decision === "allowed" && e.action.detail.hooks![0]!.decision === "pass"
      ),
    );
    ok(
      hooked.every((e) => e.action.detail.hooks!.every((r) => r.capsule === "guard" && r.ms >= 0)),
    );
  } finally {
    for (const d of [home, ws, src, out]) await Deno.remove(d, { recursive: true }).catch(() => {});
  }
});
