/**
 * One live MCP session over any transport, on top of the SDK's `Client`: the handshake
 * (protocol 2025-11-25), tools with a cache refreshed on `notifications/tools/list_changed`,
 * resources, prompts, tasks (for tools that require them), and the requests a server may send
 * us: sampling and elicitation go to injected callbacks, roots answer the workspace root only.
 *
 * Tool names are the server's to choose, so a tool whose name is unsafe in a resource URI is
 * left out of {@link McpConnection.listTools} and refused by {@link McpConnection.callTool}.
 *
 * @module
 */
import { pathToFileURL } from "node:url";
import {
  type CallToolResult,
  CallToolResultSchema,
  Client,
  type ClientCapabilities,
  type CreateMessageRequestParams,
  CreateMessageRequestSchema,
  type CreateMessageResult,
  type ElicitRequestParams,
  ElicitRequestSchema,
  type ElicitResult,
  ErrorCode,
  type GetPromptResult,
  type Implementation,
  ListRootsRequestSchema,
  type Prompt,
  type ReadResourceResult,
  type Resource,
  SdkMcpError,
  type ServerCapabilities,
  takeResult,
  type Tool,
  ToolListChangedNotificationSchema,
  type Transport,
} from "./_sdk.ts";
import { McpError } from "./errors.ts";
import { isToolName } from "./names.ts";

export type {
  CallToolResult,
  CreateMessageRequestParams,
  CreateMessageResult,
  ElicitRequestParams,
  ElicitResult,
  GetPromptResult,
  Prompt,
  ReadResourceResult,
  Resource,
  Tool,
};

/** Answers a server's `sampling/createMessage` (the caller gates it; see sampling.ts). */
export type Sampler = (
  server: string,
  params: CreateMessageRequestParams,
  signal: AbortSignal,
) => Promise<CreateMessageResult>;

/** Answers a server's `elicitation/create` (form or URL mode), usually by asking the human. */
export type Elicitor = (
  server: string,
  params: ElicitRequestParams,
  signal: AbortSignal,
) => Promise<ElicitResult>;

/** What a connection offers the server and how it reports changes. */
export interface ConnectionOptions {
  readonly clientInfo?: Implementation | undefined;
  /** Present: we advertise `sampling` and route requests here. */
  readonly sampler?: Sampler | undefined;
  /** Present: we advertise `elicitation` (form and url) and route requests here. */
  readonly elicitor?: Elicitor | undefined;
  /** Present: we advertise `roots` and answer with this folder only. */
  readonly workspaceRoot?: string | undefined;
  /** Called after the tool list was refreshed following `list_changed`. */
  readonly onToolsChanged?: ((server: string, tools: readonly Tool[]) => void) | undefined;
  /** Default timeout of one request (default 60 s; progress notifications reset it). */
  readonly requestTimeoutMs?: number | undefined;
}

/** Per-call options. */
export interface RequestOpts {
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
}

const DEFAULT_CLIENT: Implementation = { name: "astrid", version: "0.1.0" };

/** Maps an SDK or transport failure to our error codes. */
function toMcpError(server: string, what: string, err: unknown): McpError {
  if (err instanceof McpError) return err;
  const message = (err as Error)?.message ?? String(err);
  if (err instanceof SdkMcpError && err.code === ErrorCode.ConnectionClosed) {
    return new McpError(
      "SERVER_EXITED",
      `Cannot ${what} on server "${server}": the connection closed before it answered`,
      { cause: err },
    );
  }
  if (err instanceof SdkMcpError && err.code === ErrorCode.RequestTimeout) {
    return new McpError("CALL_FAILED", `Cannot ${what} on server "${server}": timed out`, {
      cause: err,
    });
  }
  return new McpError("CALL_FAILED", `Cannot ${what} on server "${server}": ${message}`, {
    cause: err,
  });
}

/**
 * A connected MCP session.
 *
 * @example Connect over an in-memory pair to an SDK server
 * ```ts
 * import { deepEqual, equal } from "node:assert/strict";
 * import { McpServer } from "npm:@modelcontextprotocol/sdk@1.32.2/server/mcp.js";
 * import { InMemoryTransport } from "npm:@modelcontextprotocol/sdk@1.32.2/inMemory.js";
 * import { McpConnection } from "./connection.ts";
 * const server = new McpServer({ name: "demo", version: "1.0.0" });
 * server.registerTool("hello", { description: "says hi" }, () => ({ content: [{ type: "text", text: "hi" }] }));
 * const [a, b] = InMemoryTransport.createLinkedPair();
 * await server.connect(b);
 * const conn = await McpConnection.open("demo", a);
 * deepEqual((await conn.listTools()).map((t) => t.name), ["hello"]);
 * const result = await conn.callTool("hello", {});
 * equal(result.content[0]?.type, "text");
 * await conn.close();
 * ```
 */
