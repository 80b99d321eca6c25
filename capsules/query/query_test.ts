/**
 * capsules/query, compiled by the real toolchain and called behind a real gate over real files
 * in a temporary workspace; plus one run through the `astrid` CLI (install, then `tools call`).
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDirs } from "../../tests/cli.ts";
import { compileFirstParty, errorMessage, installFirstParty, okOutput } from "../_testing.ts";

const ALLOW = { allow: ["capsule://query/*"] };

const SHOP = {
  store: {
    name: "Corner shop",
    items: [
      { name: "apple", price: 0.5, tags: ["fruit"] },
      { name: "bread", price: 2.25, tags: ["bakery"] },
      { name: "cheese", price: 7, tags: ["dairy"] },
    ],
  },
};

Deno.test("query query() answers JSONPath over a JSON file, filters included, with match paths", async () => {
  await using c = await installFirstParty("query", ALLOW);
  await Deno.writeTextFile(`${c.root}/shop.json`, JSON.stringify(SHOP));
  const names = okOutput(
    await c.call("query", {
      path: "shop.json",
      query: "$.store.items[*].name",
    }),
  ) as Record<string, unknown>;
  deepEqual(names, {
    path: "shop.json",
    format: "json",
    query: "$.store.items[*].name",
    count: 3,
    results: [
      { path: "$['store']['items'][0]['name']", value: "apple" },
      { path: "$['store']['items'][1]['name']", value: "bread" },
      { path: "$['store']['items'][2]['name']", value: "cheese" },
    ],
    truncated: false,
  });
  const cheap = okOutput(
    await c.call("query", {
      path: "shop.json",
      query: "$..items[?(@.price < 5)].name",
      limit: 1,
    }),
  ) as { count: number; results: { value: unknown }[]; truncated: boolean };
  equal(cheap.count, 2);
  deepEqual(cheap.results.map((r) => r.value), ["apple"]);
  equal(cheap.truncated, true);
  const whole = okOutput(await c.call("query", { path: "shop.json" })) as {
    results: { value: unknown }[];
  };
  deepEqual(whole.results[0]?.value, SHOP);
  const reads = (await c.entries()).filter((e) =>
    e.resource === "capsule://query/read_file" && e.decision === "allowed"
  );
  equal(reads.length, 3);
});

Deno.test("query reads YAML (every document of a stream) and TOML (dates as ISO strings)", async () => {
  await using c = await installFirstParty("query", ALLOW);
  await Deno.mkdir(`${c.root}/deploy`);
  await Deno.writeTextFile(
    `${c.root}/deploy/k8s.yml`,
    "kind: Service\nmetadata:\n  name: web\n---\nkind: Deployment\nmetadata:\n  name: web\n" +
      "spec:\n  replicas: 3\n",
  );
  await Deno.writeTextFile(
    `${c.root}/Cargo.toml`,
    '[package]\nname = "demo"\nversion = "1.2.0"\nreleased = 2024-05-01T10:00:00Z\n\n' +
      '[dependencies]\nserde = "1"\ntokio = { version = "1", features = ["full"] }\n',
  );
  const kinds = okOutput(
    await c.call("query", { path: "deploy/k8s.yml", query: "$[*].kind" }),
  ) as { format: string; results: { value: unknown }[] };
  equal(kinds.format, "yaml");
  deepEqual(kinds.results.map((r) => r.value), ["Service", "Deployment"]);
  const replicas = okOutput(
    await c.call("query", {
      path: "deploy/k8s.yml",
      query: "$[?(@.kind === 'Deployment')].spec",
    }),
  ) as { results: { value: unknown }[] };
  deepEqual(replicas.results[0]?.value, { replicas: 3 });
  const deps = okOutput(
    await c.call("query", {
      path: "Cargo.toml",
      query: "$.dependencies.tokio.features[0]",
    }),
  ) as { format: string; results: { value: unknown }[] };
  equal(deps.format, "toml");
  deepEqual(deps.results.map((r) => r.value), ["full"]);
  const shape = okOutput(await c.call("outline", { path: "Cargo.toml" }));
  deepEqual(shape, {
    path: "Cargo.toml",
    format: "toml",
    outline: {
      package: {
        name: "string(4)",
        version: "string(5)",
        released: "string(24)",
      },
      dependencies: { serde: "string(1)", tokio: "object(2 keys)" },
    },
  });
  // An explicit format for a file whose name does not tell.
  await Deno.writeTextFile(`${c.root}/settings.conf`, '{"debug": true}');
  match(
    errorMessage(await c.call("query", { path: "settings.conf" })),
    /Cannot tell the format/,
  );
  const forced = okOutput(
    await c.call("query", {
      path: "settings.conf",
      format: "json",
      query: "$.debug",
    }),
  ) as { results: { value: unknown }[] };
  deepEqual(forced.results.map((r) => r.value), [true]);
});

Deno.test("query refuses paths outside the workspace: traversal, absolute, and a symlink out", async () => {
  await using c = await installFirstParty("query", ALLOW);
  const outside = await Deno.makeTempDir({ prefix: "astrid-outside-" });
  try {
    await Deno.writeTextFile(`${outside}/secret.json`, '{"token": "s3cret"}');
    await Deno.symlink(`${outside}/secret.json`, `${c.root}/link.json`);
    for (
      const path of ["../secret.json", `${outside}/secret.json`, "link.json"]
    ) {
      const out = await c.call("query", { path, query: "$.token" });
      equal(out.status, "error", path);
      if (out.status === "error") {
        ok(!out.message.includes("s3cret"), out.message);
      }
    }
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("query fails cleanly on malformed files, alias bombs, code in filters and big files", async () => {
  await using c = await installFirstParty("query", ALLOW);
  await Deno.writeTextFile(`${c.root}/bad.json`, '{"a": ');
  match(
    errorMessage(await c.call("query", { path: "bad.json" })),
    /Cannot parse the file as JSON/,
  );
  await Deno.writeTextFile(`${c.root}/bad.toml`, "a = = 1");
  match(
    errorMessage(await c.call("query", { path: "bad.toml" })),
    /Cannot parse the file as TOML/,
  );
  const bomb = ["a: &a [x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    bomb.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(", ")}]`);
  }
  await Deno.writeTextFile(`${c.root}/bomb.yaml`, bomb.join("\n") + "\n");
  match(
    errorMessage(await c.call("query", { path: "bomb.yaml" })),
    /Cannot parse the file as YAML/,
  );
  await Deno.writeTextFile(`${c.root}/shop.json`, JSON.stringify(SHOP));
  const code = await c.call("query", {
    path: "shop.json",
    query: "$..items[?(@.constructor.constructor('return globalThis')())]",
  });
  equal(code.status, "error", JSON.stringify(code));
  await Deno.writeTextFile(`${c.root}/big.json`, `"${"x".repeat(5 << 20)}"`);
  match(
    errorMessage(await c.call("query", { path: "big.json" })),
    /over 4194304/,
  );
  match(errorMessage(await c.call("query", { path: "missing.json" })), /.+/);
});

Deno.test("query through the CLI: installed, deferred without a human, answered with --approve once", async () => {
  const { home, ws } = await tempDirs();
  try {
    equal((await runCli(["init", ws], { home })).code, 0);
    const built = await compileFirstParty("query");
    const install = await runCli(["capsule", "install", built, "--yes"], {
      home,
      cwd: ws,
    });
    equal(install.code, 0, install.stderr);
    await Deno.writeTextFile(join(ws, "shop.json"), JSON.stringify(SHOP));
    const args = [
      "tools",
      "call",
      "query__query",
      "--args",
      JSON.stringify({ path: "shop.json", query: "$.store.name" }),
    ];
    equal((await runCli(args, { home, cwd: ws })).code, 4);
    const call = await runCli([...args, "--approve", "once"], {
      home,
      cwd: ws,
    });
    equal(call.code, 0, call.stderr);
    match(call.stdout, /Corner shop/);
    const bad = await runCli(
      [
        "tools",
        "call",
        "query__query",
        "--args",
        JSON.stringify({ query: "$" }),
      ],
      { home, cwd: ws },
    );
    equal(bad.code, 2, bad.stderr);
    match(bad.stderr, /path/);
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(ws, { recursive: true });
  }
});
