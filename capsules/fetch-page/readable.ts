/**
 * HTML → readable text, with htmlparser2's streaming parser (no DOM is built). Scripts, styles,
 * templates, SVG, forms and page chrome (`nav`, `header`, `footer`, `aside`) are dropped; when
 * the page marks its content with `<main>` or `<article>`, only that is kept. Headings become
 * `#` lines, list items `- ` lines, other blocks paragraphs; whitespace is collapsed.
 *
 * @module
 */
import { Parser } from "htmlparser2";
import { resolveUrl } from "./url.ts";

/** One link of the page: its text and its absolute http(s) URL. */
export interface PageLink {
  /** The link's visible text (collapsed; may be empty). */
  text: string;
  /** The absolute URL. */
  href: string;
}

/** What {@link readable} extracts. */
export interface Readable {
  /** The `<title>` (or the first `<h1>`), collapsed; empty when the page has neither. */
  title: string;
  /** The main text. */
  text: string;
  /** The page's http(s) links, deduplicated, in order (at most {@link MAX_LINKS}). */
  links: PageLink[];
}

/** The most links {@link readable} returns. */
export const MAX_LINKS = 200;

/** Elements whose whole content is never text for a reader. */
const SKIP = new Set([
  "script",
  "style",
  "noscript",
  "template",
  "svg",
  "math",
  "iframe",
  "object",
  "canvas",
  "select",
  "button",
  "form",
  "head",
]);
/** Page chrome: dropped from the text (their links are still collected). */
const CHROME = new Set(["nav", "header", "footer", "aside"]);
/** Elements that mark the page's own content. */
const MAIN = new Set(["main", "article"]);
/** Elements that end a line of text. */
const BLOCK = new Set([
  "address",
  "blockquote",
  "br",
  "dd",
  "div",
  "dl",
  "dt",
  "figcaption",
  "figure",
  "hr",
  "li",
  "ol",
  "p",
  "pre",
  "section",
  "table",
  "td",
  "th",
  "tr",
  "ul",
  "main",
  "article",
]);
/** Blocks that end with a single line break. */
const LINE = new Set(["dt", "dd", "tr"]);
const HEADING = /^h([1-6])$/;
const PRE_SPACE = "\uE000";
const PRE_TAB = "\uE001";

/** Collapses runs of whitespace inside lines and blank lines between them. */
export function collapse(text: string): string {
  return text
    .split("\n")
    .map((line) => line.replace(/[\s\u00a0]+/g, " ").trim())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/**
 * Extracts the title, main text and links of an HTML page.
 *
 * @param html the page
 * @param base the page's URL, for resolving relative links
 * @returns title, text and links
 *
 * @example Scripts and navigation are dropped, the article kept
 * ```ts ignore
 * const page = readable(
 *   "<title>T</title><nav><a href='/'>Home</a></nav><article><h1>Hi</h1><p>Text</p></article>",
 *   "https://example.com/a/b",
 * );
 * // page.text === "# Hi\n\nText"; page.links[0].href === "https://example.com/"
 * ```
 */
export function readable(html: string, base: string): Readable {
  let skip = 0; // depth inside SKIP elements
  let pre = 0; // depth inside <pre>
  let chrome = 0; // depth inside CHROME elements
  let main = 0; // depth inside MAIN elements
  let sawMain = false;
  let title = "";
  let inTitle = false;
  let firstH1 = "";
  let inH1 = false;
  const all: string[] = [];
  const primary: string[] = [];
  const links: PageLink[] = [];
  const seen = new Set<string>();
  let link: { href: string; text: string } | null = null;
  const emit = (s: string) => {
    if (skip > 0 || chrome > 0) return;
    all.push(s);
    if (main > 0) primary.push(s);
  };
  const parser = new Parser({
    onopentag(name, attribs) {
      if (name === "title") inTitle = true;
      if (name === "pre") pre++;
      if (SKIP.has(name)) skip++;
      if (CHROME.has(name)) chrome++;
      if (MAIN.has(name)) {
        main++;
        sawMain = true;
      }
      const h = HEADING.exec(name);
      if (h) {
        if (name === "h1" && !firstH1) inH1 = true;
        emit(`\n\n${"#".repeat(Number(h[1]))} `);
      } else if (name === "li") emit("\n- ");
      else if (name === "br" || LINE.has(name)) emit("\n");
      else if (BLOCK.has(name) && name !== "td" && name !== "th") emit("\n\n");
      if (name === "a" && skip === 0) {
        const href = resolveUrl(base, attribs.href ?? "");
        link = href ? { href, text: "" } : null;
      }
    },
    ontext(data) {
      if (inTitle) title += data;
      if (skip > 0) return;
      if (inH1) firstH1 += data;
      if (link) link.text += data;
      // Source line breaks are spaces, except inside <pre>: there, spaces and tabs are held as private-use characters through collapse().
      emit(
        pre > 0
          ? data.replace(/\r\n?/g, "\n").replace(/ /g, PRE_SPACE).replace(
            /\t/g,
            PRE_TAB,
          )
          : data.replace(/[\s\u00a0]+/g, " "),
      );
    },
    onclosetag(name) {
      if (name === "title") inTitle = false;
      if (name === "pre" && pre > 0) pre--;
      if (SKIP.has(name) && skip > 0) skip--;
      if (CHROME.has(name) && chrome > 0) chrome--;
      if (MAIN.has(name) && main > 0) main--;
      if (HEADING.test(name)) {
        inH1 = false;
        emit("\n\n");
      } else if (LINE.has(name)) emit("\n");
      else if (name === "td" || name === "th") emit(" ");
      else if (BLOCK.has(name) && name !== "br" && name !== "li") emit("\n\n");
      if (name === "a" && link) {
        if (!seen.has(link.href) && links.length < MAX_LINKS) {
          seen.add(link.href);
          links.push({
            text: collapse(link.text.replace(/\n/g, " ")),
            href: link.href,
          });
        }
        link = null;
      }
    },
  }, {
    decodeEntities: true,
    lowerCaseTags: true,
    lowerCaseAttributeNames: true,
  });
  parser.write(html);
  parser.end();
  const body = collapse(
    (sawMain && primary.join("").trim() ? primary : all).join(""),
  )
    .replace(/\uE000/g, " ").replace(/\uE001/g, "\t");
  const heading = collapse(title.replace(/\n/g, " ")) ||
    collapse(firstH1.replace(/\n/g, " "));
  return { title: heading, text: body, links };
}
