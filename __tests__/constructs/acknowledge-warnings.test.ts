/**
 * Warnings a user acknowledges on purpose, by id and with a reason (docs/warnings.md): each warning
 * carries its id; an acknowledged one becomes an info that still names the id and the reason; an
 * acknowledgement that matches nothing is a warning of its own, once the stack synthesizes.
 */
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { App, TerraformStack, Testing } from 'cdktf';
import { Construct, IConstruct } from 'constructs';
import { acknowledgeWarnings } from '../../lib/core/warnings';
import { DatabaseMigrationStack, DatabaseMigrationStackProps } from '../../lib/database-migration-stack';
import { loadDagBundle } from '../../lib/private/dag-bundle-loader';
import { DagStorage, DagStorageProps } from '../../lib/orchestration-factory/dag-storage';
import { renderMigrationPlan } from '../../lib/plan';
import { examplePlan } from '../helpers/example-plan';
import { AIRFLOW_OF_HOST, examplePlanWith } from '../helpers/migration-stack';
import { warningsOf } from '../helpers/test-stack';
import { monitoring } from '../monitoring/monitoring-test-stack';

/** The info annotations under `root`, as `<construct path>: <message>`. */
function infosOf(root: IConstruct): string[] {
  return root.node
    .findAll()
    .flatMap((construct) => construct.node.metadata.filter((entry) => entry.type === '@cdktf/info').map((entry) => `${construct.node.path}: ${String(entry.data)}`));
}

const NO_EMAILS = 'migration:monitoring:no-email-receivers';
const PREVENT_DESTROY = 'migration:secure-default:preventDestroy';
const REASON = 'alerts go to the on-call webhook';

describe('a warning', () => {
  it('ends with its id, [ack: <id>]', () => {
    expect(warningsOf(monitoring({ emails: [] }).stack)).toEqual([
      `test/monitoring: emails is empty: alerts fire, but the action group notifies no one. [ack: ${NO_EMAILS}]`,
    ]);
    expect(warningsOf(monitoring({ localAuthenticationEnabled: true }).stack)).toEqual([
      expect.stringMatching(/: localAuthenticationEnabled is true: .* \[ack: migration:secure-default:localAuthenticationEnabled\]$/),
    ]);
  });
});

