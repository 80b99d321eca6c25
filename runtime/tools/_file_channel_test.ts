import { equal, ok } from "node:assert/strict";
import { workerChannel, type WorkerOps } from "./_file_channel.ts";
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
