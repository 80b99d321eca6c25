/**
 * The fetch-page capsule: fetches a web page from a host in the manifest's `net` and returns it
 * as readable text (title, main text, optionally its links), capped in size. Every request,
 * redirect hops included, goes through `fetch()` (the gated `http-request` host function): the
 * manifest's `net` is the wall, the interceptor the gate.
 *
 * @module
 */
import { defineCapsule } from "@astrid/sdk";
import { type PageLink, readable } from "./readable.ts";
import { resolveUrl } from "./url.ts";

/** Arguments of `read`. */
export type ReadArgs = { url: string; links?: boolean; maxChars?: number };

/** What `read` returns. */
export interface Page {
  /** The URL the text came from (after redirects). */
  url: string;
  /** HTTP status of the final response. */
  status: number;
  /** The response's media type (`text/html`, …). */
  contentType: string;
  /** The page title (empty for non-HTML). */
  title: string;
  /** The readable text, at most `maxChars` characters. */
  text: string;
  /** True when `text` was cut at `maxChars`. */
  truncated: boolean;
  /** The page's links, when asked for. */
  links?: PageLink[];
}

/** Default and largest `maxChars`. */
export const DEFAULT_MAX_CHARS = 20_000;
const LIMIT_MAX_CHARS = 200_000;
const MAX_REDIRECTS = 5;
const TEXTUAL =
  /^(text\/|application\/(json|xml|xhtml\+xml|ld\+json|javascript)|[^;]*\+(json|xml))/;

/** GETs `url`, following up to MAX_REDIRECTS redirects, each one gated like the first. */
async function get(url: string): Promise<{ url: string; res: Response }> {
  let at = url;
  for (let hop = 0;; hop++) {
    const res = await fetch(at, {
      headers: {
        accept: "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5",
      },
    });
    const location = res.headers.get("location");
    if (res.status < 300 || res.status >= 400 || location === null) {
      return { url: at, res };
    }
    if (hop >= MAX_REDIRECTS) {
      throw new Error(
        `Cannot fetch ${url}: more than ${MAX_REDIRECTS} redirects`,
      );
    }
    const next = resolveUrl(at, location);
    if (next === null) {
      throw new Error(
        `Cannot follow the redirect of ${at}: current location is ${location}`,
      );
    }
    at = next;
  }
}

function cap(text: string, max: number): { text: string; truncated: boolean } {
  if (text.length <= max) return { text, truncated: false };
  const cut = text.slice(0, max);
  const space = cut.lastIndexOf(" ");
  return {
    text: `${space > max * 0.8 ? cut.slice(0, space) : cut}…`,
    truncated: true,
  };
}

async function read(args: ReadArgs): Promise<Page> {
  const start = resolveUrl(args.url, args.url);
  if (start === null || !/^https?:\/\//i.test(args.url.trim())) {
    throw new TypeError(
      `Cannot read url: current value ${
        JSON.stringify(args.url)
      } is not http(s)`,
    );
  }
  const max = Math.min(
    Math.max(Math.floor(args.maxChars ?? DEFAULT_MAX_CHARS), 1),
    LIMIT_MAX_CHARS,
  );
  const { url, res } = await get(start);
  if (!res.ok) throw new Error(`Cannot read ${url}: HTTP ${res.status}`);
  const contentType = (res.headers.get("content-type") ?? "text/html").split(
    ";",
  )[0]!.trim()
    .toLowerCase();
  if (!TEXTUAL.test(contentType)) {
    throw new Error(
      `Cannot read ${url}: current content type is ${contentType}, not text`,
    );
  }
  const body = await res.text();
  const html = contentType === "text/html" ||
    contentType === "application/xhtml+xml";
  const page = html
    ? readable(body, url)
    : { title: "", text: body.replace(/\r\n?/g, "\n").trim(), links: [] };
  return {
    url,
    status: res.status,
    contentType,
    title: page.title,
    ...cap(page.text, max),
    ...(args.links ? { links: page.links } : {}),
  };
}

/**
 * The capsule definition: one tool, `read`.
 *
 * @example The tool is a plain async function
 * ```ts ignore
 * import fetchPage from "./mod.ts";
 * const page = await fetchPage.tools.read.run({ url: "https://example.com/", links: true });
 * ```
 */
export default defineCapsule({
  tools: {
    read: {
      description:
        "Fetches a web page (http/https, from the hosts this capsule may reach) and " +
        "returns its title and readable main text, without scripts, styles or navigation; " +
        "optionally its links. Plain-text and JSON responses are returned as they are.",
      input: {
        type: "object",
        properties: {
          url: {
            type: "string",
            description: "Absolute http(s) URL",
            maxLength: 4096,
          },
          links: {
            type: "boolean",
            description: "Also return the page's links (default false)",
          },
          maxChars: {
            type: "integer",
            minimum: 100,
            maximum: LIMIT_MAX_CHARS,
            description:
              `Cap on the returned text (default ${DEFAULT_MAX_CHARS})`,
          },
        },
        required: ["url"],
        additionalProperties: false,
      },
      run: read,
    },
  },
});
