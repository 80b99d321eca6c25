// The Astrid web inbox: a small JSON-RPC 2.0 client over the daemon's /rpc WebSocket (the
// session cookie authenticates it) and a DOM built with textContent only (no HTML strings), so
// nothing the agent or a tool produced can become markup. No build step; no storage APIs.

const $ = (id) => document.getElementById(id);
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

const ANSWERS = [
  ["once", "Approve once"],
  ["session", "Approve for session"],
  ["always", "Always allow"],
  ["deny", "Deny"],
];
const MAX_SESSION_LINES = 200;

let socket = null;
let nextId = 1;
const waiting = new Map();
let retryMs = 500;

/** Calls `method` with `params`; resolves with the result, rejects with the error message. */
function call(method, params = {}) {
  return new Promise((resolve, reject) => {
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      reject(new Error("not connected to the daemon"));
      return;
    }
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    socket.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
  });
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

function setConnection(state, text) {
  const conn = $("conn");
  conn.dataset.state = state;
  conn.textContent = text;
}

// ---- approvals ------------------------------------------------------------------------------

const approvals = new Map();

function provenanceOf(a) {
  if (!a.provenance) return el("dd", { text: "the user's request" });
  const text = a.provenance.source
    ? `${a.provenance.trust}: ${a.provenance.source}`
    : a.provenance.trust;
  return el("dd", { class: a.provenance.trust === "untrusted" ? "untrusted" : "", text });
}

function approvalCard(a) {
  const details = el(
    "dl",
    { class: "details" },
    el("dt", { text: "Kind" }),
    el("dd", {}, el("code", { text: a.action })),
    el("dt", { text: "Resource" }),
    el("dd", {}, el("code", { text: a.resource })),
    el("dt", { text: "Risk" }),
    el("dd", {}, el("span", { class: `risk risk-${a.risk}`, text: a.risk })),
    el("dt", { text: "Why asked" }),
    el("dd", { text: a.reason }),
    el("dt", { text: "Provenance" }),
    provenanceOf(a),
  );
  const buttons = el("div", { class: "answers" });
  const status = el("p", { class: "card-status", hidden: "" });
  for (const [answer, label] of ANSWERS) {
    buttons.append(el("button", {
      type: "button",
      class: `answer answer-${answer}`,
      "data-answer": answer,
      text: label,
      onclick: () => respond(a.id, answer, card, status),
    }));
  }
  const card = el(
    "li",
    { class: "card approval", "data-id": a.id },
    el("h3", { text: a.summary }),
    details,
    buttons,
    status,
  );
  return card;
}

async function respond(id, answer, card, status) {
  for (const b of card.querySelectorAll("button")) b.disabled = true;
  try {
    const outcome = await call("approvals.respond", { id, answer });
    status.hidden = false;
    status.textContent = outcome.message ?? outcome.status;
    removeApproval(id);
  } catch (err) {
    status.hidden = false;
    status.textContent = err.message;
    for (const b of card.querySelectorAll("button")) b.disabled = false;
  }
}

function addApproval(a) {
  if (a.status && a.status !== "pending") return;
  if (approvals.has(a.id)) return;
  const card = approvalCard(a);
  approvals.set(a.id, card);
  $("approval-list").append(card);
  renderApprovalCount();
}

function removeApproval(id) {
  const card = approvals.get(id);
  if (!card) return;
  approvals.delete(id);
  card.remove();
  renderApprovalCount();
}

function renderApprovalCount() {
  $("approval-count").textContent = String(approvals.size);
  $("approvals-empty").hidden = approvals.size > 0;
  document.title = approvals.size > 0 ? `(${approvals.size}) Astrid inbox` : "Astrid inbox";
}

async function loadApprovals() {
  const list = await call("approvals.list", {});
  const ids = new Set(list.map((a) => a.id));
  for (const id of [...approvals.keys()]) if (!ids.has(id)) removeApproval(id);
  for (const a of list) addApproval(a);
}

// ---- elicitations (an MCP server in a daemon session asks for information) -------------------

function fieldInput(f) {
  const name = `f-${f.name}`;
  let input;
  if (f.choices?.length) {
    input = el("select", { name, id: name });
    for (const c of f.choices) input.append(el("option", { value: c, text: c }));
  } else if (f.type === "boolean") {
    input = el("input", { type: "checkbox", name, id: name });
    if (f.default === true) input.checked = true;
  } else {
    input = el("input", { type: f.type === "string" ? "text" : "number", name, id: name });
    if (f.type === "integer") input.step = "1";
  }
  if (f.default !== undefined && f.type !== "boolean") input.value = String(f.default);
  if (f.required) input.required = true;
  return el(
    "label",
    { class: "field", for: name },
    el("span", { text: `${f.title ?? f.name}${f.required ? " *" : ""}` }),
    input,
    f.description ? el("small", { text: f.description }) : null,
  );
}

