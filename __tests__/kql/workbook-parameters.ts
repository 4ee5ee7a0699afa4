/**
 * How Azure Workbooks put a dropdown's selection into a query, as Microsoft documents it
 * (MicrosoftDocs/azure-monitor-docs `visualize/workbooks-dropdowns.md`): a single-select value goes
 * in as it is; a multi-select one quoted and joined by its delimiter; "All" as the dropdown's
 * `selectAllValue` when it has one, else every value. Written from those docs, not from the
 * workbook's code, so a workbook that relies on something else fails here.
 */

/** A dropdown parameter item of a workbook's parameters step (type 2). */
export interface WorkbookDropdown {
  readonly name: string;
  readonly type: number;
  readonly multiSelect?: boolean;
  readonly quote?: string;
  readonly delimiter?: string;
  readonly typeSettings?: { readonly additionalResourceOptions?: readonly string[]; readonly selectAllValue?: string };
}

/** The text `{<name>}` becomes when the user picks `selection` ("all": the dropdown's All item) among `values`. */
export function formatDropdown(dropdown: WorkbookDropdown, selection: 'all' | readonly string[], values: readonly string[]): string {
  if (dropdown.type !== 2) throw new Error(`${dropdown.name} is not a dropdown (type ${dropdown.type})`);
  if (selection === 'all' && !dropdown.typeSettings?.additionalResourceOptions?.includes('value::all')) {
    throw new Error(`${dropdown.name} has no All item`);
  }
  if (!dropdown.multiSelect) {
    if (selection === 'all' || selection.length !== 1) throw new Error(`${dropdown.name} is single-select: one value, no All`);
    return selection[0];
  }
  const quote = dropdown.quote ?? "'";
  const quoted = (items: readonly string[]) => items.map((item) => `${quote}${item}${quote}`).join(dropdown.delimiter ?? ',');
  if (selection !== 'all') return quoted(selection);
  const selectAllValue = dropdown.typeSettings?.selectAllValue;
  return quoted(selectAllValue === undefined ? values : [selectAllValue]);
}

/** A workbook's parameter named `name`, from its parameters step. */
export function workbookParameter(content: unknown, name: string): WorkbookDropdown {
  const items = (content as { items: { type: number; content: { parameters?: WorkbookDropdown[] } }[] }).items;
  const parameter = items.flatMap((item) => (item.type === 9 ? (item.content.parameters ?? []) : [])).find((p) => p.name === name);
  if (parameter === undefined) throw new Error(`the workbook has no parameter ${name}`);
  return parameter;
}
