/** Reading the README's Markdown tables and headings, for the tests that check them against their sources. */

/** The body rows of the table headed `header` (its lines up to the first that is no table row). */
export function tableRows(markdown: string, header: string, what: string): string[] {
  const start = markdown.indexOf(header);
  if (start < 0) throw new Error(`README has no ${what} (${header})`);
  const lines = markdown.slice(start).split('\n');
  return lines.slice(2, lines.findIndex((line, index) => index > 1 && !line.startsWith('|')));
}

/** GitHub's anchor of a heading: lower case, punctuation other than `-` and `_` dropped, spaces as `-`. */
export function anchorOf(heading: string): string {
  return heading.replace(/^#+ /, '').toLowerCase().replace(/[^a-z0-9 _-]/g, '').replace(/ /g, '-');
}
