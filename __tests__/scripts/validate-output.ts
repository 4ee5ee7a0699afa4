import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ValidateOutput } from '../../scripts/validate-terraform';
import { ValidationVariant, validationVariants } from '../../scripts/validate-variants';

/** Real `terraform validate -json` output recorded in `__tests__/scripts/fixtures/<name>.json`. */
export function recordedValidateOutput(name: string): ValidateOutput {
  return JSON.parse(readFileSync(join(__dirname, 'fixtures', `${name}.json`), 'utf8')) as ValidateOutput;
}

/** The validation variant (a canary, in these tests) whose name contains `pattern`. */
export function variantNamed(pattern: string): ValidationVariant {
  const variant = validationVariants(join(__dirname, '..', '..')).find((candidate) => candidate.name.includes(pattern));
  if (variant === undefined) throw new Error(`no validation variant's name contains "${pattern}"`);
  return variant;
}
