/**
 * `npm run validate`: synthesizes every stack of `validationVariants()` in-process (from the built
 * library), runs `terraform init -backend=false` once per provider set and `terraform validate
 * -json` per stack with the real providers, and fails on any error or unlisted warning, printing
 * the provider's message. Canaries (stacks broken on purpose) must fail, so every run also proves
 * that the check can fail.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { App, TerraformStack } from 'cdktf';
import { DatabaseMigrationStack } from '../lib/database-migration-stack';
import { loadMigrationPlan, parseMigrationPlan } from '../lib/plan';
import { repoRoot } from './repo-root';
import { AcceptedWarning, groupByProviderSet, judge, Verdict } from './validate-verdict';
import { initialize, providerSource, selectedProviders, terraformVersion, validate } from './validate-terraform';
import { PlanDocument, StackJson, ValidationVariant, validationVariants } from './validate-variants';

const STACK_FILE = 'cdk.tf.json';

interface Synthesized {
  readonly variant: ValidationVariant;
  /** The variant's name, and the stack's when the variant synthesizes several (the Kubernetes host's release stack). */
  readonly label: string;
  readonly json: StackJson;
}

function readPlanDocument(path: string): PlanDocument {
  const text = readFileSync(path, 'utf8');
  return (path.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) as PlanDocument;
}

/** Every stack the variant's app synthesizes, the DatabaseMigrationStack first (`editJson` applies to it). */
function synthesize(root: string, variant: ValidationVariant, outdir: string): Synthesized[] {
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
  new DatabaseMigrationStack(app, plan.name, { ...variant.stack, plan });
  app.synth();
  const all = app.node.children.filter((child): child is TerraformStack => child instanceof TerraformStack);
  // A canary proves the check on the stack it breaks; its other stacks are the default plan's again.
  const stacks = variant.mustFailWith ? all.slice(0, 1) : all;
  return stacks.map((stack, index) => {
    const json = JSON.parse(readFileSync(join(outdir, 'stacks', stack.node.id, STACK_FILE), 'utf8')) as StackJson;
    if (index === 0) variant.editJson?.(json);
    return { variant, label: index === 0 ? variant.name : `${variant.name} [${stack.node.id}]`, json };
  });
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

function indent(text: string): string {
  return text.replace(/^/gm, '        ');
}

function main(): number {
  const started = Date.now();
  const root = repoRoot();
  const work = mkdtempSync(join(tmpdir(), 'validate-'));
  const source = providerSource(root);
  console.log(`terraform ${terraformVersion(source.env)}, providers from ${source.description}`);

  const variants = validationVariants(root);
  const synthesized: Synthesized[] = [];
  const failures: string[] = [];
  const synthStarted = Date.now();
  variants.forEach((variant, index) => {
    try {
      synthesized.push(...synthesize(root, variant, join(work, `synth-${index}`)));
    } catch (error) {
      failures.push(variant.name);
      console.log(`  FAIL  ${variant.name}: synth failed\n${indent(error instanceof Error ? error.message : String(error))}`);
    }
  });
  console.log(`synthesized ${synthesized.length} stacks in ${seconds(synthStarted)}`);

  const groups = groupByProviderSet(synthesized);
  const accepted = new Set<AcceptedWarning>();
  let canaries = 0;
  let validStacks = 0;
  let groupIndex = 0;
  for (const [providerSet, members] of groups) {
    const folder = join(work, `providers-${groupIndex++}`);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, STACK_FILE), JSON.stringify(members[0].json));
    const initStarted = Date.now();
    try {
      initialize(folder, source.env);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`${reason}\nproviders from ${source.description}: clone beside shared/terraform-providers (the offline mirror), or set TF_CLI_CONFIG_FILE to a Terraform CLI configuration that reaches them`);
    }
    console.log(`provider set ${providerSet}: init in ${seconds(initStarted)}, using ${selectedProviders(folder, source.env).join(', ')}`);
    for (const { variant, label, json } of members) {
      writeFileSync(join(folder, STACK_FILE), JSON.stringify(json, null, 2));
      const validateStarted = Date.now();
      const canary = variant.mustFailWith !== undefined;
      const verdict: Verdict = judge(canary ? variant : {}, validate(folder, source.env));
      verdict.acceptedWarnings.forEach((warning) => accepted.add(warning));
      if (verdict.ok) canary ? canaries++ : validStacks++;
      if (!verdict.ok) failures.push(label);
      console.log(`  ${verdict.ok ? 'ok  ' : 'FAIL'}  ${label}: ${verdict.outcome} (${seconds(validateStarted)})`);
      verdict.problems.forEach((problem) => console.log(indent(problem)));
    }
  }

  for (const warning of accepted) {
    console.log(`accepted warning: ${warning.summary.source}: ${warning.reason}`);
  }
  const canaryCount = variants.filter((variant) => variant.mustFailWith).length;
  const stackCount = synthesized.length - canaryCount;
  console.log(
    `validate: ${synthesized.length - failures.length} passed, ${failures.length} failed ` +
      `(${validStacks} of ${stackCount} stacks of ${variants.length} variants valid, ${canaries} of ${canaryCount} canaries failed as they must; ` +
      `${groups.size} provider set${groups.size === 1 ? '' : 's'}, ${accepted.size} accepted warnings) in ${seconds(started)}`,
  );
  if (failures.length > 0) {
    console.log(`failed: ${failures.join('; ')} (work folder kept: ${work})`);
    return 1;
  }
  rmSync(work, { recursive: true, force: true });
  return 0;
}

try {
  process.exitCode = main();
} catch (error) {
  // Terraform missing or its providers unreachable: the message says what to do; a stack trace would not.
  console.error(`validate: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
