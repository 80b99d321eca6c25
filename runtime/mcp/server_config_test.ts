import { equal, throws } from "node:assert/strict";
import { readServerConfigs } from "./server_config.ts";

const base = {
  args: [],
  env: {},
  auto_start: false,
  restart_policy: "never" as const,
  sandbox: "on" as const,
  network: false,
  writable: [],
};

Deno.test("readServerConfigs() refuses names that would break mcp__server__tool parsing", () => {
  for (const name of ["a__b", "a_", "../x", "a b", "", "é"]) {
    throws(
      () =>
        readServerConfigs({ servers: { [name]: { ...base, transport: "stdio", command: "x" } } }),
      { code: "BAD_CONFIG" },
      name,
    );
  }
});

Deno.test("readServerConfigs() checks the fields each transport needs", () => {
  throws(
    () => readServerConfigs({ servers: { h: { ...base, transport: "http" } } }),
    /needs a url/,
  );
  throws(
    () =>
      readServerConfigs({
        servers: { h: { ...base, transport: "http", url: "file:///etc/passwd" } },
      }),
    /http or https/,
  );
  throws(
    () =>
      readServerConfigs({
        servers: { h: { ...base, transport: "http", url: "https://x", command: "sh" } },
      }),
    /stdio servers only/,
  );
  throws(
    () =>
      readServerConfigs({
        servers: { s: { ...base, transport: "stdio", command: "x", url: "https://x" } },
      }),
    /http servers only/,
  );
  throws(
    () =>
      readServerConfigs({
        servers: { s: { ...base, transport: "stdio", command: "x", env: { "A=B": "1" } } },
      }),
    /not a variable name/,
  );
});

Deno.test("readServerConfigs() carries binary_hash and cwd through", () => {
  const hash = `blake3:${"a".repeat(64)}`;
  const [s] = readServerConfigs({
    servers: { s: { ...base, transport: "stdio", command: "x", cwd: "sub", binary_hash: hash } },
  });
  equal(s?.transport === "stdio" && s.binaryHash, hash);
  equal(s?.transport === "stdio" && s.cwd, "sub");
});
