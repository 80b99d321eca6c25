/**
 * Issue 3's hostile cases, end to end in-process: each tool call goes through the real
 * interceptor, the real executors (Deno Worker, bubblewrap) and a real audit log on disk KV.
 */
import { equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { openStore, type Store } from "../runtime/storage/mod.ts";
import { generateSeed, signerFromSeed } from "../runtime/crypto/mod.ts";
import { AuditLog } from "../runtime/audit/mod.ts";
import { type AstridConfig, DEFAULT_CONFIG } from "../runtime/config/mod.ts";
import { openGate } from "../runtime/security/gate.ts";
import { type Frontend, PresetFrontend } from "../runtime/security/approval.ts";
import { createToolSession, type InvokeOutcome, invokeTool } from "../runtime/tools/invoke.ts";

interface World {
  ws: string;
  outside: string;
  store: Store;
  audit: AuditLog;
  call(name: string, args: unknown): Promise<InvokeOutcome>;
  close(): Promise<void>;
}

async function world(
  frontend: Frontend | null = null,
  patch: (c: AstridConfig) => void = () => {},
): Promise<World> {
  const dir = await Deno.makeTempDir();
  const store = await openStore(join(dir, "state.kv"));
  const signer = signerFromSeed(generateSeed());
  const audit = await AuditLog.open(store, signer, { checkpointSeconds: 3600 });
  const ws = await Deno.realPath(await Deno.makeTempDir({ prefix: "ws-" }));
  const outside = await Deno.realPath(await Deno.makeTempDir({ prefix: "outside-" }));
  const config = structuredClone(DEFAULT_CONFIG) as AstridConfig;
  patch(config);
  const gate = await openGate({
    store,
    signer,
    audit,
    config,
    workspaceRoot: ws,
    workspaceId: "ws",
    sessionId: "hostile",
    frontend,
  });
  const session = await createToolSession({
    workspaceRoot: ws,
    sessionId: "hostile",
    sandbox: "bwrap",
    outputLimitChars: 30_000,
  });
  return {
    ws,
    outside,
    store,
    audit,
    call: (name, args) => invokeTool(gate.interceptor, session, name, args),
    close: async () => {
      session.files.close();
      await audit.close();
      store.close();
    },
  };
}

const autonomous = (c: AstridConfig) => {
  c.workspace.mode = "autonomous";
};

async function assertDeniedAndAudited(w: World, outcome: InvokeOutcome, code?: string) {
  equal(outcome.status, "denied", JSON.stringify(outcome));
  if (outcome.status !== "denied") return;
  if (code) equal(outcome.code, code, outcome.reason);
  ok(outcome.auditSeq !== null, "the denial has an audit entry");
  equal((await w.audit.get(outcome.auditSeq!))?.decision, "denied");
}

Deno.test("hostile paths are denied and audited: traversal, /etc, /proc/self/root, symlink to /etc, NUL", async () => {
  const w = await world(new PresetFrontend({ choice: "once" }), autonomous);
  await Deno.symlink("/etc", join(w.ws, "etc-link"));
  await assertDeniedAndAudited(
    w,
    await w.call("read_file", { file_path: "../../etc/passwd" }),
    "POLICY",
  );
  await assertDeniedAndAudited(
    w,
    await w.call("read_file", { file_path: "/etc/passwd" }),
    "POLICY",
  );
  await assertDeniedAndAudited(
    w,
    await w.call("read_file", { file_path: "/proc/self/root/etc/passwd" }),
    "POLICY",
  );
  await assertDeniedAndAudited(
    w,
    await w.call("read_file", { file_path: "etc-link/passwd" }),
    "POLICY",
  );
  await assertDeniedAndAudited(w, await w.call("read_file", { file_path: "a\0b" }), "MALFORMED");
  await w.close();
});

Deno.test("a symlink swapped in after the check is refused by the executor's open-then-verify", async () => {
  const w = await world(null, autonomous);
  const target = join(w.ws, "innocent.txt");
  await Deno.writeTextFile(target, "fine\n");
  await Deno.writeTextFile(join(w.outside, "secret.txt"), "secret\n");
  // Classification sees a plain file inside the workspace; the swap happens before the run.
  const session = await createToolSession({
    workspaceRoot: w.ws,
    sessionId: "race",
    sandbox: "bwrap",
    outputLimitChars: 30_000,
  });
  const { readFileTool } = await import("../runtime/tools/mod.ts");
  const args = readFileTool.parse({ file_path: "innocent.txt" });
  await readFileTool.classify(args, session.ctx);
  await Deno.remove(target);
  await Deno.symlink(join(w.outside, "secret.txt"), target);
  let refused = false;
  try {
    const r = await readFileTool.run(args, session.ctx, {
      files: session.files,
      shell: session.shell,
    });
    refused = !r.output.includes("secret");
  } catch (err) {
    refused = true;
    match((err as Error).message, /outside|not capable|NotCapable|Cannot/i);
  }
  ok(refused, "the swapped symlink was followed");
  session.files.close();
  // Through the full path, the swapped link now resolves outside and the call is not allowed.
  const full = await w.call("read_file", { file_path: "innocent.txt" });
  ok(full.status === "deferred" || full.status === "denied", JSON.stringify(full));
  await w.close();
});

Deno.test("every sudo disguise in a bash line is denied by policy and audited", async () => {
  const w = await world(new PresetFrontend({ choice: "always" }), autonomous);
  for (
    const command of [
      "sudo ls",
      "echo ok && sudo ls",
      "echo $(sudo id)",
      "echo `sudo id`",
      "env sudo id",
      "/usr/bin/sudo id",
      "bash -c 'sudo id'",
      "rm -rf /",
      "echo pwned | tee /etc/passwd",
    ]
  ) {
    await assertDeniedAndAudited(w, await w.call("bash", { command }), "POLICY");
  }
  await w.close();
});

Deno.test("bash has no network without approval, even when the command is not seen as networking", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("pong"),
  );
  const port = server.addr.port;
  const w = await world(null, autonomous);
  // curl is classified as a network request: it needs approval, and nobody is there.
  const curl = await w.call("bash", { command: `curl -s http://127.0.0.1:${port}/` });
  equal(curl.status, "deferred");
  // A perl one-liner is not recognised as networking, so the mode allows the command; bwrap
  // still runs it with no network namespace, so the connection fails.
  const sneaky = await w.call("bash", {
    command:
      `perl -MIO::Socket::INET -e 'IO::Socket::INET->new("127.0.0.1:${port}") or exit 7; print "connected"'`,
  });
  equal(sneaky.status, "ok");
  if (sneaky.status === "ok") {
    ok(sneaky.result.isError);
    ok(!sneaky.result.output.includes("connected"));
  }
  await w.close();
  await server.shutdown();
});

