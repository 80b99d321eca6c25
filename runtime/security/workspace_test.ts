import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { canonicalizePath, openConfined, PathError, WorkspaceBoundary } from "./workspace.ts";
import { openConfinedWith } from "./_open_confined.ts";
import type { Action } from "./action.ts";
import { AdminPolicy, DEFAULT_POLICY } from "./policy.ts";

async function fixture(): Promise<{ base: string; ws: string; outside: string }> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid_ws_" }));
  const ws = `${base}/ws`;
  const outside = `${base}/outside`;
  await Deno.mkdir(`${ws}/src`, { recursive: true });
  await Deno.mkdir(outside);
  await Deno.writeTextFile(`${ws}/src/a.txt`, "inside");
  await Deno.writeTextFile(`${outside}/secret.txt`, "outside");
  return { base, ws, outside };
}

async function isPathError(p: Promise<unknown>, re: RegExp): Promise<void> {
  await rejects(
    p,
    (e: unknown) => e instanceof PathError && e.code === "PATH" && re.test(e.message),
  );
}

Deno.test("canonicalizePath() resolves ../ traversal out of the workspace to its real target", async () => {
  const { base, ws } = await fixture();
  equal(await canonicalizePath("../../etc/passwd", `${ws}/src`), `${base}/etc/passwd`);
  equal(await canonicalizePath("../../../../../../../../etc/passwd", ws), "/etc/passwd");
  equal(await canonicalizePath("/etc/./../etc//passwd", ws), "/etc/passwd");
  equal(await canonicalizePath("src/./new/../a.txt", ws), `${ws}/src/a.txt`);
  await Deno.remove(base, { recursive: true });
});

Deno.test("canonicalizePath() follows symlinks the way the kernel does", async () => {
  const { base, ws, outside } = await fixture();
  await Deno.symlink("/etc", `${ws}/etc_link`);
  const viaLink = await canonicalizePath("etc_link/passwd", ws);
  equal(viaLink, "/etc/passwd");
  equal(new AdminPolicy(DEFAULT_POLICY).check({ kind: "file_read", path: viaLink }).ok, false);
  // link/.. is the parent of the link's target, not the workspace.
  await Deno.symlink(outside, `${ws}/out`);
  equal(await canonicalizePath("out/../x", ws), `${base}/x`);
  // A not-yet-existing file under a symlinked folder outside.
  equal(await canonicalizePath("out/new/deeper.txt", ws), `${outside}/new/deeper.txt`);
  // A dangling symlink is followed: writing through it would create the target.
  await Deno.symlink(`${outside}/not_yet`, `${ws}/dangling`);
  equal(await canonicalizePath("dangling", ws), `${outside}/not_yet`);
  await Deno.symlink("missing_rel", `${ws}/src/rel_dangling`);
  equal(await canonicalizePath("src/rel_dangling", ws), `${ws}/src/missing_rel`);
  equal(await canonicalizePath("/proc/self/root/etc/passwd", ws), "/etc/passwd");
  await Deno.remove(base, { recursive: true });
});

Deno.test("canonicalizePath() reports symlink loops clearly", async () => {
  const { base, ws } = await fixture();
  await Deno.symlink(`${ws}/loop_b`, `${ws}/loop_a`);
  await Deno.symlink(`${ws}/loop_a`, `${ws}/loop_b`);
  await isPathError(canonicalizePath("loop_a/x", ws), /symlink loop/);
  await Deno.symlink("self", `${ws}/self`);
  await isPathError(canonicalizePath("self", ws), /symlink loop/);
  await Deno.remove(base, { recursive: true });
});

Deno.test("canonicalizePath() rejects malformed input with PathError", async () => {
  await isPathError(canonicalizePath("a\0b", "/tmp"), /NUL/);
  await isPathError(canonicalizePath("evil\u202Etxt.exe", "/tmp"), /U\+202E/);
  await isPathError(canonicalizePath("a\u2066b", "/tmp"), /U\+2066/);
  await isPathError(canonicalizePath("zero\u200Bwidth", "/tmp"), /U\+200B/);
  await isPathError(canonicalizePath("bell\u0007", "/tmp"), /U\+0007/);
  await isPathError(canonicalizePath("c1\u0085", "/tmp"), /U\+0085/);
  await isPathError(canonicalizePath("a".repeat(4097), "/tmp"), /4097 bytes/);
  await isPathError(canonicalizePath("", "/tmp"), /empty/);
  await isPathError(canonicalizePath("x", "relative"), /not absolute/);
  await isPathError(canonicalizePath(42 as unknown as string, "/tmp"), /number/);
  // NFC: a decomposed é and a composed é name the same path.
  equal(await canonicalizePath("/tmp/cafe\u0301", "/"), "/tmp/caf\u00e9");
});

