/**
 * The registry section of `astrid demo`: a first-party capsule (capsules/code-mode) is published,
 * signed by a publisher key, to a loopback OCI registry (Debian's `docker-registry`), installed in
 * a fresh home (the publisher's key pinned on first use) and called; then the same tag is
 * re-published signed by another key, and the fresh home refuses it (exit 5).
 *
 * @module
 */
import type { AgentDemoContext, DemoRun } from "./_demo_agent.ts";

const CODE_MODE = decodeURIComponent(
  new URL("../../../capsules/code-mode", import.meta.url).pathname,
);

/** Runs the section; `expect` throws when a step exits with another code. */
export async function registryDemo(
  ctx: AgentDemoContext,
  expect: (run: DemoRun, code: number, what: string) => void,
): Promise<void> {
  const { note } = ctx;
  const { startRegistry } = await import("../../registry/loopback_registry.ts");
  let registry;
  try {
    registry = await startRegistry();
  } catch (e) {
    note(`(skipped: no loopback registry could start: ${(e as Error).message})`);
    return;
  }
  try {
    const ref = `${registry.url}/astrid/code-mode:0.1.0`;
    note(`A loopback OCI registry (Debian's docker-registry) listens at ${registry.httpUrl}.`);
    note("The author publishes a first-party capsule; its signature uses a publisher key:");
    expect(await ctx.astrid(["capsule", "publish", CODE_MODE, ref]), 0, "publish");

    const user = `${ctx.home}-another-user`;
    await Deno.mkdir(user, { recursive: true });
    const asUser = { ASTRID_HOME: user };
    note("Someone else, in a fresh home, installs it by reference: every blob's digest, the");
    note("signature and the BLAKE3 pin are checked, and the publisher's key is pinned:");
    expect(await ctx.astrid(["capsule", "install", ref, "--yes"], asUser), 0, "install REF");
    expect(
      await ctx.astrid([
        "tools",
        "call",
        "code-mode__run",
        "--args",
        JSON.stringify({ code: "return [1, 2, 3].map((n) => n * 14)" }),
        "--approve",
        "once",
      ], asUser),
      0,
      "call it",
    );

    note("An attacker re-publishes the same tag, signed with their own key...");
    const attacker = `${ctx.home}-attacker`;
    await Deno.mkdir(attacker, { recursive: true });
    expect(
      await ctx.astrid(["capsule", "publish", CODE_MODE, ref], { ASTRID_HOME: attacker }),
      0,
      "re-publish",
    );
    note("...and the pinned publisher no longer matches: refused, exit 5.");
    expect(await ctx.astrid(["capsule", "install", ref, "--yes"], asUser), 5, "re-signed");
  } finally {
    await registry.stop();
  }
}
