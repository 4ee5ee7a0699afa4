/**
 * What upgrading to this tree does to stacks an earlier version synthesized from the same plan, as
 * `terraform plan` would see it: scripts/measure-upgrade.sh runs it on the output of both apps.
 *
 *   node measure-upgrade.js variant <plan.yaml> <out.yaml>   the plan with a target of each kind
 *   node measure-upgrade.js compare <before> <after>          <dir>/<plan>/stacks/<stack>/cdk.tf.json
 *
 * compare prints, per plan: the upgrade contract's problems (__tests__/upgrade/protected-resources.ts:
 * a protected resource gone without a moved block, or a changed identity argument), every resource
 * destroyed (neither kept, moved nor forgotten by a removed block), every argument that changes on a
 * protected resource kept at its address (to read for ForceNew ones), and the count of resources
 * created. Exit 0 whatever it finds: it measures, the unit suite judges.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { comparable, PROTECTED_TYPES, protectedResources, upgradeProblems } from './protected-resources';
import type { SynthesizedStack } from '../helpers/test-stack';
import { validationVariants } from '../../scripts/validate-variants';

type Stacks = Record<string, SynthesizedStack>;
interface Block {
  readonly from: string;
  readonly to: string;
}

function stacksIn(dir: string): Stacks {
  const root = join(dir, 'stacks');
  if (!existsSync(root)) return {};
  return Object.fromEntries(readdirSync(root).map((name) => [name, JSON.parse(readFileSync(join(root, name, 'cdk.tf.json'), 'utf8'))]));
}

/** The stack's moved blocks, or its removed blocks (no `to`). */
function blocks(synth: SynthesizedStack, key: 'moved' | 'removed'): Block[] {
  const value = (synth as unknown as Record<string, unknown>)[key] as Block | Block[] | undefined;
  return value === undefined ? [] : ([] as Block[]).concat(value);
}

function resources(synth: SynthesizedStack): Map<string, Record<string, unknown>> {
  const all = new Map<string, Record<string, unknown>>();
  for (const [type, byId] of Object.entries(synth.resource ?? {})) {
    for (const [id, body] of Object.entries(byId)) all.set(`${type}.${id}`, body);
  }
  return all;
}

function short(value: unknown): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

function compare(plan: string, before: Stacks, after: Stacks): string[] {
  const lines = upgradeProblems(plan, protectedResources(before), after)
    .filter((problem) => !problem.includes('is protected and not in the contract yet'))
    .map((problem) => `  REPLACED ${problem}`);
  const created = new Map<string, number>();
  for (const [stackName, old] of Object.entries(before)) {
    const now = after[stackName];
    if (now === undefined) continue; // upgradeProblems names the stack
    const moved = blocks(now, 'moved');
    const forgotten = new Set(blocks(now, 'removed').map(({ from }) => from));
    const was = resources(old);
    const is = resources(now);
    const reached = new Set<string>();
    for (const [address, body] of was) {
      const target = is.has(address) ? address : moved.find(({ from }) => from === address)?.to;
      if (target === undefined || !is.has(target)) {
        if (!forgotten.has(address)) lines.push(`  DESTROYED [${stackName}] ${address}`);
        continue;
      }
      reached.add(target);
      const type = address.slice(0, address.indexOf('.'));
      const rule = PROTECTED_TYPES[type];
      if (rule === undefined || !(rule.only ?? (() => true))(body)) continue;
      const next = is.get(target)!;
      for (const argument of new Set([...Object.keys(body), ...Object.keys(next)])) {
        if (argument === '//' || comparable(body[argument] ?? null, moved) === comparable(next[argument] ?? null, moved)) continue;
        lines.push(`  CHANGED [${stackName}] ${target}.${argument}: ${short(body[argument])} -> ${short(next[argument])}`);
      }
    }
    for (const address of [...is.keys()].filter((each) => !reached.has(each))) {
      const type = address.slice(0, address.indexOf('.'));
      created.set(type, (created.get(type) ?? 0) + 1);
    }
  }
  const newStacks = Object.keys(after).filter((name) => !(name in before));
  const types = [...created].sort(([a], [b]) => a.localeCompare(b)).map(([type, count]) => `${type} ${count}`);
  lines.push(`  created: ${types.join(', ') || 'nothing'}${newStacks.length > 0 ? `; new stacks ${newStacks.join(', ')}` : ''}`);
  return lines;
}

function main([command, ...args]: string[]): void {
  if (command === 'variant') {
    const [input, output] = args;
    const edit = validationVariants(process.cwd()).find(({ name }) => name === 'every target kind in one plan')!.editPlan!;
    const document = parseYaml(readFileSync(input, 'utf8'));
    edit(document);
    writeFileSync(output, stringifyYaml(document));
    return;
  }
  if (command === 'compare') {
    const [beforeDir, afterDir] = args;
    for (const plan of readdirSync(beforeDir).sort()) {
      const before = stacksIn(join(beforeDir, plan));
      if (Object.keys(before).length === 0) continue;
      const after = stacksIn(join(afterDir, plan));
      const lines = Object.keys(after).length === 0 ? ['  the current version does not synthesize this plan'] : compare(plan, before, after);
      process.stdout.write(`${plan}\n${lines.join('\n')}\n`);
    }
    return;
  }
  process.stderr.write('usage: measure-upgrade.js variant <plan> <out.yaml> | compare <before dir> <after dir>\n');
  process.exit(2);
}

main(process.argv.slice(2));
