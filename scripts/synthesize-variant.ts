/** One variant of `validationVariants()` synthesized in-process, for `npm run validate` and `npm run resource-tags`. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { App, TerraformStack } from 'cdktf';
import { DatabaseMigrationStack } from '../lib/database-migration-stack';
import { loadMigrationPlan, parseMigrationPlan } from '../lib/plan';
import { CHILD_FILE } from './validate-combined';
import { PlanDocument, StackJson, ValidationVariant } from './validate-variants';

export interface Synthesized {
  readonly variant: ValidationVariant;
  /** The variant's name, and the stack's when the variant synthesizes several (the Kubernetes host's release stack). */
  readonly label: string;
  readonly json: StackJson;
}

function readPlanDocument(path: string): PlanDocument {
  const text = readFileSync(path, 'utf8');
  return (path.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) as PlanDocument;
}

/** Every stack the variant's app synthesizes, the DatabaseMigrationStack (or the variant's first own stack) first (`editJson` applies to it). */
export function synthesizeVariant(root: string, variant: ValidationVariant, outdir: string): Synthesized[] {
  const path = join(root, variant.plan);
  let plan;
  if (variant.editPlan) {
    const document = readPlanDocument(path);
    variant.editPlan(document);
    plan = parseMigrationPlan(document, `${variant.plan} (${variant.name})`);
  } else {
    plan = loadMigrationPlan(path);
  }
  const app = new App({ outdir });
  if (variant.buildStacks) variant.buildStacks(app, plan);
  else new DatabaseMigrationStack(app, plan.name, { ...variant.stack, plan });
  app.synth();
  const all = app.node.children.filter((child): child is TerraformStack => child instanceof TerraformStack);
  // A canary proves the check on the stack it breaks; its other stacks are the default plan's again.
  const stacks = variant.mustFailWith ? all.slice(0, 1) : all;
  return stacks.map((stack, index) => {
    const json = JSON.parse(readFileSync(join(outdir, 'stacks', stack.node.id, CHILD_FILE), 'utf8')) as StackJson;
    if (index === 0) variant.editJson?.(json);
    return { variant, label: index === 0 ? variant.name : `${variant.name} [${stack.node.id}]`, json };
  });
}
