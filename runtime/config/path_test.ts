import { equal } from "node:assert/strict";
import posix from "node:path/posix";
import { dirname, isAbsolute, join, resolve } from "./path.ts";

/** Paths over an alphabet that exercises every rule: roots, repeated slashes, `.`, `..`, `...`. */
function* generated(count: number): Generator<string> {
  const pieces = ["", "/", "//", "a", "bc", ".", "..", "...", ".a", "a."];
  let seed = 0x2545f491;
  const next = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % pieces.length;
  };
  for (let i = 0; i < count; i++) {
    const n = 1 + (i % 7);
    let path = "";
    for (let j = 0; j < n; j++) path += pieces[next()]! + (next() < 5 ? "/" : "");
    yield path;
  }
}

Deno.test("join() matches node:path on generated paths", () => {
  const paths = [...generated(3000)];
  for (let i = 0; i + 2 < paths.length; i += 3) {
    const args = [paths[i]!, paths[i + 1]!, paths[i + 2]!];
    equal(join(...args), posix.join(...args), JSON.stringify(args));
    equal(join(args[0]!), posix.join(args[0]!), JSON.stringify(args[0]));
  }
  equal(join(), posix.join());
});

Deno.test("resolve() matches node:path on generated paths, relative ones from the cwd", () => {
  const paths = [...generated(3000)];
  for (let i = 0; i + 1 < paths.length; i += 2) {
    const args = [paths[i]!, paths[i + 1]!];
    equal(resolve(...args), posix.resolve(...args), JSON.stringify(args));
  }
  equal(resolve(), posix.resolve());
});

Deno.test("dirname() and isAbsolute() match node:path on generated paths", () => {
  for (const path of generated(3000)) {
    equal(dirname(path), posix.dirname(path), JSON.stringify(path));
    equal(isAbsolute(path), posix.isAbsolute(path), JSON.stringify(path));
  }
});