function formContent(form, fields) {
  const content = {};
  for (const f of fields) {
    const input = form.elements.namedItem(`f-${f.name}`);
    if (f.type === "boolean") content[f.name] = input.checked;
    else if (input.value === "") continue;
    else if (f.type === "number" || f.type === "integer") content[f.name] = Number(input.value);
    else content[f.name] = input.value;
  }
  return content;
}

function addElicitation(e) {
  if (approvals.has(e.id)) return;
  const status = el("p", { class: "card-status", hidden: "" });
  const form = el("form", { class: "elicitation-form" });
  for (const f of e.fields) form.append(fieldInput(f));
  const answer = async (action) => {
    for (const b of card.querySelectorAll("button")) b.disabled = true;
    try {
      const params = { id: e.id, action };
      if (action === "accept" && e.mode === "form") params.content = formContent(form, e.fields);
      await call("elicitations.respond", params);
      removeApproval(e.id);
    } catch (err) {
      status.hidden = false;
      status.textContent = err.message;
      for (const b of card.querySelectorAll("button")) b.disabled = false;
    }
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    answer("accept");
  });
  const buttons = el(
    "div",
    { class: "answers" },
    el("button", {
      type: "button",
      class: "answer answer-once",
      text: e.mode === "url" ? "I have visited it" : "Send",
      onclick: () => form.requestSubmit(),
    }),
    el("button", {
      type: "button",
      class: "answer answer-deny",
      text: "Decline",
      onclick: () => answer("decline"),
    }),
  );
  const card = el(
    "li",
    { class: "card approval elicitation", "data-id": e.id },
    el("h3", { text: `${e.from} asks` }),
    el("p", { class: "untrusted", text: e.message }),
    e.url ? el("p", {}, el("code", { text: e.url })) : null,
    form,
    buttons,
    status,
  );
  approvals.set(e.id, card);
  $("approval-list").append(card);
  renderApprovalCount();
}

async function loadElicitations() {
  for (const e of await call("elicitations.list", {})) addElicitation(e);
}

// ---- sessions -------------------------------------------------------------------------------

const sessions = new Map();

function sessionCard(id) {
  let entry = sessions.get(id);
  if (entry) return entry;
  const title = el("h3", { text: id });
  const meta = el("p", { class: "meta" });
  const log = el("pre", { class: "stream", "aria-live": "polite" });
  const card = el("li", { class: "card session", "data-id": id }, title, meta, log);
  entry = { card, title, meta, log, text: null };
  sessions.set(id, entry);
  $("session-list").append(card);
  $("sessions-empty").hidden = true;
  return entry;
}

function appendLine(entry, text, kind) {
  const line = el("span", { class: `line ${kind}`, text });
  entry.log.append(line);
  while (entry.log.childElementCount > MAX_SESSION_LINES) entry.log.firstElementChild.remove();
  return line;
}

function onSessionEvent(e) {
  const entry = sessionCard(e.sessionId);
  switch (e.type) {
    case "session.status":
      entry.meta.textContent = e.status;
      break;
    case "turn.start":
      entry.text = null;
      appendLine(entry, `— turn ${e.turn} —\n`, "turn");
      break;
    case "text":
      entry.text ??= appendLine(entry, "", "text");
      entry.text.textContent += e.text;
      break;
    case "tool.start": {
      entry.text = null;
      const from = e.provenance?.trust === "untrusted"
        ? ` (after untrusted: ${e.provenance.source})`
        : "";
      appendLine(entry, `\n→ ${e.name} ${JSON.stringify(e.args).slice(0, 200)}${from}\n`, "tool");
      break;
    }
    case "tool.end":
      appendLine(entry, `← ${e.name}: ${e.status} ${e.detail}\n`, "tool");
      break;
    case "turn.end":
      entry.text = null;
      appendLine(entry, `\n[${e.status}] $${e.costUsd.toFixed(4)}\n`, "turn");
      break;
  }
}

async function loadSessions() {
  const list = await call("sessions.list", {});
  for (const s of list.filter((s) => s.live || s.status === "running")) {
    const entry = sessionCard(s.id);
    entry.title.textContent = s.title || s.id;
    entry.meta.textContent = `${s.status} · ${s.workspace} · ${s.turnCount} turns`;
  }
}

// ---- budget, grants, audit ------------------------------------------------------------------

function keyValues(obj) {
  const dl = el("dl", { class: "details" });
  for (const [k, v] of Object.entries(obj ?? {})) {
    dl.append(
      el("dt", { text: k }),
      el("dd", { text: typeof v === "object" ? JSON.stringify(v) : String(v) }),
    );
  }
  return dl;
}

const usd = (n) => `$${Number(n ?? 0).toFixed(4)}`;

