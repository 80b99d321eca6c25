// The OpenClaw adapter: turns an OpenClaw plugin's entry module into a native capsule definition
// `{ tools, hooks, cron, commands, providers, notes }` that the prelude (toolchain/shim/prelude.js)
// dispatches on. The compiler wraps the plugin's entry as
// `export default toCapsule(plugin, META)`.
//
// Registration is lazy: the module is evaluated at Wizer time, when no host call is possible, so
// `register(api)` runs once per instance, in the definition's `prepare()`, which the prelude
// awaits before the first entry call (describe, call_tool, on_hook). What the plugin registers
// fills the definition in place; what Astrid cannot offer is accepted and written to `notes`.
//
// Written against OpenClaw's published types (OpenClawPluginApi, PluginRuntimeCore); no code is
// taken from OpenClaw.
import { openKeyedStore } from "./sdk/_keyed_store.js";

/** Hook names a plugin may pass to `api.on` (OpenClaw's PluginHookName). */
const HOOK_NAMES = new Set([
  "before_model_resolve",
  "agent_turn_prepare",
  "before_prompt_build",
  "before_agent_reply",
  "model_call_started",
  "model_call_ended",
  "llm_input",
  "llm_output",
  "before_agent_finalize",
  "agent_end",
  "before_compaction",
  "after_compaction",
  "before_reset",
  "inbound_claim",
  "channel_pairing_requested",
  "message_received",
  "message_sending",
  "reply_payload_sending",
  "message_sent",
  "before_tool_call",
  "after_tool_call",
  "tool_result_persist",
  "before_message_write",
  "session_start",
  "session_end",
  "subagent_delivery_target",
  "subagent_spawned",
  "subagent_progress",
  "subagent_ended",
  "gateway_start",
  "gateway_stop",
  "heartbeat_prompt_contribution",
  "cron_reconciled",
  "cron_changed",
  "skill_proposal_evaluate",
  "skill_proposal_changed",
  "skill_changed",
  "before_dispatch",
  "reply_dispatch",
  "before_install",
  "before_agent_run",
  "resolve_exec_env",
]);

/** The workspace as plugins see it: capsule fs host functions take workspace-relative paths. */
const WORKSPACE = ".";
/** Reported as the state folder; capsules cannot write there (use runtime.state instead). */
const STATE_DIR = ".astrid-state";

const deepFreeze = (v) => {
  if (v && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze(v[k]);
  }
  return v;
};
const host = () => globalThis.__astrid_api;

/** Finds `register(api)` in the entry module, in the forms OpenClaw accepts. */
function findRegister(mod) {
  const candidates = [mod?.default, mod?.default?.default, mod];
  for (const c of candidates) {
    if (typeof c === "function") return { register: c, entry: {} };
    if (c && typeof c === "object" && typeof c.register === "function") {
      return { register: (api) => c.register(api), entry: c };
    }
  }
  return null;
}

/**
 * The JSON Schema of a config schema the plugin declares in code (`definePluginEntry` or
 * `defineToolPlugin`'s `configSchema`: an object carrying `jsonSchema`, or a JSON Schema such as
 * TypeBox's), when it has properties; else null.
 */
function codeConfigSchema(entry) {
  const declared = entry?.configSchema;
  const schema = declared && typeof declared.jsonSchema === "object"
    ? declared.jsonSchema
    : declared;
  if (!schema || typeof schema !== "object" || !schema.properties) return null;
  if (typeof schema.properties !== "object" || Object.keys(schema.properties).length === 0) {
    return null;
  }
  const json = JSON.parse(JSON.stringify(schema)); // plain data: no TypeBox symbols, no functions
  const hints = declared?.uiHints;
  if (hints && typeof hints === "object") json["x-uiHints"] = JSON.parse(JSON.stringify(hints));
  return json;
}

/** The keys of a config JSON Schema, typed as the compiler types `openclaw.plugin.json`'s. */
function configKeysOf(schema) {
  return Object.entries(schema.properties).map(([key, prop]) => {
    const t = prop && typeof prop === "object" ? prop.type : undefined;
    return { key, type: typeof t === "string" ? t : Array.isArray(t) ? String(t[0]) : "string" };
  });
}

