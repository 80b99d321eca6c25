import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { readEnvLayer } from "./env.ts";
import { ConfigError } from "./errors.ts";

function envError(env: Record<string, string>, variable: string, pattern: RegExp): void {
  throws(() => readEnvLayer(env), (err: unknown) => {
    ok(err instanceof ConfigError, String(err));
    equal(err.file, `environment variable ${variable}`);
    ok(err.message.includes(variable), err.message);
    ok(pattern.test(err.message), err.message);
    return true;
  });
}

Deno.test("readEnvLayer() parses each key to its type", () => {
  const layer = readEnvLayer({
    ASTRID_WORKSPACE_MODE: "guided",
    ASTRID_WORKSPACE_ESCAPE_POLICY: "deny",
    ASTRID_BUDGET_SESSION_USD: " 2.5 ",
    ASTRID_CAPSULES_REQUIRE_HASH: "false",
    ASTRID_POLICY_DENIED_HOSTS: "a.example, b.example,",
    ASTRID_PERMISSIONS_ALLOW: '["exec://git status", "file:///w/**"]',
    ASTRID_POLICY_BLOCKED_TOOLS: "",
    ASTRID_TOOLS_BASH_TIMEOUT_SECONDS: "60",
  });
  deepEqual(layer.data, {
    workspace: { mode: "guided", escape_policy: "deny" },
    budget: { session_usd: 2.5 },
    capsules: { require_hash: false },
    policy: { denied_hosts: ["a.example", "b.example"], blocked_tools: [] },
    permissions: { allow: ["exec://git status", "file:///w/**"] },
    tools: { bash_timeout_seconds: 60 },
  });
  equal(layer.variables.length, 8);
});

Deno.test("readEnvLayer() ignores ASTRID_HOME, unrelated ASTRID_* and undefined values", () => {
  const layer = readEnvLayer({
    ASTRID_HOME: "/h",
    ASTRID_DEBUG: "1",
    ASTRID_WORKSPACEX: "1",
    ASTRID_WORKSPACE_MODE: undefined,
    HOME: "/home/u",
    astrid_budget_session_usd: "9",
  });
  deepEqual(layer.data, {});
  deepEqual(layer.variables, []);
});

Deno.test("readEnvLayer() rejects bad values naming the variable", () => {
  envError(
    { ASTRID_BUDGET_SESSION_USD: "lots" },
    "ASTRID_BUDGET_SESSION_USD",
    /must be a number, got "lots"/,
  );
  envError({ ASTRID_BUDGET_SESSION_USD: "" }, "ASTRID_BUDGET_SESSION_USD", /must be a number/);
  envError(
    { ASTRID_BUDGET_SESSION_USD: "Infinity" },
    "ASTRID_BUDGET_SESSION_USD",
    /must be a number/,
  );
  envError({ ASTRID_BUDGET_SESSION_USD: "-3" }, "ASTRID_BUDGET_SESSION_USD", />= 0/);
  envError({ ASTRID_WORKSPACE_MODE: "yolo" }, "ASTRID_WORKSPACE_MODE", /one of "safe"/);
  envError({ ASTRID_CAPSULES_REQUIRE_HASH: "maybe" }, "ASTRID_CAPSULES_REQUIRE_HASH", /boolean/);
  envError(
    { ASTRID_TOOLS_BASH_TIMEOUT_SECONDS: "1.5" },
    "ASTRID_TOOLS_BASH_TIMEOUT_SECONDS",
    /integer/,
  );
  envError(
    { ASTRID_TOOLS_BASH_TIMEOUT_SECONDS: "9000" },
    "ASTRID_TOOLS_BASH_TIMEOUT_SECONDS",
    /<= 600/,
  );
  envError(
    { ASTRID_POLICY_DENIED_HOSTS: "[1, 2]" },
    "ASTRID_POLICY_DENIED_HOSTS",
    /must be a string/,
  );
  envError({ ASTRID_POLICY_DENIED_HOSTS: "[broken" }, "ASTRID_POLICY_DENIED_HOSTS", /JSON array/);
  envError(
    { ASTRID_BUDGET_SESION_USD: "1" },
    "ASTRID_BUDGET_SESION_USD",
    /"budget\.sesion_usd" is not a known setting/,
  );
});
