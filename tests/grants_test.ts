import { equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDirs } from "./cli.ts";

interface ListedGrant {
  id: string;
  kind: string;
  resource: string;
  scope: string;
  expiresAt: string | null;
  auditSeq: number | null;
  source?: string;
}

async function grants(home: string, ws: string): Promise<ListedGrant[]> {
  const r = await runCli(["grants", "list", "--json"], { home, cwd: ws });
  equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const write = (extra: string[] = []) => [
  "tools",
  "call",
  "write_file",
  "--args",
  JSON.stringify({ file_path: "out/a.txt", content: "hi\n" }),
  ...extra,
];

async function cleanup(...dirs: string[]): Promise<void> {
  for (const d of dirs) await Deno.remove(d, { recursive: true });
}

Deno.test("grants: Allow Always mints a listed token; revoking it makes the call defer again", async () => {
  const { home, ws } = await tempDirs();
  try {
    equal((await runCli(["init", ws], { home })).code, 0);
    const first = await runCli(write(["--approve", "always"]), { home, cwd: ws });
    equal(first.code, 0, first.stderr);
    // The token covers the same call with nobody to ask.
    equal((await runCli(write(), { home, cwd: ws })).code, 0);

    const [token, ...rest] = await grants(home, ws);
    equal(rest.length, 0);
    equal(token?.kind, "token");
    equal(token?.scope, "workspace");
    equal(token?.resource, `file://${join(ws, "out", "a.txt")}`);
    ok(token?.expiresAt && Date.parse(token.expiresAt) > Date.now());
    // The audit entry that minted it is the allowed write, answered "always".
    const audit = await runCli(["audit", "show", String(token!.auditSeq), "--json"], {
      home,
      cwd: ws,
    });
    equal(audit.code, 0, audit.stderr);
    match(audit.stdout, new RegExp(`approval:always token:${token!.id}`));

    // A unique prefix is enough.
    const revoke = await runCli(["grants", "revoke", token!.id.slice(0, 8)], { home, cwd: ws });
    equal(revoke.code, 0, revoke.stderr);
    match(revoke.stdout, /revoked token .* audit #\d+/);
    equal((await grants(home, ws)).length, 0);
    const again = await runCli(write(), { home, cwd: ws });
    equal(again.code, 4, again.stderr);
    match(again.stderr, /waiting for approval/);

    const log = JSON.parse((await runCli(["audit", "list", "--json"], { home, cwd: ws })).stdout);
    ok(log.some((e: { action: { kind: string } }) => e.action.kind === "grant_revoked"));
    // Revoking it twice: the id is unknown now (exit 1).
    equal((await runCli(["grants", "revoke", token!.id], { home, cwd: ws })).code, 1);
  } finally {
    await cleanup(home, ws);
  }
});

Deno.test("grants: a session allowance is listed and revoked; the session asks again", async () => {
  const { home, ws } = await tempDirs();
  try {
    await runCli(["init", ws], { home });
    const session = crypto.randomUUID();
    const allow = await runCli(write(["--approve", "session", "--session", session]), {
      home,
      cwd: ws,
    });
    equal(allow.code, 0, allow.stderr);
    equal((await runCli(write(["--session", session]), { home, cwd: ws })).code, 0);
    const [allowance] = await grants(home, ws);
    equal(allowance?.kind, "allowance");
    equal(allowance?.scope, "session");
    equal(allowance?.expiresAt, null);
    ok(typeof allowance?.auditSeq === "number");
    const revoke = await runCli(["grants", "revoke", allowance!.id, "--json"], {
      home,
      cwd: ws,
    });
    equal(revoke.code, 0, revoke.stderr);
    equal(JSON.parse(revoke.stdout).grant.id, allowance!.id);
    equal((await runCli(write(["--session", session]), { home, cwd: ws })).code, 4);
  } finally {
    await cleanup(home, ws);
  }
});

Deno.test("grants: a standing rule is listed with its config line and cannot be revoked (exit 2)", async () => {
  const { home, ws } = await tempDirs();
  try {
    await runCli(["init", ws], { home });
    const config = join(home, "config.toml");
    const pattern = `file://${ws}/out/**`;
    await Deno.writeTextFile(
      config,
      `# mine\n[permissions]\nallow = [${JSON.stringify(pattern)}]\n`,
    );
    const [rule] = await grants(home, ws);
    equal(rule?.kind, "rule");
    equal(rule?.scope, "user");
    equal(rule?.source, `${config}:3`);
    const refused = await runCli(["grants", "revoke", rule!.id], { home, cwd: ws });
    equal(refused.code, 2);
    match(refused.stderr, /does not edit your config/);
    ok(refused.stderr.includes(`${config}:3`));
    // The rule still covers the write.
    equal((await runCli(write(), { home, cwd: ws })).code, 0);
    const human = await runCli(["grants", "list"], { home, cwd: ws });
    match(human.stdout, /rule-[0-9a-f]{12}\s+rule\s+user/);
  } finally {
    await cleanup(home, ws);
  }
});

Deno.test("grants revoke of an unknown id exits 1", async () => {
  const { home, ws } = await tempDirs();
  try {
    await runCli(["init", ws], { home });
    const r = await runCli(["grants", "revoke", "00000000-dead"], { home, cwd: ws });
    equal(r.code, 1);
    match(r.stderr, /no grant has that id/);
  } finally {
    await cleanup(home, ws);
  }
});

Deno.test("permissionsCommand() lists and revokes over a live session's stores", async () => {
  const { openStore } = await import("../runtime/storage/mod.ts");
  const { generateSeed, signerFromSeed, toHex } = await import("../runtime/crypto/mod.ts");
  const { AuditLog } = await import("../runtime/audit/mod.ts");
  const { TokenStore } = await import("../runtime/security/token_store.ts");
  const { AllowanceStore } = await import("../runtime/security/allowances.ts");
  const { mintToken } = await import("../runtime/security/tokens.ts");
  const { permissionsCommand } = await import("../runtime/cli/commands/grants.ts");
  using store = await openStore(":memory:");
  const signer = signerFromSeed(generateSeed());
  const audit = await AuditLog.open(store, signer);
  const trusted = { trustedIssuers: [toHex(signer.publicKey)] };
  const tokens = await TokenStore.open(store, trusted);
  const allowances = await AllowanceStore.load(store, "s1", signer);
  const token = mintToken(signer, {
    resource: "exec://npm test",
    permissions: ["execute"],
    scope: "persistent",
    subject: "ws-1",
    auditId: 7,
  });
  await tokens.add(token);
  const allowance = await allowances.add("exec://ls", "execute");
  const src = {
    store,
    signer,
    audit,
    allow: ["exec://git status"],
    origin: { systemConfig: null, userConfig: null, env: {} },
    tokens,
    session: { id: "s1", allowances },
  };
  const listed = (await permissionsCommand("", src)).join("\n");
  ok(listed.includes(token.id) && listed.includes(allowance.id) && listed.includes("rule-"));
  match(listed, /#7/);
  // Another instance (the CLI) still sees the token until the live session revokes it.
  const elsewhere = await TokenStore.open(store, trusted);
  const revoked = await permissionsCommand(`revoke ${token.id}`, src);
  match(revoked[0] ?? "", /revoked token/);
  equal(tokens.findCovering(["exec://npm test"], "execute", ["ws-1"]), null);
  const seen = await elsewhere.consume(elsewhere.get(token.id)!);
  equal(seen.ok ? "" : seen.code, "REVOKED");
  await permissionsCommand(`revoke ${allowance.id}`, src);
  equal(allowances.find(["exec://ls"], "execute"), null);
  match((await permissionsCommand("revoke rule-", src))[0] ?? "", /no grant|does not edit/);
  match((await permissionsCommand("bogus", src))[0] ?? "", /usage/);
  await audit.close();
});

Deno.test("the approval prompt says how long Allow Always lasts; suggestions stay in the workspace", async () => {
  const { describeRequest } = await import("../runtime/cli/prompt.ts");
  const { suggestFor } = await import("../runtime/security/coverage.ts");
  const text = describeRequest({
    id: "r",
    sessionId: "s",
    action: { kind: "file_write", path: "/ws/a" } as never,
    info: { resource: "file:///ws/a", permission: "write", risk: "medium", summary: "write /ws/a" },
    reason: "safe mode asks",
    suggestions: ["file:///ws/a"],
    alwaysTtlMs: 900_000,
  });
  match(text, /\[a\] grants it for 15 minutes/);
  const inside = { inside: true, escape: false, autoApprove: false, reason: "", outside: [] };
  equal(suggestFor("file:///ws/src/a.ts", inside, "/ws").at(-1), "file:///ws/src/**");
  // Unknown paths (words expanded at run time): only the exact command, never a prefix.
  const unknown = { ...inside, inside: false };
  equal(suggestFor("exec://cat $HOME/x y", unknown, "/ws").length, 1);
  // An escape: only patterns naming the outside path.
  const escape = { ...unknown, escape: true, outside: ["/srv/data/x"] };
  for (const p of suggestFor("file:///srv/data/x", escape, "/ws")) ok(p.startsWith("file:///srv/"));
});