/** A config value as the host stores it (text), parsed by the schema type of its key. */
function parseValue(raw, type) {
  if (typeof raw !== "string" || type === "string") return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * A config value as `set-config` stores it (text), so that `parseValue` reads it back unchanged:
 * a string of a `string`-typed key as is, anything else as JSON text. Null when it is not JSON.
 */
function storedValue(value, type) {
  if (typeof value === "string" && type === "string") return value;
  const text = JSON.stringify(value);
  return typeof text === "string" ? text : null;
}

const isPlainObject = (v) =>
  v !== null && typeof v === "object" && !Array.isArray(v) &&
  (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/** True when two JSON values are equal (key order aside). */
function sameJson(a, b) {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length &&
      a.every((v, i) => sameJson(v, b[i]));
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (!sameJson(a[k], b[k])) return false;
  return true;
}

/** The first dotted path where `a` and `b` differ, never looking under `skip`; null if none. */
function firstDifference(a, b, path, skip) {
  if (path === skip) return null;
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const found = firstDifference(a[k], b[k], path ? `${path}.${k}` : k, skip);
      if (found !== null) return found;
    }
    return null;
  }
  return sameJson(a, b) ? null : path || "the whole configuration";
}

/** Reads META.configKeys through the host and fills JSON Schema defaults. */
async function loadPluginConfig(meta) {
  const config = {};
  for (const { key, type } of meta.configKeys ?? []) {
    let raw;
    try {
      raw = await host().config.get(key);
    } catch {
      continue; // unset, or not readable: the key stays unset
    }
    if (raw !== null && raw !== undefined) config[key] = parseValue(raw, type);
  }
  for (const [key, prop] of Object.entries(meta.configSchema?.properties ?? {})) {
    if (config[key] === undefined && prop && typeof prop === "object" && "default" in prop) {
      config[key] = structuredClone(prop.default);
    }
  }
  return config;
}

/** A normalised workspace-relative path; throws when `input` leaves the workspace. */
function resolvePath(input) {
  const s = String(input ?? "");
  const leaves = () => new Error(`Cannot resolve ${JSON.stringify(s)}: it leaves the workspace`);
  if (s.startsWith("/") || s.startsWith("~") || /^[A-Za-z]:/.test(s) || s.includes("\0")) {
    throw leaves();
  }
  const out = [];
  for (const seg of s.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length === 0) throw leaves();
      out.pop();
    } else out.push(seg);
  }
  return out.length ? out.join("/") : WORKSPACE;
}

/** OpenClaw's names for Astrid's built-in tools, for hook matchers written for OpenClaw. */
const TOOL_ALIASES = {
  bash: ["exec", "process"],
  read_file: ["read"],
  write_file: ["write"],
  edit_file: ["edit", "apply_patch"],
  list_directory: ["ls"],
};

/** Whether a hook's `matcher` (a tool name, a list, or none) selects `tool`. */
function matches(matcher, tool) {
  if (matcher === undefined || matcher === null) return true;
  const names = (Array.isArray(matcher) ? matcher : [matcher]).map(String);
  const own = [tool, ...(TOOL_ALIASES[tool] ?? [])];
  return names.some((n) => n === "*" || own.includes(n));
}

/** A copy of a hook event that a handler may change without affecting the next one. */
function isolated(event) {
  try {
    return structuredClone(event);
  } catch {
    return { ...event };
  }
}

/** The model-visible text of a tool result (AgentToolResult, string or JSON). */
function renderResult(r) {
  if (typeof r === "string") return r;
  if (r === undefined) return "";
  if (r && typeof r === "object" && Array.isArray(r.content)) {
    return r.content.map((part) =>
      part?.type === "text" ? String(part.text ?? "") : `[${String(part?.type ?? "content")}]`
    ).join("\n");
  }
  return JSON.stringify(r) ?? "";
}