describe('acknowledgeWarnings', () => {
  it('turns the warnings of that id already left under the scope into an info naming the id and the reason', () => {
    const { stack, monitoring: facade } = monitoring({ emails: [], localAuthenticationEnabled: true });
    acknowledgeWarnings(facade, { [NO_EMAILS]: REASON });
    expect(warningsOf(stack)).toEqual([expect.stringContaining('[ack: migration:secure-default:localAuthenticationEnabled]')]);
    expect(infosOf(stack)).toEqual([
      `test/monitoring: emails is empty: alerts fire, but the action group notifies no one. [ack: ${NO_EMAILS}] acknowledged: ${REASON}`,
    ]);
  });

  it('covers warnings left later under the scope, not those elsewhere', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'team');
    const covered = new Construct(stack, 'Covered');
    acknowledgeWarnings(covered, { [NO_EMAILS]: REASON });
    dagStorage(covered, 'Bundle', { versioningEnabled: false });
    dagStorage(stack, 'Other', { versioningEnabled: false });
    acknowledgeWarnings(covered, { 'migration:secure-default:versioningEnabled': 'DAG files are rebuilt from git' });
    expect(warningsOf(stack)).toEqual([expect.stringMatching(/^team\/Other: versioningEnabled is false, .* \[ack: migration:secure-default:versioningEnabled\]$/)]);
    expect(infosOf(stack)).toEqual([
      expect.stringMatching(/^team\/Covered\/Bundle: versioningEnabled is false, .* \[ack: migration:secure-default:versioningEnabled\] acknowledged: DAG files are rebuilt from git$/),
    ]);
  });

  it('warns, once the stack synthesizes, about an id nothing under the scope warned with: a typo hides nothing', () => {
    const { app, stack, facade } = synthesizable({ emails: [] });
    acknowledgeWarnings(facade, {
      'migration:monitoring:no-email-receiver': REASON, 'team:own-check': REASON, [PREVENT_DESTROY]: 'throwaway',
    });
    app.synth();
    expect(warningsOf(stack)).toEqual([
      expect.stringContaining(`[ack: ${NO_EMAILS}]`),
      // A typo of an id is named with the id it most likely meant, as the plan's unknown fields are.
      'test/monitoring: acknowledgeWarnings names migration:monitoring:no-email-receiver, which is no warning id of this library ' +
        `(did you mean ${NO_EMAILS}? docs/warnings.md lists them): fix the id, or remove the acknowledgement [ack: migration:acknowledgement:unused]`,
      'test/monitoring: acknowledgeWarnings names team:own-check, which is no warning id of this library (docs/warnings.md lists them): ' +
        'fix the id, or remove the acknowledgement [ack: migration:acknowledgement:unused]',
      `test/monitoring: acknowledgeWarnings names ${PREVENT_DESTROY}, which nothing here or under it warned with: remove the acknowledgement, or fix its id [ack: migration:acknowledgement:unused]`,
    ]);
    app.synth();
    expect(warningsOf(stack)).toHaveLength(4);
  });

  it('takes the later reason when an id is acknowledged again on the same scope, and reports neither as unused', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'team');
    new AzurermProvider(stack, 'azurerm', { features: [{}], storageUseAzuread: true });
    const versioning = 'migration:secure-default:versioningEnabled';
    acknowledgeWarnings(stack, { [versioning]: 'first reason' });
    acknowledgeWarnings(stack, { [versioning]: 'DAG files are rebuilt from git' });
    dagStorage(stack, 'Bundle', { versioningEnabled: false });
    app.synth();
    expect(warningsOf(stack)).toEqual([]);
    expect(infosOf(stack)).toEqual([expect.stringMatching(/\[ack: migration:secure-default:versioningEnabled\] acknowledged: DAG files are rebuilt from git$/)]);
  });

  it('takes the later reason for warnings left before both acknowledgements of an id on the same scope, and reports neither as unused', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'team');
    new AzurermProvider(stack, 'azurerm', { features: [{}], storageUseAzuread: true });
    const versioning = 'migration:secure-default:versioningEnabled';
    dagStorage(stack, 'Bundle', { versioningEnabled: false });
    acknowledgeWarnings(stack, { [versioning]: 'first reason' });
    acknowledgeWarnings(stack, { [versioning]: 'DAG files are rebuilt from git' });
    app.synth();
    expect(warningsOf(stack)).toEqual([]);
    expect(infosOf(stack)).toEqual([expect.stringMatching(/\[ack: migration:secure-default:versioningEnabled\] acknowledged: DAG files are rebuilt from git$/)]);
  });

  it("counts a warning a construct leaves in its own validation, after the stack's", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'team');
    new AzurermProvider(stack, 'azurerm', { features: [{}] });
    acknowledgeWarnings(stack, { 'migration:dag-storage:storage-use-azuread': 'ARM_STORAGE_USE_AZUREAD=true in the pipeline' });
    dagStorage(stack, 'Bundle', {});
    app.synth();
    expect(warningsOf(stack)).toEqual([]);
    expect(infosOf(stack)).toEqual([expect.stringMatching(/\[ack: migration:dag-storage:storage-use-azuread\] acknowledged: ARM_STORAGE_USE_AZUREAD=true in the pipeline$/)]);
  });

  it('needs a reason for each id, refuses to acknowledge the unused-acknowledgement warning, and a scope in a stack', () => {
    const { monitoring: facade } = monitoring();
    expect(() => acknowledgeWarnings(facade, { [NO_EMAILS]: ' ' })).toThrow(
      `test/monitoring: acknowledgeWarnings: acknowledgements["${NO_EMAILS}"] must be the reason the warning is meant, a non-empty string (got " ")`,
    );
    expect(() => acknowledgeWarnings(facade, { 'migration:acknowledgement:unused': 'x' })).toThrow(
      'test/monitoring: acknowledgeWarnings: acknowledgements["migration:acknowledgement:unused"]: migration:acknowledgement:unused cannot be acknowledged: fix or remove the acknowledgement it names',
    );
    expect(() => acknowledgeWarnings(facade, ['x'] as never)).toThrow('acknowledgements must be an object of warning id to reason (got a list)');
    expect(() => acknowledgeWarnings(new App(), { [NO_EMAILS]: REASON })).toThrow(
      '<app>: acknowledgeWarnings needs a stack or a construct in one; acknowledge in each stack instead',
    );
  });
});

