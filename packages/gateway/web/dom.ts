/** What {@link el} sets on a new element: classes, text, attributes. Text is always text. */
export interface ElementOptions {
  class?: string;
  /** Set as textContent: names and values from the API are data, never markup. */
  text?: string;
  attrs?: Record<string, string>;
}

/** Child nodes {@link el} appends; strings become text nodes. */
export type Child = Node | string | null | undefined | false;

/** Builds an HTML element without ever parsing markup. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, options: ElementOptions = {}, children: readonly Child[] = []): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (options.class !== undefined) element.className = options.class;
  if (options.text !== undefined) element.textContent = options.text;
  for (const [name, value] of Object.entries(options.attrs ?? {})) element.setAttribute(name, value);
  append(element, children);
  return element;
}

const SVG_NAMESPACE = 'http://www.w3.org/2000/svg';

/** Builds an SVG element: attributes set one by one, text as text. */
export function svg(tag: string, attrs: Record<string, string | number> = {}, children: readonly Child[] = []): SVGElement {
  const element = document.createElementNS(SVG_NAMESPACE, tag) as SVGElement;
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  append(element, children);
  return element;
}

function append(parent: Element, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

/** Replaces everything inside `parent` with `children`. */
export function replaceChildren(parent: Element, children: readonly Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}