async function loadBudget() {
  const body = $("budget-body");
  try {
    const b = await call("budget.get", {});
    body.replaceChildren(keyValues({
      "per session": usd(b.limits?.sessionUsd),
      "per action": usd(b.limits?.perActionUsd),
      "warn at": `${Math.round((b.limits?.warnAt ?? 0) * 100)}%`,
      "spent (all sessions)": usd(b.total?.spentUsd),
      "reserved now": usd(b.total?.reservedUsd),
      "sessions": b.total?.sessions ?? 0,
    }));
  } catch (err) {
    body.textContent = `unavailable: ${err.message}`;
  }
}

async function loadGrants() {
  const list = $("grant-list");
  let grants;
  try {
    grants = await call("grants.list", {});
  } catch (err) {
    list.replaceChildren(el("li", { class: "card", text: `unavailable: ${err.message}` }));
    return;
  }
  $("grants-empty").hidden = grants.length > 0;
  list.replaceChildren(...grants.map((g) => {
    const status = el("p", { class: "card-status", hidden: "" });
    // A standing rule lives in a config file the user edits; tokens and allowances revoke here.
    const revoke = g.kind === "rule" ? null : el("button", {
      type: "button",
      class: "revoke",
      text: "Revoke",
      onclick: async () => {
        revoke.disabled = true;
        try {
          await call("grants.revoke", { id: g.id });
          await loadGrants();
        } catch (err) {
          status.hidden = false;
          status.textContent = err.message;
          revoke.disabled = false;
        }
      },
    });
    return el(
      "li",
      { class: "card grant", "data-id": g.id },
      el("h3", {}, el("code", { text: g.resource })),
      keyValues({
        kind: g.kind,
        permissions: (g.permissions ?? []).join(", "),
        scope: g.scope,
        expires: g.expiresAt ?? "never",
        ...(g.source ? { "set in": g.source } : {}),
      }),
      revoke,
      status,
    );
  }));
}

async function loadAudit() {
  const list = $("audit-list");
  try {
    const result = await call("audit.list", { limit: 50 });
    const entries = Array.isArray(result) ? result : result.entries ?? [];
    list.replaceChildren(...entries.map((e) =>
      el(
        "li",
        { class: `audit-entry decision-${e.decision ?? ""}` },
        el("span", { class: "seq", text: `#${e.seq}` }),
        el("span", { class: "decision", text: e.decision ?? "" }),
        el("span", { class: "summary", text: e.action?.summary ?? e.action?.resource ?? "" }),
      )
    ));
  } catch (err) {
    list.replaceChildren(el("li", { text: `unavailable: ${err.message}` }));
  }
}

async function verifyAudit() {
  const out = $("audit-result");
  out.hidden = false;
  out.className = "notice";
  out.textContent = "verifying…";
  try {
    const r = await call("audit.verify", {});
    out.className = `notice ${r.ok ? "ok" : "error"}`;
    out.textContent = r.ok
      ? `Verified: ${r.entries} entries, ${r.checkpoints} checkpoints, chain and signatures intact.`
      : `FAILED: ${r.problems.map((p) => `${p.label} at #${p.seq}: ${p.reason}`).join("; ")}`;
  } catch (err) {
    out.className = "notice error";
    out.textContent = err.message;
  }
}

// ---- connection -----------------------------------------------------------------------------

function onEvent({ event }) {
  if (event.type === "approval.requested") addApproval(event.approval);
  else if (event.type === "approval.resolved") {
    removeApproval(event.id);
    loadAudit();
    loadGrants();
  } else if (event.type === "elicitation.requested") addElicitation(event.elicitation);
  else if (event.type === "elicitation.resolved") removeApproval(event.id);
  else if (event.type === "budget.warning") loadBudget();
  else if ("sessionId" in event) onSessionEvent(event);
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/rpc`);
  socket.addEventListener("open", async () => {
    retryMs = 500;
    setConnection("open", "live");
    showError("");
    try {
      await call("events.subscribe", { canAnswer: true });
      await loadApprovals();
      await loadElicitations();
      await Promise.all([loadSessions(), loadBudget(), loadGrants(), loadAudit()]);
    } catch (err) {
      showError(err.message);
    }
  });
  socket.addEventListener("message", (msg) => {
    let data;
    try {
      data = JSON.parse(msg.data);
    } catch {
      return;
    }
    if (data.id !== undefined && waiting.has(data.id)) {
      const { resolve, reject } = waiting.get(data.id);
      waiting.delete(data.id);
      if (data.error) reject(new Error(data.error.message));
      else resolve(data.result);
    } else if (data.method === "events.event") {
      onEvent(data.params);
    }
  });
  socket.addEventListener("close", () => {
    for (const { reject } of waiting.values()) reject(new Error("the connection closed"));
    waiting.clear();
    setConnection("closed", "reconnecting…");
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 10_000);
  });
}

$("logout-csrf").value = csrf;
$("audit-verify").addEventListener("click", verifyAudit);
$("audit-refresh").addEventListener("click", loadAudit);
renderApprovalCount();
connect();
