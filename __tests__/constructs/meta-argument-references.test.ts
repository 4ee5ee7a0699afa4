/**
 * Terraform's JSON syntax reads `depends_on` and `lifecycle.replace_triggered_by` entries as bare
 * addresses (`terraform_data.x`); an interpolation there (`"${terraform_data.x}"`) makes
 * `terraform init` fail with "Invalid character". cdktf 0.21 writes exactly that for a resource
 * given to `replaceTriggeredBy` (hashicorp/terraform-cdk#3532), so every stack is checked.
 */
import { DatabaseMigrationStackProps } from '../../lib/database-migration-stack';
import { AIRFLOW_OF_HOST, examplePlanWith, synthMigrationStack } from '../helpers/migration-stack';

type Json = { [key: string]: any };

/** `type.name` or `data.type.name`, optionally indexed, optionally with attributes (`.id`). */
const BARE_ADDRESS = /^(data\.)?[a-z][a-z0-9_]*\.[A-Za-z_][\w-]*(\[[^\]]+\])?(\.[A-Za-z_][\w-]*)*$/;

/** Each meta-argument reference of the stack that is not the bare address of something in it. */
function badReferences(stack: Json): string[] {
  const declared = new Set<string>();
  for (const [kind, prefix] of [['resource', ''], ['data', 'data.']] as const) {
    for (const [type, byName] of Object.entries<Json>(stack[kind] ?? {})) {
      for (const name of Object.keys(byName)) declared.add(`${prefix}${type}.${name}`);
    }
  }
  const problems: string[] = [];
  const check = (where: string, references: unknown) => {
    for (const reference of (references as string[] | undefined) ?? []) {
      const target = /^(data\.)?[^.[]+\.[^.[]+/.exec(reference)?.[0];
      if (!BARE_ADDRESS.test(reference)) problems.push(`${where}: "${reference}" is not a bare address`);
      else if (!target || !declared.has(target)) problems.push(`${where}: "${reference}" names nothing in the stack`);
    }
  };
  for (const [kind, prefix] of [['resource', ''], ['data', 'data.']] as const) {
    for (const [type, byName] of Object.entries<Json>(stack[kind] ?? {})) {
      for (const [name, block] of Object.entries<Json>(byName)) {
        check(`${prefix}${type}.${name}.depends_on`, block.depends_on);
        check(`${prefix}${type}.${name}.lifecycle.replace_triggered_by`, block.lifecycle?.replace_triggered_by);
      }
    }
  }
  for (const [name, output] of Object.entries<Json>(stack.output ?? {})) check(`output.${name}.depends_on`, output.depends_on);
  return problems;
}

/** Every stack of the DatabaseMigrationStack (the release stack too), as JSON. */
function synthesize(props: Partial<DatabaseMigrationStackProps> = {}): Json[] {
  const { synth, release } = synthMigrationStack(props);
  return release ? [synth, release] : [synth];
}

const dataFactoryHost = { plan: examplePlanWith(AIRFLOW_OF_HOST.dataFactory) };
/** The Data Factory host's stack, synthesized once for the tests that read it (each takes a copy). */
const dataFactoryStack = synthesize(dataFactoryHost)[0];

describe('meta-argument references', () => {
  it.each<[string, Partial<DatabaseMigrationStackProps>]>([
    ['the default stack (Kubernetes host, two stacks)', {}],
    ['a stack with locks and without prevent_destroy', { lock: { kind: 'CanNotDelete' }, preventDestroy: false }],
    ...(['fabric', 'external'] as const).map((host): [string, Partial<DatabaseMigrationStackProps>] => [
      `a stack with host ${host}`,
      { plan: examplePlanWith(AIRFLOW_OF_HOST[host]) },
    ]),
  ])('are bare addresses of resources in %s', (_name, props) => {
    for (const stack of synthesize(props)) expect(badReferences(stack)).toEqual([]);
  });

  it('are bare addresses of resources in a stack with host dataFactory', () => {
    expect(badReferences(dataFactoryStack)).toEqual([]);
  });

  it('include the DAG import into an existing environment, re-run by replacing its content-hash holder', () => {
    const stack = structuredClone(dataFactoryStack);
    const [dagImport] = Object.values<Json>(stack.resource.azapi_resource_action).filter((action) => action.action === 'airflow/sync');
    expect(dagImport.lifecycle.replace_triggered_by).toEqual([expect.stringMatching(/^terraform_data\.AirflowHost_DagVersion_[0-9A-F]+$/)]);
  });

  it('are reported when written as an interpolation or naming a missing resource (the check can fail)', () => {
    const stack = structuredClone(dataFactoryStack);
    const dagImport = Object.values<Json>(stack.resource.azapi_resource_action).find((action) => action.action === 'airflow/sync')!;
    const address = dagImport.lifecycle.replace_triggered_by[0];
    dagImport.lifecycle.replace_triggered_by = [`\${${address}}`];
    dagImport.depends_on = [...dagImport.depends_on, 'azurerm_role_assignment.Missing'];
    expect(badReferences(stack)).toEqual([
      expect.stringMatching(/depends_on: "azurerm_role_assignment\.Missing" names nothing in the stack$/),
      expect.stringMatching(/replace_triggered_by: "\$\{terraform_data\.AirflowHost_DagVersion_[0-9A-F]+\}" is not a bare address$/),
    ]);
  });
});
