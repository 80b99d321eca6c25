import { equal, ok } from "node:assert/strict";
import { processArgs, processChannel, workerChannel, type WorkerOps } from "./_file_channel.ts";
import type { WorkerResponse } from "./ops/worker.ts";

/** A Worker channel whose answers arrive in order, one `next()` per call. */
function open(roots: { read: string[]; write: string[]; hidden: string[] }, ops: WorkerOps) {
  const answers: WorkerResponse[] = [];
  const waiting: ((m: WorkerResponse) => void)[] = [];
  const ch = workerChannel(roots, {
    onmessage: (m) => {
      const w = waiting.shift();
      if (w) w(m);
      else answers.push(m);
    },
    onerror: (message) => {
      throw new Error(message);
    },
  }, ops);
  let id = 0;
  const call = (tool: string, args: unknown) => {
    ch.post({ type: "call", id: ++id, tool, args });
    return answers.length > 0
      ? Promise.resolve(answers.shift()!)
      : new Promise<WorkerResponse>((r) => waiting.push(r));
  };
  return { ch, call };
}

Deno.test("workerChannel(plain) serves the plain tools only, walled like the full Worker", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-ch-" }));
  try {
    await Deno.writeTextFile(`${root}/a.txt`, "hi\n");
    const { ch, call } = open({ read: [root], write: [root], hidden: [] }, "plain");
    try {
      const read = await call("read_file", { file_path: `${root}/a.txt` });
      ok(read.ok && /1\thi/.test(read.output), JSON.stringify(read));
      for (const tool of ["glob", "grep", "bash", "__proto__", "constructor"]) {
        const refused = await call(tool, { pattern: "*", path: root });
        equal(refused.ok ? "ok" : refused.error.code, "INVALID_ARGS", tool);
      }
      const outside = await call("read_file", { file_path: "/etc/hostname" });
      equal(outside.ok ? "ok" : outside.error.code, "NOT_CAPABLE");
    } finally {
      ch.terminate();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("workerChannel() ignores a later init that would widen its roots, in either Worker", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-ch-" }));
  const other = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-ch-other-" }));
  try {
    await Deno.writeTextFile(`${other}/secret.txt`, "secret\n");
    for (const ops of ["plain", "all"] as const) {
      const { ch, call } = open({ read: [root], write: [root], hidden: [] }, ops);
      try {
        ch.post({ type: "init", roots: { read: [root, other], write: [root, other], hidden: [] } });
        const got = await call("read_file", { file_path: `${other}/secret.txt` });
        equal(got.ok ? "ok" : got.error.code, "NOT_CAPABLE", ops);
      } finally {
        ch.terminate();
      }
    }
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(other, { recursive: true });
  }
});

Deno.test("processChannel(plain) starts without the project's config and is walled by Deno's flags", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-ch-" }));
  const outside = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-out-" }));
  try {
    await Deno.writeTextFile(`${root}/a.txt`, "hi\n");
    await Deno.mkdir(`${root}/secret`);
    await Deno.writeTextFile(`${root}/secret/key.txt`, "secret\n");
    await Deno.writeTextFile(`${outside}/b.txt`, "outside\n");
    const roots = { read: [root], write: [root], hidden: [`${root}/secret`] };
    const args = processArgs(roots, "plain");
    ok(args.includes("--no-config") && !args.includes("--config"));
    ok(processArgs(roots, "all").includes("--config")); // glob and grep's packages need it
    const answers = new Map<number, Promise<WorkerResponse>>();
    const settle = new Map<number, (m: WorkerResponse) => void>();
    const ch = processChannel(roots, {
      onmessage: (m) => settle.get(m.id)?.(m),
      onerror: () => {},
    }, "plain");
    let id = 0;
    const call = (tool: string, toolArgs: unknown) => {
      const n = ++id;
      answers.set(n, new Promise((r) => settle.set(n, r)));
      ch.post({ type: "call", id: n, tool, args: toolArgs });
      return answers.get(n)!;
    };
    try {
      const read = await call("read_file", { file_path: `${root}/a.txt` });
      ok(read.ok && /1\thi/.test(read.output), JSON.stringify(read));
      for (const path of [`${root}/secret/key.txt`, `${outside}/b.txt`, "/etc/hostname"]) {
        const refused = await call("read_file", { file_path: path });
        equal(refused.ok, false, path);
      }
      const written = await call("write_file", { file_path: `${root}/secret/x`, content: "x" });
      equal(written.ok, false);
      const glob = await call("glob", { pattern: "*", path: root });
      equal(glob.ok ? "ok" : glob.error.code, "INVALID_ARGS");
    } finally {
      ch.terminate();
      await ch.closed;
    }
    equal(await Deno.readTextFile(`${root}/secret/key.txt`), "secret\n");
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});