Deno.test("WorkspaceBoundary.contains() refuses prefix tricks", async () => {
  const { base, ws } = await fixture();
  const b = await WorkspaceBoundary.create(ws, "safe", "deny");
  equal(b.root, ws);
  ok(b.contains(ws));
  ok(b.contains(`${ws}/src/a.txt`));
  ok(!b.contains(`${ws}-evil/a.txt`));
  ok(!b.contains(`${ws}-evil`));
  ok(!b.contains(base));
  await Deno.remove(base, { recursive: true });
});

Deno.test("WorkspaceBoundary.create() canonicalises the root and validates its inputs", async () => {
  const { base, ws } = await fixture();
  await Deno.symlink(ws, `${base}/ws_link`);
  equal((await WorkspaceBoundary.create(`${base}/ws_link/`, "guided", "ask")).root, ws);
  await isPathError(WorkspaceBoundary.create(`${ws}/missing`, "safe", "ask"), /not an existing/);
  await rejects(WorkspaceBoundary.create(ws, "yolo" as "safe", "ask"), TypeError);
  await rejects(WorkspaceBoundary.create(ws, "safe", "maybe" as "ask"), TypeError);
  const b = await WorkspaceBoundary.create(ws, "safe", "ask");
  equal(await b.resolve("src/a.txt"), `${ws}/src/a.txt`);
  equal(await b.resolve("a.txt", `${ws}/src`), `${ws}/src/a.txt`);
  await Deno.remove(base, { recursive: true });
});

Deno.test("classify() differs across safe, guided and autonomous on the same actions", async () => {
  const { base, ws } = await fixture();
  const actions: Action[] = [
    { kind: "file_read", path: `${ws}/src/a.txt` },
    { kind: "file_write", path: `${ws}/src/a.txt` },
    { kind: "file_delete", path: `${ws}/src/a.txt` },
    { kind: "execute_command", argv: ["ls", "src"], line: "ls src" },
    { kind: "capsule_file_access", capsule: "c", capability: "fs_stat", path: `${ws}/src` },
    { kind: "file_read", path: "/etc/passwd" },
    { kind: "network_request", url: "https://example.org/" },
  ];
  const expected: Record<string, boolean[]> = {
    safe: [false, false, false, false, false, false, false],
    guided: [true, false, false, false, true, false, false],
    autonomous: [true, true, true, true, true, false, false],
  };
  for (const mode of ["safe", "guided", "autonomous"] as const) {
    const b = await WorkspaceBoundary.create(ws, mode, "ask");
    deepEqual(actions.map((a) => b.classify(a).autoApprove), expected[mode], mode);
  }
  await Deno.remove(base, { recursive: true });
});

Deno.test("classify() marks escapes and never auto-approves them", async () => {
  const { base, ws } = await fixture();
  const b = await WorkspaceBoundary.create(ws, "autonomous", "deny");
  const escapes: Action[] = [
    { kind: "file_read", path: "/etc/passwd" },
    { kind: "file_write", path: `${ws}-evil/x` },
    { kind: "execute_command", argv: ["cat", "/etc/passwd"] },
    { kind: "execute_command", argv: ["cat", "../../etc/passwd"], cwd: `${ws}/src` },
    { kind: "execute_command", argv: ["ls"], cwd: "/tmp" },
    { kind: "execute_command", argv: ["sh"], line: "echo x > /tmp/out" },
    { kind: "execute_command", argv: ["sh"], line: "cd .. && rm -rf x" },
    { kind: "execute_command", argv: ["cp", "a", "--target-directory=/opt"] },
    { kind: "execute_command", argv: ["cat", "~/.ssh/id_rsa"] },
  ];
  for (const a of escapes) {
    const d = b.classify(a);
    deepEqual([d.inside, d.escape, d.autoApprove], [false, true, false], JSON.stringify(a));
    ok(d.reason.includes("escape_policy is deny"), d.reason);
  }
  await Deno.remove(base, { recursive: true });
});

