/** The stacks `npm run validate` synthesizes, built as scripts/validate.ts builds them, for tests over every variant. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { TerraformStack, Testing } from 'cdktf';
import { DatabaseMigrationStack } from '../../lib/database-migration-stack';
import { loadMigrationPlan, MigrationPlan, parseMigrationPlan } from '../../lib/plan';
import { ValidationVariant } from '../../scripts/validate-variants';
import { synthStacks, SynthesizedStack } from './test-stack';

const ROOT = join(__dirname, '..', '..');

/** Where a variant's plan comes from, as its problems name it. */
export function variantPlanSource(variant: ValidationVariant): string {
  return variant.editPlan ? `${variant.plan} (${variant.name})` : variant.plan;
}

/** The variant's plan, edited as the variant says. */
export function variantPlan(variant: ValidationVariant): MigrationPlan {
  const path = join(ROOT, variant.plan);
  if (!variant.editPlan) return loadMigrationPlan(path);
  const document = parseYaml(readFileSync(path, 'utf8'));
  variant.editPlan(document);
  return parseMigrationPlan(document, variantPlanSource(variant));
}

/** Every stack the variant's app holds (its own stacks, or the DatabaseMigrationStack and its release stacks), synthesized. */
export function variantStacks(variant: ValidationVariant): SynthesizedStack[] {
  const app = Testing.app();
  const plan = variantPlan(variant);
  if (variant.buildStacks) variant.buildStacks(app, plan);
  else new DatabaseMigrationStack(app, plan.name, { ...variant.stack, plan });
  return synthStacks(...app.node.children.filter((child): child is TerraformStack => child instanceof TerraformStack));
}