Deno.test("edit_file outside the workspace in safe mode asks the human; a refusal is audited", async () => {
  const w = await world(new PresetFrontend({ choice: "deny" }));
  const file = join(w.outside, "notes.txt");
  await Deno.writeTextFile(file, "keep me\n");
  const r = await w.call("edit_file", { file_path: file, old_string: "keep", new_string: "lose" });
  await assertDeniedAndAudited(w, r, "HUMAN_DENIED");
  equal(await Deno.readTextFile(file), "keep me\n");
  await w.close();
});

Deno.test("a bash command past its timeout is killed with its children", async () => {
  const w = await world(null, autonomous);
  const tag = `astrid-timeout-${crypto.randomUUID().slice(0, 8)}`;
  // A duration no other process on the machine uses, so pgrep sees only this test's sleeps.
  const secs = `300.${Math.floor(Math.random() * 1e6)}`;
  const r = await w.call("bash", {
    command: `sleep ${secs} & exec -a ${tag} sleep ${secs}`,
    timeout: 500,
  });
  equal(r.status, "ok");
  if (r.status === "ok") {
    ok(r.result.isError);
    match(r.result.output, /timeout/);
  }
  await new Promise((res) => setTimeout(res, 200));
  const left = await new Deno.Command("pgrep", { args: ["-f", `sleep ${secs}`], stdout: "piped" })
    .output();
  equal(new TextDecoder().decode(left.stdout).trim(), "", "a sleep survived the timeout");
  await w.close();
});

Deno.test("tools do real work inside the workspace in autonomous mode, and the outcomes are audited", async () => {
  const w = await world(null, autonomous);
  equal(
    (await w.call("write_file", { file_path: "src/a.ts", content: "let x = 1;\n" })).status,
    "ok",
  );
  equal(
    (await w.call("edit_file", { file_path: "src/a.ts", old_string: "1", new_string: "2" })).status,
    "ok",
  );
  const read = await w.call("read_file", { file_path: "src/a.ts" });
  ok(read.status === "ok" && read.result.output.includes("let x = 2;"));
  equal(read.status === "ok" && read.trust, "untrusted");
  const bash = await w.call("bash", { command: "cd src && ls" });
  ok(bash.status === "ok" && bash.result.output.includes("a.ts"));
  const outcomes = (await w.audit.list()).filter((e) => e.decision === "outcome");
  equal(outcomes.length, 5, "one outcome per allowed action (cd and ls are two commands)");
  await w.close();
});
