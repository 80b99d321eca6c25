import { deepEqual, ok, rejects } from "node:assert/strict";
import { prepareLaunch } from "./spawn.ts";
import { Sandbox } from "../sandbox/mod.ts";
import { NO_WALLS } from "../security/walls.ts";
import type { StdioServerConfig } from "./server_config.ts";

const sandbox = await Sandbox.open(NO_WALLS);
if (!(sandbox instanceof Sandbox)) throw new Error(`no sandbox here: ${sandbox}`);

const server = (over: Partial<StdioServerConfig>): StdioServerConfig => ({
  name: "s",
  transport: "stdio",
  command: "/bin/sh",
  args: [],
  env: {},
  autoStart: false,
  restartPolicy: "never",
  ...over,
});

async function runSpec(
  spec: { executable: string; args: readonly string[]; env: Record<string, string> },
) {
  const out = await new Deno.Command(spec.executable, {
    args: [...spec.args],
    env: spec.env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
}

Deno.test("a walled server whose program lives in /tmp still finds it (shown read-only)", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-srv-" }));
  await Deno.mkdir(`${dir}/bin`);
  await Deno.writeTextFile(
    `${dir}/bin/server.sh`,
    "cat ../config.txt; echo x > ../w && echo WROTE\n",
  );
  await Deno.writeTextFile(`${dir}/config.txt`, "project config\n");
  const spec = await prepareLaunch(
    server({ args: [`${dir}/bin/server.sh`], cwd: `${dir}/bin` }),
    { PATH: "/usr/bin:/bin" },
    "/",
    { sandbox, workspace: null },
  );
  const out = await runSpec(spec);
  ok(out.includes("project config"), out);
  ok(!out.includes("WROTE"), "shown read-only");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a walled server gets no network, no capabilities and the allowlisted environment", async () => {
  const spec = await prepareLaunch(
    server({
      args: ["-c", "grep CapEff /proc/self/status; env | sort | cut -d= -f1 | tr '\\n' ' '"],
      env: { TOKEN: "t" },
    }),
    { PATH: "/usr/bin:/bin", HOME: "/root", SECRET: "leak" },
    "/",
    { sandbox, workspace: null },
  );
  const out = await runSpec(spec);
  ok(/CapEff:\s+0{16}/.test(out), out);
  ok(!out.includes("SECRET") && out.includes("TOKEN"), out);
});

Deno.test("a walled server is refused where no wall can be built, unless it opted out", async () => {
  await rejects(
    prepareLaunch(server({}), { PATH: "/usr/bin:/bin" }, "/", {
      sandbox: "bubblewrap is not installed",
      workspace: null,
    }),
    { code: "SANDBOX_UNAVAILABLE" },
  );
  const plain = await prepareLaunch(server({ sandbox: "off" }), { PATH: "/usr/bin:/bin" }, "/", {
    sandbox: "bubblewrap is not installed",
    workspace: null,
  });
  deepEqual(plain.executable.endsWith("sh"), true);
});
