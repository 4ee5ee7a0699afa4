/**
 * docs/secrets.md against the code: its sample of the output `orchestration_secrets_to_set` is what the
 * default plan's stack outputs (names and descriptions), so the page shows what `terraform output` prints.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OrchestrationFactory } from '../../lib/orchestration-factory/orchestration-factory';
import { examplePlan } from '../helpers/example-plan';
import { synthObject, testStack } from '../helpers/test-stack';

const PAGE = readFileSync(join(__dirname, '..', '..', 'docs', 'secrets.md'), 'utf8');

/** The first ```json block after `heading`. */
function jsonBlockAfter(markdown: string, heading: string): unknown {
  const section = markdown.slice(markdown.indexOf(heading));
  const block = /```json\n([\s\S]*?)\n```/.exec(section);
  if (!markdown.includes(heading) || block === null) throw new Error(`docs/secrets.md: no json block after ${heading}`);
  return JSON.parse(block[1]);
}

describe('docs/secrets.md', () => {
  test("shows the default plan's output orchestration_secrets_to_set as it is", () => {
    const { stack, resourceGroup } = testStack();
    new OrchestrationFactory(stack, 'Orchestration', { resourceGroup, plan: examplePlan() });
    expect(jsonBlockAfter(PAGE, '## Which secrets')).toEqual(synthObject(stack).output?.orchestration_secrets_to_set?.value);
  });
});