export class McpConnection {
  #server: string;
  #client: Client;
  #transport: Transport;
  #opts: ConnectionOptions;
  #tools: Tool[] | null = null;
  #rejected: string[] = [];
  #closed: Promise<void>;
  #isClosed = false;

  private constructor(
    server: string,
    client: Client,
    transport: Transport,
    opts: ConnectionOptions,
  ) {
    this.#server = server;
    this.#client = client;
    this.#transport = transport;
    this.#opts = opts;
    let resolve!: () => void;
    this.#closed = new Promise<void>((r) => (resolve = r));
    client.onclose = () => {
      this.#isClosed = true;
      resolve();
    };
  }

  /** Performs the handshake over `transport` (which must not be started yet). */
  static async open(
    server: string,
    transport: Transport,
    opts: ConnectionOptions = {},
  ): Promise<McpConnection> {
    const capabilities: ClientCapabilities = {
      ...(opts.sampler ? { sampling: {} } : {}),
      ...(opts.elicitor ? { elicitation: { form: { applyDefaults: true }, url: {} } } : {}),
      ...(opts.workspaceRoot !== undefined ? { roots: { listChanged: false } } : {}),
    };
    const client = new Client(opts.clientInfo ?? DEFAULT_CLIENT, { capabilities });
    client.onerror = () => {}; // framing errors are also surfaced as failed calls or a close
    const conn = new McpConnection(server, client, transport, opts);
    conn.#installHandlers();
    try {
      await client.connect(transport, { timeout: opts.requestTimeoutMs ?? 60_000 });
    } catch (err) {
      await transport.close().catch(() => {});
      throw new McpError(
        "START_FAILED",
        `Cannot connect to server "${server}": ${(err as Error).message}`,
        { cause: err },
      );
    }
    return conn;
  }

