/**
 * The last rendered plan with the value it renders, so code that reads a rendered plan back (the
 * hosts' bundle checks) gets that value without parsing the text again: 3 ms and a copy of every
 * database for a 1,000-database plan. No imports: the hosts load it without the plan's schema.
 */
let lastRendering: { readonly text: string; readonly value: unknown } | undefined;

export function rememberRendering(text: string, value: unknown): void {
  lastRendering = { text, value };
}

/**
 * `JSON.parse(text)`, or the value `text` was rendered from when it is the last rendering (the
 * same JSON values, frozen).
 *
 * @throws SyntaxError when `text` is not JSON
 */
export function readRenderedPlan(text: string): unknown {
  return lastRendering !== undefined && text === lastRendering.text ? lastRendering.value : JSON.parse(text);
}
