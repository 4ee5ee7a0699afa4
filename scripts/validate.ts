/**
 * `npm run validate`: synthesizes every stack of `validationVariants()` in-process (from the built
 * library) and shows them to the real providers with `terraform validate -json`, failing on any
 * error or unlisted warning and printing the provider's message. Per provider set, one `terraform
 * init -backend=false` and one validate of all its stacks as child modules of one root, the
 * diagnostics split back to their stacks (`validate-combined.ts`); canaries (stacks broken on
 * purpose), which must fail, are each validated alone as a root, so every run also proves that the
 * check can fail.
 */
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './repo-root';
import { AcceptedWarning, groupByProviderSet, judge, Verdict } from './validate-verdict';
import { CHILD_FILE, childName, combinedRoot, needsOwnRoot, splitDiagnostics } from './validate-combined';
import { Synthesized, synthesizeVariant } from './synthesize-variant';
import { initialize, providerSource, selectedProviders, terraformVersion, validate, ValidateOutput } from './validate-terraform';
import { validationVariants } from './validate-variants';

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
      synthesized.push(...synthesizeVariant(root, variant, join(work, `synth-${index}`)));
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
  let validateRuns = 0;
  let droppedBackendWarnings = 0;
  const report = ({ variant, label }: Synthesized, output: ValidateOutput, took: string) => {
    const verdict: Verdict = judge(variant.mustFailWith ? variant : {}, output);
    verdict.acceptedWarnings.forEach((warning) => accepted.add(warning));
    if (verdict.ok) variant.mustFailWith ? canaries++ : validStacks++;
    if (!verdict.ok) failures.push(label);
    console.log(`  ${verdict.ok ? 'ok  ' : 'FAIL'}  ${label}: ${verdict.outcome}${took}`);
    verdict.problems.forEach((problem) => console.log(indent(problem)));
  };
  let groupIndex = 0;
  for (const [providerSet, members] of groups) {
    const setFolder = join(work, `providers-${groupIndex++}`);
    let initialized = false;
    const initializeOnce = (folder: string) => {
      const initStarted = Date.now();
      initialize(folder, source.env);
      if (!initialized) console.log(`provider set ${providerSet}: init in ${seconds(initStarted)}, using ${selectedProviders(folder, source.env).join(', ')}`);
      initialized = true;
    };
    // Canaries stay roots of their own, so the proof that the check can fail is the one of a root.
    const together = members.filter((member) => member.variant.mustFailWith === undefined && !needsOwnRoot(member.json));
    let alone = members.filter((member) => !together.includes(member));
    if (together.length > 0) {
      const folder = join(setFolder, 'combined');
      const root = combinedRoot(together.map((member) => member.json));
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, 'main.tf.json'), JSON.stringify(root.main, null, 2));
      root.children.forEach((child, index) => {
        mkdirSync(join(folder, childName(index)));
        writeFileSync(join(folder, childName(index), CHILD_FILE), JSON.stringify(child, null, 2));
      });
      let initError: string | undefined;
      try {
        initializeOnce(folder);
      } catch (error) {
        initError = error instanceof Error ? error.message : String(error);
      }
      if (initError === undefined) {
        const validateStarted = Date.now();
        const split = splitDiagnostics(validate(folder, source.env), together.length);
        validateRuns++;
        droppedBackendWarnings += split.droppedBackendWarnings;
        console.log(`  ${together.length} stacks as modules of one root, one terraform validate in ${seconds(validateStarted)}:`);
        together.forEach((member, index) => report(member, split.perStack[index], ''));
      } else {
        // A stack Terraform cannot even load: each alone, so each gets its own diagnostics.
        console.log(`provider set ${providerSet}: the combined root of ${together.length} stacks failed to initialize; validating each alone:\n${indent(initError)}`);
        alone = members;
      }
    }
    if (alone.length > 0) {
      const folder = join(setFolder, 'alone');
      mkdirSync(folder, { recursive: true });
      // Only the providers, so that init cannot fail on what a stack holds: validate reports that, per stack.
      writeFileSync(join(folder, CHILD_FILE), JSON.stringify({ terraform: { required_providers: alone[0].json.terraform?.required_providers ?? {} } }));
      try {
        initializeOnce(folder);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`${reason}\nproviders from ${source.description}: clone beside shared/terraform-providers (the offline mirror), or set TF_CLI_CONFIG_FILE to a Terraform CLI configuration that reaches them`);
      }
      for (const member of alone) {
        writeFileSync(join(folder, CHILD_FILE), JSON.stringify(member.json, null, 2));
        const validateStarted = Date.now();
        const output = validate(folder, source.env);
        validateRuns++;
        report(member, output, ` (${seconds(validateStarted)})`);
      }
    }
  }

  if (droppedBackendWarnings > 0) {
    console.log(`dropped ${droppedBackendWarnings} "Backend configuration ignored" warnings: a backend block in a child module draws it; validate never checks a backend's settings`);
  }
  for (const warning of accepted) {
    console.log(`accepted warning: ${warning.summary.source}: ${warning.reason}`);
  }
  const canaryCount = variants.filter((variant) => variant.mustFailWith).length;
  const stackCount = synthesized.length - canaryCount;
  console.log(
    `validate: ${synthesized.length - failures.length} passed, ${failures.length} failed ` +
      `(${validStacks} of ${stackCount} stacks of ${variants.length} variants valid, ${canaries} of ${canaryCount} canaries failed as they must; ` +
      `${groups.size} provider set${groups.size === 1 ? '' : 's'}, ${validateRuns} terraform validate runs, ${accepted.size} accepted warnings) in ${seconds(started)}`,
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
