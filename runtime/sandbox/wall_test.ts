import { deepEqual, ok } from "node:assert/strict";
import { wallArgs, type WallSpec } from "./wall.ts";

const base: WallSpec = {
  workspace: "/tmp/ws",
  configDirExists: true,
  hide: [],
  writable: [],
  network: false,
  userns: true,
  cwd: "/tmp/ws/sub",
};

function pos(args: string[], ...seq: string[]): number {
  for (let i = 0; i <= args.length - seq.length; i++) {
    if (seq.every((s, j) => args[i + j] === s)) return i;
  }
  return -1;
}

Deno.test("wallArgs() binds the workspace after the private /tmp, then its .astrid/ read-only", () => {
  const args = wallArgs(base);
  ok(pos(args, "--tmpfs", "/tmp") < pos(args, "--bind", "/tmp/ws", "/tmp/ws"));
  ok(
    pos(args, "--bind", "/tmp/ws", "/tmp/ws") <
      pos(args, "--ro-bind", "/tmp/ws/.astrid", "/tmp/ws/.astrid"),
  );
  deepEqual(args.slice(-2), ["--chdir", "/tmp/ws/sub"]);
});

Deno.test("wallArgs() mounts an empty read-only .astrid when there is none", () => {
  const args = wallArgs({ ...base, configDirExists: false });
  ok(pos(args, "--tmpfs", "/tmp/ws/.astrid", "--remount-ro", "/tmp/ws/.astrid") > 0);
});

Deno.test("wallArgs() hides after the binds, except a folder holding the workspace", () => {
  const args = wallArgs({
    ...base,
    workspace: "/home/alice/proj",
    hide: [
      { path: "/home/alice", isDir: true },
      { path: "/home/alice/proj/.secrets", isDir: true },
      { path: "/home/me/.netrc", isDir: false },
    ],
  });
  const bind = pos(args, "--bind", "/home/alice/proj", "/home/alice/proj");
  ok(pos(args, "--tmpfs", "/home/alice") < bind, "the holder first, so the workspace shows");
  ok(pos(args, "--remount-ro", "/home/alice") > bind, "and read-only after the binds");
  ok(pos(args, "--tmpfs", "/home/alice/proj/.secrets") > bind, "a hide inside goes after");
  ok(pos(args, "--ro-bind", "/dev/null", "/home/me/.netrc") > bind);
});

Deno.test("wallArgs() drops the network and capabilities, and maps to nobody when it can", () => {
  const walled = wallArgs(base);
  for (const flag of ["--unshare-net", "--unshare-pid", "--cap-drop", "--disable-userns"]) {
    ok(walled.includes(flag), flag);
  }
  ok(pos(walled, "--uid", "65534") > 0);
  ok(!wallArgs({ ...base, network: true }).includes("--unshare-net"));
  const noUserns = wallArgs({ ...base, userns: false });
  ok(!noUserns.includes("--unshare-user") && noUserns.includes("--cap-drop"));
});

Deno.test("wallArgs() binds shallowest first, so a writable folder inside a read-only one stays writable", () => {
  const args = wallArgs({
    ...base,
    workspace: null,
    writable: ["/srv/ws/out"],
    readOnly: ["/srv/ws"],
  });
  ok(
    pos(args, "--ro-bind", "/srv/ws", "/srv/ws") <
      pos(args, "--bind", "/srv/ws/out", "/srv/ws/out"),
  );
});
