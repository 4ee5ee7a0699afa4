/**
 * One `terraform validate` for many stacks: each stack becomes child module `s<i>` of one root, and
 * the diagnostics are split back to their stacks. Terraform starts the provider plugins and loads
 * their schemas once per run, which is most of what a validate of one stack costs.
 *
 * What differs in a child module, as measured with Terraform 1.11 and these providers:
 * - `backend` and `cloud`: `validate` after `init -backend=false` never checks their type or
 *   settings, in a root either; only their structure (one of them at most), which Terraform still
 *   checks in a child. A `backend` block in a child draws the warning "Backend configuration
 *   ignored": that one, and only that one, is dropped (and counted in the report).
 * - `provider` blocks: each child would start its own plugins, and empty ones draw "Redundant empty
 *   provider block". A block every stack has alike, without references or alias, moves to the root
 *   once; any other stays in its stack and is still validated there.
 * - root-only rules: `import` blocks, variables, and the error for an output that refers to a value
 *   made `sensitive(...)` without `sensitive = true`. A stack with any of them is validated alone.
 */
import type { Diagnostic, ValidateOutput } from './validate-terraform';
import type { StackJson } from './validate-variants';

export const CHILD_FILE = 'cdk.tf.json';

/** The module name of the stack at `index` of a combined root. */
export function childName(index: number): string {
  return `s${index}`;
}

/** Stacks that must stay a root: what they hold behaves otherwise, or not at all, in a child module. */
export function needsOwnRoot(json: StackJson): boolean {
  return json.import !== undefined || json.variable !== undefined || JSON.stringify(json).includes('sensitive(');
}

export interface CombinedRoot {
  /** The root's `main.tf.json`. */
  readonly main: StackJson;
  /** The stacks as child modules, in order: `childName(i)/cdk.tf.json`. */
  readonly children: readonly StackJson[];
}

/** A root calling every stack as a child module; the stacks share one provider set. */
export function combinedRoot(stacks: readonly StackJson[]): CombinedRoot {
  const provider: Record<string, unknown> = {};
  for (const name of Object.keys(stacks[0]?.provider ?? {})) {
    const blocks = JSON.stringify(stacks[0].provider[name]);
    const shared = stacks.every((stack) => JSON.stringify(stack.provider?.[name]) === blocks);
    if (shared && !blocks.includes('${') && !blocks.includes('"alias"')) provider[name] = stacks[0].provider[name];
  }
  const children = stacks.map((stack) => {
    const own = Object.fromEntries(Object.entries(stack.provider ?? {}).filter(([name]) => !(name in provider)));
    const { provider: _all, ...rest } = stack;
    return Object.keys(own).length > 0 ? { ...rest, provider: own } : rest;
  });
  const module = Object.fromEntries(stacks.map((_, index) => [childName(index), { source: `./${childName(index)}` }]));
  const main: StackJson = { terraform: { required_providers: stacks[0]?.terraform?.required_providers ?? {} }, module };
  if (Object.keys(provider).length > 0) main.provider = provider;
  return { main, children };
}

/** The module a diagnostic points into, or undefined when it points at the root or nowhere. */
function moduleOf(diagnostic: Diagnostic): string | undefined {
  const fromAddress = diagnostic.address?.match(/^module\.(s\d+)\./)?.[1];
  const fromFile = diagnostic.range?.filename.match(/^(s\d+)\//)?.[1];
  if (fromAddress && fromFile && fromAddress !== fromFile) return undefined;
  return fromAddress ?? fromFile;
}

/** The diagnostic as validating the stack alone would have said it: no `module.s<i>.`, no `s<i>/`. */
function asRoot(diagnostic: Diagnostic, name: string): Diagnostic {
  const address = diagnostic.address?.slice(`module.${name}.`.length);
  const range = diagnostic.range && { ...diagnostic.range, filename: diagnostic.range.filename.slice(`${name}/`.length) };
  return { ...diagnostic, ...(address !== undefined && { address }), ...(range && { range }) };
}

/** The warning a `backend` block draws in a child module only; see the comment at the top. */
function isChildBackendWarning(diagnostic: Diagnostic): boolean {
  return diagnostic.severity === 'warning' && diagnostic.summary === 'Backend configuration ignored' && diagnostic.snippet?.context === 'terraform.backend';
}

export interface SplitOutput {
  /** Per stack, in order: its own diagnostics and every diagnostic no single stack can be blamed for. */
  readonly perStack: readonly ValidateOutput[];
  /** "Backend configuration ignored" warnings dropped, one per stack with a backend. */
  readonly droppedBackendWarnings: number;
}

/** Splits the output of a combined root's `terraform validate -json` back to its `stackCount` stacks. */
export function splitDiagnostics(output: ValidateOutput, stackCount: number): SplitOutput {
  const names = Array.from({ length: stackCount }, (_, index) => childName(index));
  const own = new Map<string, Diagnostic[]>(names.map((name) => [name, []]));
  const unattributed: Diagnostic[] = [];
  let droppedBackendWarnings = 0;
  for (const diagnostic of output.diagnostics) {
    const name = moduleOf(diagnostic);
    if (name === undefined || !own.has(name)) {
      unattributed.push(diagnostic);
    } else if (isChildBackendWarning(diagnostic) && diagnostic.range?.filename === `${name}/${CHILD_FILE}`) {
      droppedBackendWarnings++;
    } else {
      own.get(name)!.push(asRoot(diagnostic, name));
    }
  }
  const perStack = names.map((name) => {
    const diagnostics = [...own.get(name)!, ...unattributed];
    const count = (severity: Diagnostic['severity']) => diagnostics.filter((diagnostic) => diagnostic.severity === severity).length;
    return { valid: count('error') === 0, error_count: count('error'), warning_count: count('warning'), diagnostics };
  });
  return { perStack, droppedBackendWarnings };
}
