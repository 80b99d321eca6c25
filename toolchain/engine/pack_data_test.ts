import { equal, ok } from "node:assert/strict";
import { buildEngine } from "./build.ts";
import { embedSource } from "./embed.ts";
import { wizen } from "./wizer.ts";
import { MAX_GAP, packDataSegments } from "./pack_data.ts";

const CAPSULE = `globalThis.__astrid = {
  describe: () => ({ tools: ["echo"] }),
  call_tool: (input) => input,
  on_hook: (input) => input,
};`;

/** A real Wizer snapshot of the engine with a small capsule. */
async function snapshot(): Promise<Uint8Array<ArrayBuffer>> {
  const engine = await Deno.readFile((await buildEngine({ log: () => {} })).path);
  return await wizen(embedSource(engine, CAPSULE));
}

/** The data segments as `[offset, length]`, for modules in the plain form packing handles. */
function segments(wasm: Uint8Array): [number, number][] {
  let pos = 8;
  const leb = () => {
    let value = 0;
    for (let shift = 0;; shift += 7) {
      const b = wasm[pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
    }
  };
  while (pos < wasm.length) {
    const id = wasm[pos++]!;
    const size = leb();
    if (id !== 11) {
      pos += size;
      continue;
    }
    const out: [number, number][] = [];
    for (let n = leb(); n > 0; n--) {
      pos += 2; // flags 0, i32.const
      const offset = leb(); // offsets here are below 2^20: the signed and unsigned forms agree
      pos += 1; // end
      const length = leb();
      out.push([offset, length]);
      pos += length;
    }
    return out;
  }
  return [];
}

/** The initial memory of `wasm`, instantiated with imports that must not be called. */
function memoryOf(wasm: Uint8Array<ArrayBuffer>): Uint8Array {
  const module = new WebAssembly.Module(wasm);
  const imports: Record<string, Record<string, () => never>> = {};
  for (const { module: ns, name } of WebAssembly.Module.imports(module)) {
    (imports[ns] ??= {})[name] = () => {
      throw new Error(`Cannot call ${ns}.${name} while instantiating`);
    };
  }
  const { memory } = new WebAssembly.Instance(module, imports).exports;
  ok(memory instanceof WebAssembly.Memory);
  return new Uint8Array(memory.buffer);
}

Deno.test("packDataSegments() joins a Wizer snapshot's segments and keeps its memory", async () => {
  const wizened = await snapshot();
  const packed = packDataSegments(wizened);
  const before = segments(wizened);
  const after = segments(packed);
  ok(after.length * 4 < before.length, `${before.length} segments became ${after.length}`);
  // Every gap left is wider than MAX_GAP; the module grows by at most 2%.
  for (let i = 1; i < after.length; i++) {
    ok(after[i]![0] - (after[i - 1]![0] + after[i - 1]![1]) > MAX_GAP);
  }
  ok(packed.length < wizened.length * 1.02, `${wizened.length} bytes became ${packed.length}`);
  const a = memoryOf(wizened);
  const b = memoryOf(packed);
  equal(a.length, b.length);
  ok(a.every((x, i) => x === b[i]), "the packed module's initial memory differs");
  // Deterministic, and a packed module packs to itself.
  ok(packDataSegments(wizened).every((x, i) => x === packed[i]));
  const again = packDataSegments(packed);
  ok(again.length === packed.length && again.every((x, i) => x === packed[i]));
});

/** (module (memory 1) (data ...)) with the given data section body. */
function withData(body: number[], extra: number[] = []): Uint8Array<ArrayBuffer> {
  return new Uint8Array([
    0,
    97,
    115,
    109,
    1,
    0,
    0,
    0,
    5,
    3,
    1,
    0,
    1,
    ...extra,
    11,
    body.length,
    ...body,
  ]);
}

Deno.test("packDataSegments() returns any other module unchanged", () => {
  const plain = withData([2, 0, 65, 0, 11, 1, 97, 0, 65, 4, 11, 1, 98]);
  ok(packDataSegments(plain) !== plain, "the plain form is packed");
  const cases: [string, Uint8Array<ArrayBuffer>][] = [
    ["not wasm", new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9])],
    ["empty", new Uint8Array()],
    ["truncated", plain.subarray(0, plain.length - 3)],
    ["passive segment", withData([2, 1, 1, 97, 0, 65, 4, 11, 1, 98])],
    ["explicit memory index", withData([2, 2, 0, 65, 0, 11, 1, 97, 0, 65, 4, 11, 1, 98])],
    ["overlapping", withData([2, 0, 65, 0, 11, 2, 97, 97, 0, 65, 1, 11, 1, 98])],
    ["descending", withData([2, 0, 65, 8, 11, 1, 97, 0, 65, 0, 11, 1, 98])],
    ["negative offset", withData([1, 0, 65, 127, 11, 1, 97])],
    ["length past the section", withData([2, 0, 65, 0, 11, 1, 97, 0, 65, 4, 11, 9, 98])],
    ["trailing bytes", withData([1, 0, 65, 0, 11, 1, 97, 0])],
    ["global offset", withData([1, 0, 35, 0, 11, 1, 97])],
    // A data count section means code may name segments by index: never renumber them.
    ["data count section", withData([2, 0, 65, 0, 11, 1, 97, 0, 65, 4, 11, 1, 98], [12, 1, 2])],
    ["no data section", new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 5, 3, 1, 0, 1])],
  ];
  for (const [what, wasm] of cases) {
    equal(packDataSegments(wasm), wasm, what);
  }
});
