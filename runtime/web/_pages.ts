/**
 * The few pages the server renders itself (the one-time approval link, sign-in messages).
 * Every interpolated value goes through {@link escapeHtml}; the pages carry no script and no
 * inline style (the CSP forbids both), only `/static/app.css`.
 *
 * @module
 */
import type { PendingApproval } from "../daemon/types.ts";

const ENTITIES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for HTML element content and double-quoted attributes.
 *
 * @example Usage
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { escapeHtml } from "./_pages.ts";
 * equal(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** A whole page around `body`. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · Astrid</title>
<link rel="stylesheet" href="/static/app.css">
</head>
<body>
<main class="single">
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

/** A page that only says something (`kind` styles it). */
export function messagePage(title: string, text: string, kind: "ok" | "error" = "error"): string {
  return page(title, `<p class="notice ${kind}">${escapeHtml(text)}</p>`);
}

/** The answers, in prompt order, with their button labels. */
export const ANSWERS = [
  ["once", "Approve once"],
  ["session", "Approve for session"],
  ["always", "Always allow"],
  ["deny", "Deny"],
] as const;

/** The details of one approval as a definition list (shared by the link page). */
export function approvalDetails(a: PendingApproval): string {
  const untrusted = a.provenance?.trust === "untrusted";
  const provenance = a.provenance
    ? `${escapeHtml(a.provenance.trust)}${
      a.provenance.source ? `: ${escapeHtml(a.provenance.source)}` : ""
    }`
    : "the user's request";
  return `<dl class="details">
<dt>Action</dt><dd>${escapeHtml(a.summary)}</dd>
<dt>Kind</dt><dd><code>${escapeHtml(a.action)}</code></dd>
<dt>Resource</dt><dd><code>${escapeHtml(a.resource)}</code></dd>
<dt>Risk</dt><dd><span class="risk risk-${escapeHtml(a.risk)}">${escapeHtml(a.risk)}</span></dd>
<dt>Why asked</dt><dd>${escapeHtml(a.reason)}</dd>
<dt>Provenance</dt><dd${untrusted ? ' class="untrusted"' : ""}>${provenance}</dd>
</dl>`;
}

/** The one-time link's page: the approval and a form with the four answers. */
export function linkPage(a: PendingApproval, code: string, csrf: string): string {
  const buttons = ANSWERS.map(([value, label]) =>
    `<button type="submit" name="answer" value="${value}" class="answer answer-${value}">${label}</button>`
  ).join("\n");
  return page(
    "Approval needed",
    `${approvalDetails(a)}
<form method="post" action="/a/${escapeHtml(code)}" class="answers">
<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">
${buttons}
</form>
<p class="hint">This link works once and only for this approval.</p>`,
  );
}
