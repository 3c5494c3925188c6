// Small DOM helpers: the page is plain DOM, no framework.

type Attrs = Record<string, string | boolean | undefined>;
type Child = Node | string | null | undefined;

/** Creates an element; attributes set to false or undefined are left out. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === undefined) continue;
    e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

/** The element with this id; a missing one is a bug in index.html, so fail loudly. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`index.html has no #${id}`);
  return e as T;
}

/** Sets text only when it changed, so screen readers and selections are not disturbed. */
export function setText(e: HTMLElement, text: string): void {
  if (e.textContent !== text) e.textContent = text;
}

/** Shows a message in a status line: kind "error" is announced at once (role=alert). */
export function say(e: HTMLElement, text: string, kind: "info" | "ok" | "error" = "info"): void {
  e.setAttribute("role", kind === "error" ? "alert" : "status");
  e.dataset.kind = kind;
  setText(e, text);
}
