/**
 * URL resolution for links and redirects (RFC 3986 §5.2): the sandbox's `URL` takes absolute
 * URLs only, so relative references are resolved here. Only http(s) results are kept.
 *
 * @module
 */

/** Removes `.` and `..` segments from a path (RFC 3986 §5.2.4). */
export function removeDotSegments(path: string): string {
  const out: string[] = [];
  const segments = path.split("/");
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    const last = i === segments.length - 1;
    if (s === ".") {
      if (last) out.push("");
    } else if (s === "..") {
      if (out.length > 1) out.pop();
      if (last) out.push("");
    } else out.push(s);
  }
  const joined = out.join("/");
  return joined.startsWith("/") ? joined : `/${joined}`;
}

/**
 * Resolves `ref` against the absolute URL `base`; null unless the result is http(s).
 *
 * @param base an absolute http(s) URL
 * @param ref a link as written in the page (absolute, `//host/…`, `/path`, `rel`, `?q`)
 * @returns the absolute URL without its fragment, or null
 *
 * @example
 * ```ts ignore
 * resolveUrl("https://a.example/x/y", "../z?q=1#top"); // "https://a.example/z?q=1"
 * resolveUrl("https://a.example/", "javascript:alert(1)"); // null
 * ```
 */
export function resolveUrl(base: string, ref: string): string | null {
  const r = ref.trim().replace(/[\t\n\r]/g, "").replace(/#.*$/s, "");
  if (r === "") return null;
  let b: URL;
  try {
    b = new URL(base);
  } catch {
    return null;
  }
  let out: string;
  if (/^[a-z][a-z0-9+.-]*:/i.test(r)) out = r;
  else if (r.startsWith("//")) out = `${b.protocol}${r}`;
  else if (r.startsWith("/")) out = `${b.origin}${r}`;
  else if (r.startsWith("?")) out = `${b.origin}${b.pathname}${r}`;
  else {
    const dir = b.pathname.slice(0, b.pathname.lastIndexOf("/") + 1);
    const [path, query] = splitQuery(dir + r);
    out = `${b.origin}${removeDotSegments(path)}${query}`;
  }
  try {
    const u = new URL(out);
    if (u.protocol !== "http:" && u.protocol !== "https:") return null;
    const [path, query] = splitQuery(u.pathname + u.search);
    return `${u.protocol}//${u.host}${removeDotSegments(path || "/")}${query}`;
  } catch {
    return null;
  }
}

function splitQuery(s: string): [string, string] {
  const q = s.indexOf("?");
  return q < 0 ? [s, ""] : [s.slice(0, q), s.slice(q)];
}