describe("DatabaseMigrationStack's acknowledgeWarnings", () => {
  const throwaway = { preventDestroy: false, acknowledgeWarnings: { [PREVENT_DESTROY]: 'throwaway test environment' } } satisfies Partial<DatabaseMigrationStackProps>;

  it('acknowledges in the stack and its release stack, and leaves no unused acknowledgement', () => {
    const app = Testing.app();
    const stack = new DatabaseMigrationStack(app, 'contoso-sql', { plan: examplePlan(), ...throwaway });
    expect(stack.releaseStacks).toHaveLength(1);
    const all = [stack, ...stack.releaseStacks];
    app.synth();
    expect(all.flatMap((each) => warningsOf(each)).filter((warning) => warning.includes(PREVENT_DESTROY) || warning.includes('acknowledgement'))).toEqual([]);
    const infos = all.flatMap(infosOf).filter((info) => info.includes(PREVENT_DESTROY));
    expect(infos.some((info) => info.startsWith('contoso-sql-airflow/'))).toBe(true);
    expect(infos.every((info) => info.endsWith(`[ack: ${PREVENT_DESTROY}] acknowledged: throwaway test environment`))).toBe(true);
  });

  it('warns about an acknowledgement nothing in its stacks needed', () => {
    const app = Testing.app();
    const plan = examplePlanWith(AIRFLOW_OF_HOST.external);
    const stack = new DatabaseMigrationStack(app, plan.name, { plan, acknowledgeWarnings: { 'migration:tfc:kubelogin': 'agent image has kubelogin' } });
    app.synth();
    expect(warningsOf(stack).filter((warning) => warning.includes('acknowledgement:unused'))).toEqual([
      `${plan.name}: acknowledgeWarnings names migration:tfc:kubelogin, which nothing here or under it warned with: remove the acknowledgement, or fix its id [ack: migration:acknowledgement:unused]`,
    ]);
  });

  /** The unused-acknowledgement warnings of the example plan's stack and its release stack, given `acknowledgements`. */
  const unusedIn = (acknowledgements: Readonly<Record<string, string>>): string[] => {
    const app = Testing.app();
    const stack = new DatabaseMigrationStack(app, 'contoso-sql', { plan: examplePlan(), acknowledgeWarnings: acknowledgements });
    app.synth();
    return [stack, ...stack.releaseStacks].flatMap((each) => warningsOf(each)).filter((warning) => warning.includes('acknowledgement:unused'));
  };

  it('names both stacks in the warning about an acknowledgement neither needed, reported in the release stack', () => {
    expect(unusedIn({ 'migration:tfc:kubelogin': 'agent image has kubelogin' })).toEqual([
      'contoso-sql-airflow: acknowledgeWarnings names migration:tfc:kubelogin, which nothing in contoso-sql or contoso-sql-airflow warned with: ' +
        'remove the acknowledgement, or fix its id [ack: migration:acknowledgement:unused]',
    ]);
  });

  it('names an id of no warning in the stack it was given to, not in its release stack', () => {
    expect(unusedIn({ 'migration:kubernetes:direct-sql-own-vnt': 'peered later' })).toEqual([
      'contoso-sql: acknowledgeWarnings names migration:kubernetes:direct-sql-own-vnt, which is no warning id of this library ' +
        '(did you mean migration:kubernetes:direct-sql-own-vnet? docs/warnings.md lists them): fix the id, or remove the acknowledgement [ack: migration:acknowledgement:unused]',
    ]);
  });

  it('names a reason missing by its field path', () => {
    expect(() => new DatabaseMigrationStack(Testing.app(), 'contoso-sql', { plan: examplePlan(), acknowledgeWarnings: { [PREVENT_DESTROY]: '' } })).toThrow(
      `contoso-sql: DatabaseMigrationStack: props.acknowledgeWarnings["${PREVENT_DESTROY}"] must be the reason the warning is meant, a non-empty string (got "")`,
    );
  });
});

function synthesizable(props: Parameters<typeof monitoring>[0]): { app: App; stack: TerraformStack; facade: Construct } {
  const built = monitoring(props);
  return { app: built.stack.node.root as App, stack: built.stack, facade: built.monitoring };
}

/** A DAG storage account under `scope`, with `settings` (a plan's DAG bundle, a resource group of its own). */
function dagStorage(scope: Construct, id: string, settings: Partial<DagStorageProps> = {}): DagStorage {
  const plan = examplePlan();
  const resourceGroup = { id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-team', name: 'rg-team', location: 'westeurope' };
  return new DagStorage(scope, id, { resourceGroup, accountName: `st${id.toLowerCase()}01`, location: plan.location, bundle: loadDagBundle(renderMigrationPlan(plan)), ...settings });
}