  #installHandlers(): void {
    const { sampler, elicitor, workspaceRoot } = this.#opts;
    if (sampler) {
      this.#client.setRequestHandler(
        CreateMessageRequestSchema,
        (req, extra) => sampler(this.#server, req.params, extra.signal),
      );
    }
    if (elicitor) {
      this.#client.setRequestHandler(
        ElicitRequestSchema,
        (req, extra) => elicitor(this.#server, req.params, extra.signal),
      );
    }
    if (workspaceRoot !== undefined) {
      const root = { uri: pathToFileURL(workspaceRoot).href, name: "workspace" };
      this.#client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [root] }));
    }
    this.#client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      this.#tools = null;
      try {
        const tools = await this.listTools();
        this.#opts.onToolsChanged?.(this.#server, tools);
      } catch {
        // the next listTools() retries
      }
    });
  }

  /** The server's name in our config. */
  get server(): string {
    return this.#server;
  }
  /** What the server said about itself. */
  get serverInfo(): Implementation | undefined {
    return this.#client.getServerVersion();
  }
  /** What the server can do. */
  get serverCapabilities(): ServerCapabilities | undefined {
    return this.#client.getServerCapabilities();
  }
  /** The server's instructions, if it sent any. */
  get instructions(): string | undefined {
    return this.#client.getInstructions();
  }
  /** Tool names the server offered that we refused to expose. */
  get rejectedTools(): readonly string[] {
    return this.#rejected;
  }
  /** True once the connection has closed. */
  get isClosed(): boolean {
    return this.#isClosed;
  }
  /** Resolves when the connection closes, for whatever reason. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** The SDK request options for `opts` (timeout reset on progress, abort signal). */
  timeoutOf(
    opts: RequestOpts,
  ): { timeout: number; resetTimeoutOnProgress: boolean; signal?: AbortSignal } {
    return {
      timeout: opts.timeoutMs ?? this.#opts.requestTimeoutMs ?? 60_000,
      resetTimeoutOnProgress: true,
      ...(opts.signal ? { signal: opts.signal } : {}),
    };
  }

  /** The server's tools (all pages), cached until the server says the list changed. */
  async listTools(opts: RequestOpts = {}): Promise<Tool[]> {
    if (this.#tools) return this.#tools;
    if (!this.serverCapabilities?.tools) return (this.#tools = []);
    const all = await this.#paginate("list tools", opts, async (params, o) => {
      const res = await this.#client.listTools(params, o);
      return { items: res.tools, next: res.nextCursor };
    });
    this.#rejected = all.filter((t) => !isToolName(t.name)).map((t) => t.name);
    this.#tools = all.filter((t) => isToolName(t.name));
    return this.#tools;
  }

  /** Calls one tool; a tool that requires task execution runs as a task (polled to its end). */
  async callTool(
    tool: string,
    args: Record<string, unknown>,
    opts: RequestOpts = {},
  ): Promise<CallToolResult> {
    if (!isToolName(tool)) {
      throw new McpError(
        "PROTOCOL",
        `Cannot call a tool named ${JSON.stringify(tool)}: unsafe name`,
      );
    }
    const params = { name: tool, arguments: args };
    try {
      const known = (this.#tools ?? []).find((t) => t.name === tool);
      if (known?.execution?.taskSupport === "required") {
        const stream = this.#client.experimental.tasks.callToolStream(
          params,
          CallToolResultSchema,
          this.timeoutOf(opts),
        );
        return await takeResult(stream) as CallToolResult;
      }
      return await this.#client.callTool(params, undefined, this.timeoutOf(opts)) as CallToolResult;
    } catch (err) {
      throw toMcpError(this.#server, `call tool ${tool}`, err);
    }
  }

  /** Lists resources (first 100 pages). */
  async listResources(opts: RequestOpts = {}): Promise<Resource[]> {
    if (!this.serverCapabilities?.resources) return [];
    return await this.#paginate("list resources", opts, async (params, o) => {
      const res = await this.#client.listResources(params, o);
      return { items: res.resources, next: res.nextCursor };
    });
  }

  /** Reads one resource. */
  async readResource(uri: string, opts: RequestOpts = {}): Promise<ReadResourceResult> {
    try {
      return await this.#client.readResource({ uri }, this.timeoutOf(opts));
    } catch (err) {
      throw toMcpError(this.#server, `read resource ${uri}`, err);
    }
  }

  /** Lists prompts (first 100 pages). */
  async listPrompts(opts: RequestOpts = {}): Promise<Prompt[]> {
    if (!this.serverCapabilities?.prompts) return [];
    return await this.#paginate("list prompts", opts, async (params, o) => {
      const res = await this.#client.listPrompts(params, o);
      return { items: res.prompts, next: res.nextCursor };
    });
  }

  /** Follows `nextCursor` for at most 100 pages. */
  async #paginate<T>(
    what: string,
    opts: RequestOpts,
    page: (
      params: { cursor?: string },
      o: ReturnType<McpConnection["timeoutOf"]>,
    ) => Promise<{ items: T[]; next: string | undefined }>,
  ): Promise<T[]> {
    const all: T[] = [];
    let cursor: string | undefined;
    try {
      for (let n = 0; n < 100; n++) {
        const res = await page(cursor !== undefined ? { cursor } : {}, this.timeoutOf(opts));
        all.push(...res.items);
        cursor = res.next;
        if (cursor === undefined) break;
      }
    } catch (err) {
      throw toMcpError(this.#server, what, err);
    }
    return all;
  }

  /** Gets one prompt with its arguments filled in. */
  async getPrompt(
    name: string,
    args: Record<string, string> = {},
    opts: RequestOpts = {},
  ): Promise<GetPromptResult> {
    try {
      return await this.#client.getPrompt({ name, arguments: args }, this.timeoutOf(opts));
    } catch (err) {
      throw toMcpError(this.#server, `get prompt ${name}`, err);
    }
  }

  /** Pings the server. */
  async ping(opts: RequestOpts = {}): Promise<void> {
    try {
      await this.#client.ping(this.timeoutOf(opts));
    } catch (err) {
      throw toMcpError(this.#server, "ping", err);
    }
  }

  /** Closes the session (and, for stdio, ends the process). */
  async close(): Promise<void> {
    const transport = this.#transport as { terminateSession?: () => Promise<void> };
    await transport.terminateSession?.().catch(() => {});
    await this.#client.close();
  }
}
