/** docs/data-factory-host.md against the code: the steps of adopting, sharing and leaving an environment. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dagBundleFor } from '../../lib/orchestration-factory/dag-bundle';
import { AIRFLOW_OF_HOST, examplePlanWith, synthMigrationStack } from '../helpers/migration-stack';

/**
 * What the environment an earlier version created (`airflow-<name>`, forgotten by a `removed` block)
 * still holds, from that version's `ManagedAirflowEnvironment` (git show cefd5ca^): its variables and
 * the `airflowRequirements` of its definition, which Terraform no longer rewrites.
 */
const EARLIER_ENVIRONMENT_VARIABLES = [
  'AZURE_CLIENT_ID',
  'AZURE_CLIENT_SECRET',
  'AZURE_TENANT_ID',
  'AZURE_SUBSCRIPTION_ID',
  'MIGRATION_DMS_RESOURCE_ID',
  'MIGRATION_EVENTS_ENDPOINT',
  'MIGRATION_EVENTS_RULE_ID',
  'MIGRATION_EVENTS_STREAM',
  'AIRFLOW__SECRETS__BACKEND',
  'AIRFLOW__SECRETS__BACKEND_KWARGS',
];
const EARLIER_REQUIREMENTS = [
  'azure-mgmt-datamigration==10.1.0',
  'azure-mgmt-sql==3.0.1',
  'azure-identity==1.19.0',
  'azure-monitor-ingestion==1.0.4',
  'pymssql==2.3.1',
  'apache-airflow-providers-microsoft-azure==9.0.1',
  'azure-kusto-data==4.6.3',
];

describe('docs/data-factory-host.md, moving off an environment an earlier version created', () => {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'data-factory-host.md'), 'utf8');
  const adoptionStep = doc.slice(doc.indexOf('\n3. `terraform plan`'), doc.indexOf('\n4. '));
  const { synth } = synthMigrationStack({ plan: examplePlanWith(AIRFLOW_OF_HOST.dataFactory) });

  it('names every variable the DAG reads that the earlier environment lacks', () => {
    expect(adoptionStep.length).toBeGreaterThan(100);
    const variables = Object.keys((synth.output?.airflow_environment_variables as any).value);
    const missing = variables.filter((name) => !EARLIER_ENVIRONMENT_VARIABLES.includes(name));
    expect(missing.sort()).toEqual(['MIGRATION_DATA_FACTORY_ID', 'MIGRATION_PLAN_NAME']);
    for (const name of missing) expect(adoptionStep).toContain(`\`${name}\``);
  });

  it('names every requirement of the earlier definition that Data Factory 2.6.3 does not take, to remove it', () => {
    const pinned = readFileSync(join(__dirname, '..', '..', 'dags', 'requirements-data-factory.txt'), 'utf8')
      .split('\n')
      .map((line) => line.trim());
    const stale = EARLIER_REQUIREMENTS.filter((requirement) => !pinned.includes(requirement));
    // azure-mgmt-datamigration 10.1.0 has Requires-Python >=3.9; the environment runs Python 3.8.
    expect(stale).toEqual(['azure-mgmt-datamigration==10.1.0', 'azure-mgmt-sql==3.0.1']);
    for (const requirement of stale) expect(adoptionStep).toContain(`\`${requirement}\``);
    expect(adoptionStep).toMatch(/remove/);
  });
});

describe('docs/data-factory-host.md, what the import writes into an environment it shares', () => {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'data-factory-host.md'), 'utf8');
  const section = doc.slice(doc.indexOf('**What the import writes into the environment.**'), doc.indexOf('**Moving off'));

  it("names every file the bundle puts at the root of the DAG folder, where an import overwrites the environment's own", () => {
    const { files } = dagBundleFor(examplePlanWith(AIRFLOW_OF_HOST.dataFactory));
    const atRoot = new Set(
      files.map(({ blobName }) => blobName).filter((name) => name.startsWith('dags/')).map((name) => name.slice('dags/'.length).replace(/\/.*$/, '/')),
    );
    expect(atRoot).toContain('.airflowignore');
    for (const name of atRoot) expect(section).toContain(`\`${name}\``);
    expect(section).toContain('`requirements.txt`');
  });
});

describe('docs/data-factory-host.md, leaving the environment for another host', () => {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'data-factory-host.md'), 'utf8');
  const leavingStep = doc.slice(doc.indexOf('\n4. When the new host is ready'));

  it("says to move between migrations or take the DAG's Variables along, and to retire the DAG left in the environment", () => {
    expect(leavingStep.length).toBeGreaterThan(50);
    expect(leavingStep).toContain('(../dags/README.md#what-the-dag-remembers)');
    expect(readFileSync(join(__dirname, '..', '..', 'dags', 'README.md'), 'utf8')).toMatch(/^### What the DAG remembers$/m);
    expect(leavingStep).toMatch(/between migrations/);
    expect(leavingStep).toMatch(/pause\s+the DAG/);
  });
});