Deno.test("classify() leaves non-file actions, dynamic and unparseable commands to a prompt", async () => {
  const { base, ws } = await fixture();
  const b = await WorkspaceBoundary.create(ws, "autonomous", "ask");
  const neither: Action[] = [
    { kind: "network_request", url: "https://example.org" },
    { kind: "mcp_tool_call", server: "s", tool: "t" },
    { kind: "capsule_tool_call", capsule: "c", tool: "t" },
    { kind: "sub_agent_spawn", parentSession: "p", description: "d" },
    { kind: "transmit_data", destination: "x", bytes: 1 },
    { kind: "financial_transaction", payee: "p", amountUsd: 1 },
    { kind: "capability_grant", resource: "file:///x", permissions: ["read"] },
    { kind: "execute_command", argv: ["sh"], line: "rm -rf $TARGET" },
    { kind: "execute_command", argv: ["sh"], line: "echo 'unterminated" },
  ];
  for (const a of neither) {
    const d = b.classify(a);
    deepEqual([d.inside, d.escape, d.autoApprove], [false, false, false], a.kind);
  }
  const ok1 = b.classify({
    kind: "execute_command",
    argv: ["sh"],
    line: "npm test 2>/dev/null > out.log",
  });
  deepEqual([ok1.inside, ok1.escape, ok1.autoApprove], [true, false, true]);
  await Deno.remove(base, { recursive: true });
});

Deno.test("openConfined() opens inside files and refuses escapes", async () => {
  const { base, ws, outside } = await fixture();
  const f = await openConfined("src/a.txt", ws, { read: true });
  f.close();
  await Deno.symlink(outside, `${ws}/out`);
  await isPathError(openConfined("out/secret.txt", ws, { read: true }), /outside/);
  await isPathError(openConfined(`${outside}/secret.txt`, ws, { read: true }), /outside/);
  await Deno.remove(base, { recursive: true });
});

Deno.test("openConfined() refuses a symlink swapped in after the check", async () => {
  const { base, ws, outside } = await fixture();
  const swap = async () => {
    await Deno.remove(`${ws}/src`, { recursive: true });
    await Deno.symlink(outside, `${ws}/src`);
    await Deno.writeTextFile(`${outside}/a.txt`, "outside!");
  };
  await isPathError(
    openConfinedWith("src/a.txt", ws, { read: true, write: true, truncate: true }, {
      beforeOpen: swap,
    }),
    /swapped/,
  );
  // The truncate was held back until verification, so the outside file is intact.
  equal(await Deno.readTextFile(`${outside}/a.txt`), "outside!");
  await Deno.remove(base, { recursive: true });
});

Deno.test("openConfined() refuses a file replaced between open and verification", async () => {
  const { base, ws } = await fixture();
  await isPathError(
    openConfinedWith("src/a.txt", ws, { read: true }, {
      afterOpen: async () => {
        await Deno.remove(`${ws}/src/a.txt`);
        await Deno.writeTextFile(`${ws}/src/a.txt`, "replacement");
      },
    }),
    /changed/,
  );
  await Deno.remove(base, { recursive: true });
});

Deno.test("openConfined() under a racing swapper never yields the outside file", async () => {
  const { base, ws, outside } = await fixture();
  await Deno.mkdir(`${ws}/real`);
  await Deno.writeTextFile(`${ws}/real/f.txt`, "inside");
  await Deno.writeTextFile(`${outside}/f.txt`, "outside");
  await Deno.symlink(`${ws}/real`, `${ws}/d`);
  let running = true;
  const swapper = (async () => {
    let flip = false;
    while (running) {
      flip = !flip;
      await Deno.symlink(flip ? outside : `${ws}/real`, `${ws}/d.tmp`);
      await Deno.rename(`${ws}/d.tmp`, `${ws}/d`);
      await new Promise((r) => setTimeout(r, 0));
    }
  })();
  let opened = 0;
  let refused = 0;
  for (let i = 0; i < 200; i++) {
    try {
      const file = await openConfined("d/f.txt", ws, { read: true });
      const buf = new Uint8Array(16);
      const n = await file.read(buf);
      file.close();
      equal(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "inside");
      opened++;
    } catch (e) {
      ok(e instanceof PathError, String(e));
      refused++;
    }
  }
  running = false;
  await swapper;
  equal(opened + refused, 200);
  await Deno.remove(base, { recursive: true });
});