/**
 * Runs the handlers of one hook in priority order and merges their results as OpenClaw does:
 * - before_tool_call: a `block: true` ends the run (returned, with what was merged so far);
 *   each handler sees an isolated copy of the original event, and the last returned `params`
 *   wins until an approval is requested (the first `requireApproval` is kept and freezes the
 *   params; later handlers can still block); a throwing handler fails the call (fail closed);
 * - message_sending: `cancel: true` ends the run; the last returned `content` wins;
 * - others: every handler runs; the last non-undefined result is returned. A throwing handler
 *   is logged and skipped (OpenClaw runs observers fail-open).
 * A handler registered with `{ matcher: [...] }` runs only for the tools it names (Astrid's tool
 * names, or OpenClaw's names for the same built-ins: `exec` for `bash`, `read` for `read_file`…).
 */
async function runHook(name, all, event, hctx, logger) {
  const tool = typeof event?.toolName === "string" ? event.toolName : undefined;
  const list = tool === undefined ? all : all.filter((h) => matches(h.matcher, tool));
  if (name === "before_tool_call") {
    let params;
    let requireApproval;
    const merged = (extra) => {
      const out = { ...extra };
      if (params !== undefined) out.params = params;
      if (requireApproval !== undefined) out.requireApproval = requireApproval;
      return out;
    };
    for (const h of list) {
      const r = await h.handler(isolated(event), hctx);
      if (!r || typeof r !== "object") continue;
      if (r.block === true) {
        return merged({
          block: true,
          ...(r.blockReason !== undefined ? { blockReason: String(r.blockReason) } : {}),
        });
      }
      if (r.params && typeof r.params === "object" && requireApproval === undefined) {
        params = r.params;
      }
      if (r.requireApproval && requireApproval === undefined) requireApproval = r.requireApproval;
    }
    return params === undefined && requireApproval === undefined ? null : merged({});
  }
  const safely = async (h, ev) => {
    try {
      return await h.handler(ev, hctx);
    } catch (e) {
      logger.error(`hook ${name} failed: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
  };
  if (name === "message_sending") {
    let content;
    for (const h of list) {
      const r = await safely(h, isolated(event));
      if (!r || typeof r !== "object") continue;
      if (r.cancel === true) {
        return {
          cancel: true,
          ...(r.cancelReason !== undefined ? { cancelReason: String(r.cancelReason) } : {}),
          ...(r.metadata !== undefined ? { metadata: r.metadata } : {}),
          ...(content !== undefined ? { content } : {}),
        };
      }
      if (typeof r.content === "string") content = r.content;
    }
    return content === undefined ? null : { content };
  }
  let last = null;
  for (const h of list) {
    const r = await safely(h, event);
    if (r !== undefined) last = r;
  }
  return last;
}

/** A callable stand-in for an API namespace Astrid does not offer: every call leaves a note. */
function unsupportedNamespace(path, note) {
  return new Proxy(function () {}, {
    get(_t, prop) {
      if (typeof prop !== "string" || prop === "then") return undefined;
      return unsupportedNamespace(`${path}.${prop}`, note);
    },
    apply() {
      note(`not supported by Astrid: api.${path}`);
      return undefined;
    },
  });
}

/** The identity of a registration, for notes: a string argument, or its id/name. */
const identity = (arg) => {
  if (typeof arg === "string") return arg;
  if (typeof arg === "function") return arg.name || "";
  if (arg && typeof arg === "object") {
    const v = arg.id ?? arg.name ?? arg.plugin?.id ?? arg.method ?? arg.path ?? "";
    return typeof v === "string" ? v : "";
  }
  return "";
};

/**
 * Builds the capsule definition of an OpenClaw plugin.
 *
 * @param entryModule the plugin's entry module namespace
 * @param meta `{ id, name, description, version, configSchema, uiHints, configKeys }`
 */
export function toCapsule(entryModule, meta = {}) {
  // No shared secrets: env is empty on purpose; settings come from api.pluginConfig.
  if (globalThis.process === undefined) {
    globalThis.process = {
      env: {},
      platform: "linux",
      version: "v24.0.0",
      versions: {},
      nextTick: (fn, ...args) => queueMicrotask(() => fn(...args)),
      cwd: () => "/",
    };
  }
  const tools = {};
  const hooks = {};
  const cron = {};
  const commands = {};
  const providers = {};
  const notes = [];
  const definition = { tools, hooks, cron, commands, providers, notes };
  let registered = null;
  Object.defineProperty(definition, "prepare", {
    value: () => (registered ??= register(entryModule, meta, definition)),
    enumerable: false,
  });
  return definition;
}

async function register(entryModule, meta, def) {
  const found = findRegister(entryModule);
  if (!found) {
    throw new Error(
      "Cannot load the OpenClaw plugin: its entry exports no register(api), definePluginEntry() " +
        "or defineToolPlugin() result",
    );
  }
  const { tools, hooks, commands, notes } = def;
  const noted = new Set(notes);
  const note = (text) => {
    if (noted.has(text)) return;
    noted.add(text);
    notes.push(text);
  };
  const id = String(meta.id ?? found.entry.id ?? "plugin");
  const name = String(meta.name ?? found.entry.name ?? id);
  // A config schema declared only in code (none in openclaw.plugin.json) is read the same way;
  // `describe` reports it, so that the compiler writes its [env] entries.
  const declared = (meta.configKeys ?? []).length === 0 ? codeConfigSchema(found.entry) : null;
  if (declared) def.config = declared;
  const configKeys = declared ? configKeysOf(declared) : meta.configKeys ?? [];
  const pluginConfig = await loadPluginConfig(
    declared ? { ...meta, configSchema: declared, configKeys } : meta,
  );
  // The snapshot runtime.config.current() returns; an approved write replaces it.
  let config = deepFreeze({
    plugins: { entries: { [id]: { config: structuredClone(pluginConfig) } } },
  });
  const logAt = (level) => (message) => {
    host()?.log(level, String(message)).catch(() => {});
  };
  const logger = Object.freeze({
    debug: logAt("debug"),
    info: logAt("info"),
    warn: logAt("warn"),
    error: logAt("error"),
  });

  // ---- tools ----
  const toolContext = () => ({
    sandboxed: true,
    workspaceDir: WORKSPACE,
    agentId: "astrid",
    sessionKey: undefined,
    config,
    runtimeConfig: config,
    getRuntimeConfig: () => config,
    messageChannel: "astrid",
  });
  const addTool = (tool) => {
    if (!tool || typeof tool !== "object" || typeof tool.name !== "string" || !tool.name) {
      note("registerTool: skipped a tool with no name");
      return;
    }
    const toolName = tool.name;
    if (typeof tool.execute !== "function") {
      note(`registerTool: skipped tool ${toolName}: execute is not a function`);
      return;
    }
    if (!tool.parameters || typeof tool.parameters !== "object") {
      note(`registerTool: skipped tool ${toolName}: it has no parameters object`);
      return;
    }
    if (Object.prototype.hasOwnProperty.call(tools, toolName)) {
      note(`registerTool: skipped tool ${toolName}: the name is already registered`);
      return;
    }
    tools[toolName] = {
      description: String(tool.description ?? tool.label ?? ""),
      input: JSON.parse(JSON.stringify(tool.parameters)),
      run: async (args) => {
        const params = typeof tool.prepareArguments === "function"
          ? tool.prepareArguments(args)
          : args;
        const signal = new AbortController().signal;
        const result = await tool.execute(crypto.randomUUID(), params, signal, () => {});
        return renderResult(result);
      },
    };
  };
  const pending = [];
  const accept = (produced, label, fromFactory) => {
    if (produced === null || produced === undefined) {
      if (fromFactory) {
        note(`registerTool: factory ${label} returned null when sandboxed: no tool registered`);
      } else note("registerTool: skipped a tool with no name");
      return;
    }
    if (typeof produced.then === "function") {
      pending.push(Promise.resolve(produced).then((p) => accept(p, label, fromFactory)));
      return;
    }
    for (const tool of Array.isArray(produced) ? produced : [produced]) addTool(tool);
  };
  const registerTool = (toolOrFactory, opts = {}) => {
    const names = opts?.name ?? (Array.isArray(opts?.names) ? opts.names.join(", ") : undefined);
    const label = names ?? "(unnamed)";
    if (typeof toolOrFactory === "function") {
      accept(toolOrFactory(toolContext()), label, true);
    } else if (
      toolOrFactory && toolOrFactory.contextVersion === 2 &&
      typeof toolOrFactory.create === "function"
    ) {
      accept(
        toolOrFactory.create({ ...toolContext(), assertInvocationCurrent: () => {} }),
        label,
        true,
      );
    } else accept(toolOrFactory, label, false);
  };

  // ---- hooks and services ----
  const handlers = new Map();
  const services = [];
  let seq = 0;
  const serviceContext = () => ({ config, workspaceDir: WORKSPACE, stateDir: STATE_DIR, logger });
  const runServices = async (method) => {
    for (const s of services) {
      if (typeof s[method] !== "function") continue;
      try {
        await s[method](serviceContext());
      } catch (e) {
        logger.error(
          `service ${s.id ?? "(unnamed)"} ${method} failed: ${e instanceof Error ? e.message : e}`,
        );
      }
    }
  };
  const ensureHook = (hookName) => {
    if (Object.prototype.hasOwnProperty.call(hooks, hookName)) return;
    hooks[hookName] = async (payload) => {
      const withEvent = payload && typeof payload === "object" && "event" in payload;
      const event = withEvent ? payload.event : payload;
      const { servicesHosted, ...hctx } = withEvent ? (payload.ctx ?? {}) : {};
      // Services start with the daemon (OpenClaw's gateway: one long-lived instance, where their
      // timers keep running until gateway_stop) and, without a daemon, with each session (a fresh
      // instance: its timers end with each call). A session inside the daemon says so
      // (`servicesHosted`): its services already run there.
      const perSession = servicesHosted !== true;
      if (hookName === "gateway_start" || (hookName === "session_start" && perSession)) {
        await runServices("start");
      }
      const out = await runHook(hookName, handlers.get(hookName) ?? [], event, hctx, logger);
      if (hookName === "gateway_stop" || (hookName === "session_end" && perSession)) {
        await runServices("stop");
      }
      return out;
    };
  };
  const addHandler = (method, hookName, handler, opts) => {
    const n = String(hookName);
    if (!HOOK_NAMES.has(n)) {
      note(`${method}: unknown hook "${n}" ignored`);
      return;
    }
    if (typeof handler !== "function") {
      note(`${method}: skipped hook ${n}: the handler is not a function`);
      return;
    }
    const list = handlers.get(n) ?? [];
    list.push({
      handler,
      priority: Number(opts?.priority ?? 0) || 0,
      matcher: opts?.matcher ?? opts?.toolNames,
      seq: seq++,
    });
    list.sort((a, b) => b.priority - a.priority || a.seq - b.seq);
    handlers.set(n, list);
    ensureHook(n);
  };

  // ---- commands ----
  const commandContext = (cmdName, args) => ({
    channel: "astrid",
    channelId: "astrid",
    isAuthorizedSender: true,
    senderIsOwner: true,
    args,
    commandBody: `/${cmdName}${args ? ` ${args}` : ""}`,
    config,
    runtimeContext: { llm: { complete: runtime.llm.complete } },
    requestConversationBinding: () =>
      Promise.resolve({
        status: "error",
        message: "Cannot bind a conversation: Astrid has no channels",
      }),
    detachConversationBinding: () => Promise.resolve({ removed: false }),
    getCurrentConversationBinding: () => Promise.resolve(null),
  });
  const registerCommand = (cmd) => {
    if (!cmd || typeof cmd.name !== "string" || !cmd.name || typeof cmd.handler !== "function") {
      note(`registerCommand: skipped command ${identity(cmd) || "(unnamed)"}: no name or handler`);
      return;
    }
    const cmdName = cmd.name.replace(/^\//, "");
    commands[cmdName] = {
      description: String(cmd.description ?? ""),
      acceptsArgs: !!cmd.acceptsArgs,
      run: async (args) => {
        const r = await cmd.handler(commandContext(cmdName, String(args ?? "")));
        return { text: typeof r?.text === "string" ? r.text : "" };
      },
    };
  };

  // ---- runtime.config: writes go through set-config, an approved action per changed key ----
  const keyTypes = new Map(configKeys.map(({ key, type }) => [key, type]));
  const ownPath = `plugins.entries.${id}.config`;
  // Checks `next` against the current snapshot, then writes each changed key of this plugin's
  // own config (in key order); a change anywhere else, or a removed key, writes nothing.
  // Returns the changed keys; current() and api.pluginConfig then hold the new values.
  const writeConfig = async (next) => {
    if (!isPlainObject(next)) {
      throw new TypeError(
        "Cannot change the configuration: the new configuration is not an object",
      );
    }
    const outside = firstDifference(config, next, "", ownPath);
    if (outside !== null) {
      throw new Error(
        `Cannot change ${outside}: not supported by Astrid (a plugin may change only ${ownPath})`,
      );
    }
    const before = config.plugins.entries[id].config;
    const after = next.plugins?.entries?.[id]?.config;
    if (!isPlainObject(after)) {
      throw new TypeError(`Cannot change ${ownPath}: it must stay an object`);
    }
    for (const key of Object.keys(before).sort()) {
      if (!Object.hasOwn(after, key) || after[key] === undefined) {
        throw new Error(`Cannot remove ${ownPath}.${key}: not supported by Astrid (set a value)`);
      }
    }
    const changed = Object.keys(after).sort().filter((k) => !sameJson(before[k], after[k]));
    const writes = changed.map((key) => {
      if (!keyTypes.has(key)) {
        throw new Error(
          `Cannot change ${ownPath}.${key}: the plugin's configSchema does not declare it`,
        );
      }
      const text = storedValue(after[key], keyTypes.get(key));
      if (text === null) throw new TypeError(`Cannot change ${ownPath}.${key}: it is not JSON`);
      return [key, text];
    });
    const written = {};
    try {
      for (const [key, text] of writes) {
        await host().config.set(key, text);
        written[key] = parseValue(text, keyTypes.get(key));
      }
    } finally {
      // What was approved and stored stays visible, even when a later key is refused.
      if (Object.keys(written).length > 0) {
        Object.assign(pluginConfig, structuredClone(written));
        config = deepFreeze({
          plugins: { entries: { [id]: { config: { ...structuredClone(before), ...written } } } },
        });
      }
    }
    return changed;
  };
  // OpenClaw's mutateConfigFile({ mutate(draft), afterWrite?, writeOptions? }) or a bare
  // mutate function: `mutate` edits a deep copy of current(). Resolves with
  // { ok: true, changed: [keys], nextConfig: current(), result: what mutate returned }.
  // afterWrite and writeOptions are accepted and ignored (there is no gateway to reload).
  const mutateConfigFile = async (arg) => {
    const mutate = typeof arg === "function" ? arg : arg?.mutate;
    if (typeof mutate !== "function") {
      throw new TypeError("Cannot mutate the configuration: no mutate(draft) function given");
    }
    const draft = structuredClone(config);
    const result = await mutate(draft);
    const changed = await writeConfig(draft);
    return { ok: true, changed, nextConfig: config, result };
  };
  // OpenClaw's replaceConfigFile({ nextConfig }) (or { config }, or the configuration itself).
  // Resolves with { ok: true, changed: [keys], nextConfig: current() }.
  const replaceConfigFile = async (arg) => {
    const next = isPlainObject(arg) && Object.hasOwn(arg, "nextConfig")
      ? arg.nextConfig
      : isPlainObject(arg) && Object.hasOwn(arg, "config") && !Object.hasOwn(arg, "plugins")
      ? arg.config
      : arg;
    const changed = await writeConfig(structuredClone(next));
    return { ok: true, changed, nextConfig: config };
  };

  // ---- runtime ----
  const complete = async (params = {}) => {
    const request = {};
    for (const k of ["messages", "systemPrompt", "model", "maxTokens", "temperature", "purpose"]) {
      if (params[k] !== undefined) request[k] = params[k];
    }
    params.signal?.throwIfAborted?.();
    const reply = (await host().llm.complete(request)) ?? {};
    const provider = String(reply.provider ?? "astrid");
    const usage = {};
    if (typeof reply.usage?.inputTokens === "number") usage.inputTokens = reply.usage.inputTokens;
    if (typeof reply.usage?.outputTokens === "number") {
      usage.outputTokens = reply.usage.outputTokens;
    }
    return {
      text: String(reply.text ?? ""),
      provider,
      model: String(reply.model ?? params.model ?? ""),
      ...(reply.stopReason ? { stopReason: reply.stopReason } : {}),
      agentId: "astrid",
      usage,
      execution: { mode: "direct-provider", owner: { kind: "provider", id: provider } },
      audit: {
        caller: { kind: "plugin", id, name },
        ...(params.purpose !== undefined ? { purpose: String(params.purpose) } : {}),
      },
    };
  };
  const runtime = {
    version: "astrid",
    config: {
      current: () => config,
      mutateConfigFile,
      replaceConfigFile,
    },
    state: {
      resolveStateDir: () => STATE_DIR,
      openKeyedStore,
      openSyncKeyedStore: () => {
        throw new Error(
          "Cannot open a synchronous keyed store in a capsule: not supported: use openKeyedStore",
        );
      },
    },
    llm: { complete },
    logging: { getChildLogger: () => logger, shouldLogVerbose: () => false },
  };

  // ---- the api object ----
  const unsupported = (method) => (arg) => {
    const what = identity(arg);
    note(`not supported by Astrid: api.${method}${what ? ` (${what})` : ""}`);
  };
  const runContext = {
    getRunContext: () => undefined,
    setRunContext: () => false,
    clearRunContext: () => {},
  };
  const base = {
    id,
    name,
    version: meta.version ?? found.entry.version,
    description: meta.description ?? found.entry.description,
    source: "astrid-capsule",
    rootDir: WORKSPACE,
    registrationMode: "full",
    config,
    pluginConfig,
    runtime,
    logger,
    session: unsupportedNamespace("session", note),
    agent: unsupportedNamespace("agent", note),
    runContext,
    lifecycle: unsupportedNamespace("lifecycle", note),
    resolvePath,
    registerTool,
    registerCommand,
    registerService: (service) => {
      if (!service || typeof service !== "object") {
        note("registerService: skipped a service that is not an object");
        return;
      }
      services.push(service);
      for (const h of ["session_start", "session_end", "gateway_start", "gateway_stop"]) {
        ensureHook(h);
      }
    },
    on: (hookName, handler, opts) => addHandler("on", hookName, handler, opts),
    registerHook: (events, handler, opts) => {
      for (const e of Array.isArray(events) ? events : [events]) {
        addHandler("registerHook", e, handler, opts);
      }
    },
    ...runContext,
    emitAgentEvent: (params) => {
      unsupported("emitAgentEvent")(params);
      return { emitted: false };
    },
    enqueueNextTurnInjection: (injection) => {
      unsupported("enqueueNextTurnInjection")(injection);
      return Promise.resolve({ enqueued: false });
    },
    sendSessionAttachment: (params) => {
      unsupported("sendSessionAttachment")(params);
      return Promise.resolve({ ok: false, error: "Astrid has no channels" });
    },
    scheduleSessionTurn: (params) => {
      unsupported("scheduleSessionTurn")(params);
      return Promise.resolve(undefined);
    },
    unscheduleSessionTurnsByTag: (params) => {
      unsupported("unscheduleSessionTurnsByTag")(params);
      return Promise.resolve({ removed: 0 });
    },
    onConversationBindingResolved: unsupported("onConversationBindingResolved"),
  };
  // Every other register* method (today's and a newer OpenClaw's) is accepted and noted.
  const api = new Proxy(base, {
    get(target, prop) {
      if (typeof prop === "string" && !(prop in target) && /^register[A-Z]/.test(prop)) {
        return unsupported(prop);
      }
      return target[prop];
    },
  });

  const done = found.register(api);
  if (done && typeof done.then === "function") await done;
  await Promise.all(pending);
}
