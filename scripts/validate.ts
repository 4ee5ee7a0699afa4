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
import { App } from 'cdktf';
import { DatabaseMigrationStack } from '../lib/database-migration-stack';
import { loadMigrationPlan, parseMigrationPlan } from '../lib/plan';
import { repoRoot } from './repo-root';
import { AcceptedWarning, groupByProviderSet, judge, Verdict } from './validate-verdict';
import { initialize, providerSource, selectedProviders, terraformVersion, validate } from './validate-terraform';
import { PlanDocument, StackJson, ValidationVariant, validationVariants } from './validate-variants';

const STACK_FILE = 'cdk.tf.json';

interface Synthesized {
  readonly variant: ValidationVariant;
  readonly json: StackJson;
}

function readPlanDocument(path: string): PlanDocument {
  const text = readFileSync(path, 'utf8');
  return (path.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) as PlanDocument;
}

function synthesize(root: string, variant: ValidationVariant, outdir: string): StackJson {
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
  const json = JSON.parse(readFileSync(join(outdir, 'stacks', plan.name, STACK_FILE), 'utf8')) as StackJson;
  variant.editJson?.(json);
  return json;
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
      synthesized.push({ variant, json: synthesize(root, variant, join(work, `synth-${index}`)) });
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
    initialize(folder, source.env);
    console.log(`provider set ${providerSet}: init in ${seconds(initStarted)}, using ${selectedProviders(folder, source.env).join(', ')}`);
    for (const { variant, json } of members) {
      writeFileSync(join(folder, STACK_FILE), JSON.stringify(json, null, 2));
      const validateStarted = Date.now();
      const verdict: Verdict = judge(variant, validate(folder, source.env));
      verdict.acceptedWarnings.forEach((warning) => accepted.add(warning));
      if (verdict.ok) variant.mustFailWith ? canaries++ : validStacks++;
      if (!verdict.ok) failures.push(variant.name);
      console.log(`  ${verdict.ok ? 'ok  ' : 'FAIL'}  ${variant.name}: ${verdict.outcome} (${seconds(validateStarted)})`);
      verdict.problems.forEach((problem) => console.log(indent(problem)));
    }
  }

  for (const warning of accepted) {
    console.log(`accepted warning: ${warning.summary.source}: ${warning.reason}`);
  }
  const canaryCount = variants.filter((variant) => variant.mustFailWith).length;
  console.log(
    `validate: ${variants.length - failures.length} passed, ${failures.length} failed ` +
      `(${validStacks} of ${variants.length - canaryCount} stacks valid, ${canaries} of ${canaryCount} canaries failed as they must; ` +
      `${groups.size} provider set${groups.size === 1 ? '' : 's'}, ${accepted.size} accepted warnings) in ${seconds(started)}`,
  );
  if (failures.length > 0) {
    console.log(`failed: ${failures.join('; ')} (work folder kept: ${work})`);
    return 1;
  }
  rmSync(work, { recursive: true, force: true });
  return 0;
}

process.exitCode = main();
