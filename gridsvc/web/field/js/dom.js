// The two DOM helpers every screen of the app uses.

export const $ = (id) => document.getElementById(id);

/** A new element with its class and text. */
export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
