/**
 * How `npm run validate` judges what `terraform validate -json` said about one stack: no error and
 * no warning outside the accepted list, and for a canary, the error it was built to provoke.
 */
import { describeDiagnostic, Diagnostic, ValidateOutput } from './validate-terraform';
import type { StackJson } from './validate-variants';

/** A warning the providers print that is understood and left as is; docs/validated-against.md lists each. */
export interface AcceptedWarning {
  readonly summary: RegExp;
  readonly reason: string;
}

/** None today: every warning the providers printed was fixed. */
export const ACCEPTED_WARNINGS: readonly AcceptedWarning[] = [];

export interface Verdict {
  readonly ok: boolean;
  /** One line for the report. */
  readonly outcome: string;
  /** The providers' messages behind a failure, one block each. */
  readonly problems: readonly string[];
  /** Accepted warnings seen, to print with their reasons. */
  readonly acceptedWarnings: readonly AcceptedWarning[];
}

export function judge(
  variant: { readonly mustFailWith?: RegExp },
  output: ValidateOutput,
  accepted: readonly AcceptedWarning[] = ACCEPTED_WARNINGS,
): Verdict {
  const errors = output.diagnostics.filter((diagnostic) => diagnostic.severity === 'error');
  const warnings = output.diagnostics.filter((diagnostic) => diagnostic.severity === 'warning');
  const acceptedFor = (warning: Diagnostic) => accepted.find((entry) => entry.summary.test(warning.summary));
  const unaccepted = warnings.filter((warning) => acceptedFor(warning) === undefined);
  const acceptedWarnings = [...new Set(warnings.map(acceptedFor).filter((entry): entry is AcceptedWarning => entry !== undefined))];

  if (variant.mustFailWith) {
    const provoked = errors.find((error) => variant.mustFailWith!.test(`${error.summary}\n${error.detail ?? ''}`));
    if (provoked) {
      return { ok: true, outcome: `failed as it must: ${firstLine(provoked)}`, problems: [], acceptedWarnings };
    }
    return {
      ok: false,
      outcome: errors.length === 0 ? 'validated clean: the providers cannot catch what this canary breaks' : `failed, but not with ${variant.mustFailWith}`,
      problems: errors.map(describeDiagnostic),
      acceptedWarnings,
    };
  }
  const problems = [...errors, ...unaccepted].map(describeDiagnostic);
  const counts = `${errors.length} error${errors.length === 1 ? '' : 's'}, ${unaccepted.length} unlisted warning${unaccepted.length === 1 ? '' : 's'}`;
  return { ok: problems.length === 0, outcome: problems.length === 0 ? 'valid' : counts, problems, acceptedWarnings };
}

/** The summary, and the detail's first line where the summary alone says little. */
function firstLine(diagnostic: Diagnostic): string {
  const detail = diagnostic.detail?.trim().split('\n')[0];
  return detail ? `${diagnostic.summary}: ${detail}` : diagnostic.summary;
}

/** The providers a stack needs, as one key: stacks with the same key share one `terraform init`. */
export function providerSetKey(json: StackJson): string {
  const required: Record<string, { source?: string; version?: string }> = json.terraform?.required_providers ?? {};
  return Object.keys(required)
    .sort()
    .map((name) => `${name}=${required[name].source ?? name}@${required[name].version ?? '*'}`)
    .join(', ');
}

/** Items grouped by provider set, in first-seen order. */
export function groupByProviderSet<T extends { readonly json: StackJson }>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = providerSetKey(item.json);
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return groups;
}
