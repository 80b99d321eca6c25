import { deepEqual, equal, ok } from "node:assert/strict";
import { actionHost, actionPath, aliasResources, describeAction } from "./action.ts";

Deno.test("describeAction() gives a config write its own resource, write permission and medium risk", () => {
  const info = describeAction({
    kind: "capsule_config_write",
    capsule: "weather",
    key: "units",
    secret: false,
    value: "imperial",
  });
  deepEqual(info, {
    resource: "capsule://weather/config/units",
    permission: "write",
    risk: "medium",
    summary: 'Capsule weather: change its config key units to "imperial"',
  });
});

Deno.test("describeAction() never shows a secret key's value, even when one is passed", () => {
  const value = "s3cret-token-value";
  const info = describeAction({
    kind: "capsule_config_write",
    capsule: "weather",
    key: "API_KEY",
    secret: true,
    value,
  });
  equal(info.summary, "Capsule weather: change its secret config key API_KEY (value hidden)");
  ok(!JSON.stringify(info).includes(value));
});

Deno.test("describeAction() quotes and shortens a long or hostile non-secret value", () => {
  const info = describeAction({
    kind: "capsule_config_write",
    capsule: "w",
    key: "k",
    secret: false,
    value: `a\nb"\u001b[31m${"x".repeat(500)}`,
  });
  ok(!info.summary.includes("\n"), "a newline cannot forge a second prompt line");
  ok(!info.summary.includes("\u001b"), "no raw escape sequence reaches the terminal");
  ok(info.summary.endsWith('…"'), info.summary);
  ok(info.summary.length < 110, info.summary);
});

Deno.test("a config write touches no path or host and has no alias resources", () => {
  const action = { kind: "capsule_config_write", capsule: "w", key: "k", secret: false } as const;
  equal(actionPath(action), undefined);
  equal(actionHost(action), undefined);
  deepEqual(aliasResources(action), []);
  equal(describeAction(action).summary, 'Capsule w: change its config key k to ""');
});
