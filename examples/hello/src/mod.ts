/**
 * The smallest capsule: one tool that greets. Compile it with
 * `deno run -A toolchain/compile.ts examples/hello`.
 *
 * @module
 */
import { defineCapsule } from "@astrid/sdk";

/** Arguments of the greet tool. */
export interface GreetArgs {
  /** Who to greet. */
  name: string;
}

/**
 * The capsule definition.
 *
 * @example Call the tool directly
 * ```ts
 * import { equal } from "node:assert/strict";
 * import hello from "./mod.ts";
 * equal(hello.tools.greet.run({ name: "Ada" }), "Hello, Ada!");
 * ```
 */
export default defineCapsule({
  tools: {
    greet: {
      description: "Greets someone by name",
      input: {
        type: "object",
        properties: { name: { type: "string", description: "Who to greet" } },
        required: ["name"],
      },
      run: (args: GreetArgs) => `Hello, ${args.name}!`,
    },
  },
});
