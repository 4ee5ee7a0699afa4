import { DataFactoryCustomDataset } from '@cdktf/provider-azurerm/lib/data-factory-custom-dataset';
import { DataFactoryIntegrationRuntimeAzure } from '@cdktf/provider-azurerm/lib/data-factory-integration-runtime-azure';
import { DataFactoryLinkedCustomService } from '@cdktf/provider-azurerm/lib/data-factory-linked-custom-service';
import { DataFactoryManagedPrivateEndpoint } from '@cdktf/provider-azurerm/lib/data-factory-managed-private-endpoint';
import { DataFactoryPipeline } from '@cdktf/provider-azurerm/lib/data-factory-pipeline';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { RoleDefinition } from '@cdktf/provider-azurerm/lib/role-definition';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ref, Token } from 'cdktf';
import { loadSqlPipelinesContract } from '../../lib/private/sql-pipeline-definitions';
import { dataFactorySchema, definitionValidator } from '../helpers/data-factory-schema';
import { RUNNER, SQL_TARGETS as TARGETS, sqlPipelinesStack } from '../helpers/sql-pipelines-stack';
import { resourcesOfType } from '../helpers/test-stack';

/** What the Python fake Data Factory runs: the same definitions, kept equal by the last test. */
const FIXTURE = join(__dirname, '..', '..', 'dags', 'migration_rehearsal', 'fixtures', 'sql_pipelines_factory.json');

describe('SqlPipelines', () => {
  const built = sqlPipelinesStack();

  it('creates an Azure integration runtime in the managed virtual network', () => {
    expect(built.json).toHaveResourceWithProperties(DataFactoryIntegrationRuntimeAzure, {
      name: 'ir-contoso-sql-vnet',
      virtual_network_enabled: true,
      location: 'westeurope',
    });
  });

  it('reaches SqlMi and SqlDb targets through managed private endpoints of their private-link groups', () => {
    const endpoints = Object.values(resourcesOfType(built.synth, DataFactoryManagedPrivateEndpoint.tfResourceType));
    expect(endpoints.map((e) => [e.name, e.subresource_name, e.target_resource_id]).sort()).toEqual([
      ['mpe-db-prod-2df4a617', 'sqlServer', TARGETS[1].resourceId],
      ['mpe-mi-prod-7476936f', 'managedInstance', TARGETS[0].resourceId],
    ]);
  });

  it('names the endpoints to approve in an output, per target, with the name Azure keeps and the target to approve them on', () => {
    const output = built.synth.output?.sql_private_endpoints_to_approve; // the construct's id here is `sql`
    const address = (target: (typeof TARGETS)[number]) =>
      Object.entries(resourcesOfType(built.synth, DataFactoryManagedPrivateEndpoint.tfResourceType)).find(([, e]) => e.target_resource_id === target.resourceId)![0];
    expect(output?.sensitive).toBeUndefined();
    expect(output?.value).toEqual({
      'mi-prod': `\${azurerm_data_factory_managed_private_endpoint.${address(TARGETS[0])}.name} on ${TARGETS[0].resourceId}`,
      'db-prod': `\${azurerm_data_factory_managed_private_endpoint.${address(TARGETS[1])}.name} on ${TARGETS[1].resourceId}`,
    });
  });

  it('has no endpoints output where no target has an endpoint (SqlVm targets only)', () => {
    const vmOnly = sqlPipelinesStack({ targets: TARGETS.filter((target) => target.kind === 'SqlVm') });
    expect(Object.keys(vmOnly.synth.output ?? {}).filter((name) => name.includes('private_endpoints'))).toEqual([]);
  });

  it('keeps each endpoint, and the approval given by hand on its target, when the plan renames the target entry', () => {
    const type = DataFactoryManagedPrivateEndpoint.tfResourceType;
    const renamed = sqlPipelinesStack({ targets: TARGETS.map((target) => ({ ...target, name: `${target.name}-new` })) });
    const before = resourcesOfType(built.synth, type);
    const after = resourcesOfType(renamed.synth, type);
    // The same addresses (keyed by the target's ARM id) with only the ForceNew name changed, a change Terraform ignores.
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    for (const [address, endpoint] of Object.entries(after)) {
      expect({ ...endpoint, name: before[address].name }).toEqual(before[address]);
      expect(endpoint.lifecycle).toEqual({ ignore_changes: ['name'] });
    }
  });

  const [MI, DB] = TARGETS;
  const OTHER_MI = MI.resourceId.replace('mi-contoso-prod', 'mi-contoso-prod-2');
  it.each([
    ['a renamed entry whose old name a new entry takes', [{ ...MI, name: 'mi-main' }, { ...MI, resourceId: OTHER_MI }, DB]],
    ['an entry moved to another server, the old one still being destroyed', [{ ...MI, resourceId: OTHER_MI }, DB]],
  ])('creates no endpoint under a name the factory still holds: %s', (_, targets) => {
    const type = DataFactoryManagedPrivateEndpoint.tfResourceType;
    const before = resourcesOfType(built.synth, type);
    const created = Object.entries(resourcesOfType(sqlPipelinesStack({ targets }).synth, type)).filter(([address]) => !(address in before));
    expect(created).toHaveLength(1);
    // Azure keeps each endpoint's first name (ignore_changes): this version's, or an earlier one's `mpe-<entry name>`.
    const held = [...Object.values(before).map((endpoint) => endpoint.name), ...TARGETS.map((target) => `mpe-${target.name}`)];
    for (const [, endpoint] of created) expect(held).not.toContain(endpoint.name);
  });

  it('reaches a SqlVm target through the self-hosted runtime and says so', () => {
    const infos = built.stack.node.findAll().flatMap((c) => c.node.metadata).filter((m) => m.type === '@cdktf/info');
    expect(infos.map((m) => String(m.data))).toEqual([expect.stringContaining('SqlVm target vm-prod is reached through the self-hosted integration runtime')]);
  });

  it('reads the source connection string from Key Vault by a secret name given per run, never a password', () => {
    const linked = Object.values(resourcesOfType(built.synth, DataFactoryLinkedCustomService.tfResourceType));
    const selfHosted = linked.find((l) => l.name === 'ls_migration_sql_self_hosted')!;
    expect(selfHosted).toMatchObject({ type: 'SqlServer', integration_runtime: { name: 'shir-contoso-sql' }, parameters: { connectionStringSecretName: '' } });
    expect(JSON.parse(selfHosted.type_properties_json as string)).toEqual({
      connectionString: {
        type: 'AzureKeyVaultSecret',
        store: { referenceName: 'ls_key_vault', type: 'LinkedServiceReference' },
        secretName: '@{linkedService().connectionStringSecretName}',
      },
    });
    expect(built.json).not.toMatch(/password|Password=/);
  });

  it('logs in to SqlMi and SqlDb targets with the factory identity through the managed runtime', () => {
    const linked = Object.values(resourcesOfType(built.synth, DataFactoryLinkedCustomService.tfResourceType));
    for (const [name, type] of [['ls_migration_sql_managed_instance', 'AzureSqlMI'], ['ls_migration_sql_database', 'AzureSqlDatabase']]) {
      const service = linked.find((l) => l.name === name)!;
      expect(service).toMatchObject({ type, integration_runtime: { name: 'ir-contoso-sql-vnet' } });
      expect(JSON.parse(service.type_properties_json as string)).toMatchObject({ authenticationType: 'SystemAssignedManagedIdentity', encrypt: 'mandatory' });
    }
  });

  it('creates one dataset per route and the pipelines the contract names', () => {
    const datasets = Object.values(resourcesOfType(built.synth, DataFactoryCustomDataset.tfResourceType));
    expect(datasets.map((d) => [d.name, d.type]).sort()).toEqual([
      ['ds_migration_sql_database', 'AzureSqlTable'],
      ['ds_migration_sql_managed_instance', 'AzureSqlMITable'],
      ['ds_migration_sql_self_hosted', 'SqlServerTable'],
    ]);
    const pipelines = Object.values(resourcesOfType(built.synth, DataFactoryPipeline.tfResourceType));
    const contract = loadSqlPipelinesContract();
    const named = Object.values(contract.routes).flatMap((r) => [r.query, ...(r.statement ? [r.statement] : [])]).map((s) => s.pipeline);
    expect(pipelines.map((p) => p.name).sort()).toEqual(named.sort());
    expect(pipelines.every((p) => p.concurrency === 4)).toBe(true);
    const selfHostedQuery = pipelines.find((p) => p.name === 'migration_sql_query_self_hosted')!;
    // A DAG older than activityTimeout does not pass it: its runs get the default, which must not end the
    // activity before the SQL command's own timeout, which such a DAG sets up to timeoutMinutes' maximum, 7 days.
    expect(selfHostedQuery.parameters).toEqual({
      operationKey: '',
      sql: '',
      timeout: '0.12:00:00',
      activityTimeout: '7.00:00:00',
      activityRetries: '2',
      connectionStringSecretName: '',
    });
  });

  it('retries a failed activity as often as its run asks, activityRetries where it names none', () => {
    // A retry runs the batch again for its whole timeout: the DAG names 0 for a batch whose timeout is what is left
    // until its deadline (validation's), which a fixed retry count ran again past that deadline.
    const retry = { value: '@int(pipeline().parameters.activityRetries)', type: 'Expression' };
    const once = sqlPipelinesStack({ activityRetries: 1 });
    for (const pipeline of Object.values(resourcesOfType(once.synth, DataFactoryPipeline.tfResourceType))) {
      const [activity] = JSON.parse(pipeline.activities_json as string);
      expect([pipeline.name, activity.policy.retry, (pipeline.parameters as Record<string, string>).activityRetries]).toEqual([
        pipeline.name,
        retry,
        '1',
      ]);
    }
  });

  it("ends every SQL batch at the timeout its run asks for, the statement blocks included, and the activity at the run's activityTimeout", () => {
    const timeout = { value: '@pipeline().parameters.timeout', type: 'Expression' };
    for (const pipeline of Object.values(resourcesOfType(built.synth, DataFactoryPipeline.tfResourceType))) {
      const [activity] = JSON.parse(pipeline.activities_json as string);
      // Data Factory's 10-minute minimum is the activity's, not the SQL command's: they are separate parameters.
      expect([pipeline.name, activity.policy.timeout]).toEqual([pipeline.name, { value: '@pipeline().parameters.activityTimeout', type: 'Expression' }]);
      const own = activity.type === 'Script' ? activity.typeProperties.scriptBlockExecutionTimeout : activity.typeProperties.source.queryTimeout;
      expect([pipeline.name, own]).toEqual([pipeline.name, timeout]);
    }
  });

  it("deploys pipelines that pass Data Factory's published schema", () => {
    const validate = definitionValidator(dataFactorySchema(), 'Pipeline');
    for (const pipeline of Object.values(resourcesOfType(built.synth, DataFactoryPipeline.tfResourceType))) {
      const parameters = Object.fromEntries(
        Object.entries(pipeline.parameters as Record<string, string>).map(([n, v]) => [n, { type: 'String', defaultValue: v }]),
      );
      const deployed = { activities: JSON.parse(pipeline.activities_json as string), parameters, concurrency: pipeline.concurrency };
      expect(validate(deployed)).toEqual([]);
    }
  });

  // Its actions, each with the DAG call that needs it: docs/permissions.md (security/role-needs.test.ts).
  it('lets the grantee (the Airflow identity) run the pipelines and read their runs, and nothing more', () => {
    expect(built.runnerGrant.node.id).toBe('RunnerRunsPipelines');
    const definition = Object.values(resourcesOfType(built.synth, RoleDefinition.tfResourceType))[0];
    expect(definition.name).toBe('Migration SQL Pipeline Runner (contoso-sql)');
    const actions = (definition.permissions as Array<{ actions: string[] }>)[0].actions;
    expect(actions.filter((action) => !/^Microsoft\.DataFactory\/factories\/(pipelines\/createrun|pipelineruns|querypipelineruns)\b/.test(action))).toEqual([]);
    expect((definition.permissions as any[])[0].data_actions).toBeUndefined();
    expect(built.json).toHaveResourceWithProperties(RoleAssignment, {
      principal_id: RUNNER,
      scope: '${azurerm_data_factory.factory.id}',
      principal_type: 'ServicePrincipal',
    });
  });

  it.each([
    [{ maxRunsPerPipeline: 0 }, 'maxRunsPerPipeline must be a whole number from 1 to 50, got 0'],
    // azurerm_data_factory_pipeline's concurrency: IntBetween(1, 50) (terraform validate refused 51)
    [{ maxRunsPerPipeline: 51 }, 'maxRunsPerPipeline must be a whole number from 1 to 50, got 51'],
    [{ activityRetries: -1 }, 'activityRetries must be a whole number of at least 0, got -1'],
    // A 72-character name gets mpe-<name>-<8 hex>: 85 characters, over azurerm's 80 (terraform validate refused it)
    [
      { targets: [{ ...TARGETS[0], name: 'x'.repeat(72) }] },
      `target "${'x'.repeat(72)}" names its managed private endpoint "mpe-${'x'.repeat(72)}-`,
    ],
    [{ targets: [{ ...TARGETS[0], name: 'mi prod' }] }, 'target "mi prod" names its managed private endpoint "mpe-mi prod-'],
  ])('refuses %p', (props, message) => {
    expect(() => sqlPipelinesStack(props)).toThrow(`sql: ${message}`);
  });

  it("matches the definitions the Python fake Data Factory runs (UPDATE_SQL_PIPELINE_FIXTURE=1 rewrites them)", () => {
    const current = `${JSON.stringify(built.pipelines.definitions, null, 2)}\n`;
    if (process.env.UPDATE_SQL_PIPELINE_FIXTURE === '1' || !existsSync(FIXTURE)) {
      writeFileSync(FIXTURE, current);
    }
    expect(readFileSync(FIXTURE, 'utf8')).toBe(current);
  });
});

describe('SqlPipelines props checked at construction', () => {
  it('refuses a name prefix with "--": Data Factory refuses ir-<prefix>-vnet', () => {
    expect(() => sqlPipelinesStack({ namePrefix: 'q3--sql' })).toThrow(
      'test/sql: namePrefix must be free of "--" (Key Vault and Data Factory names refuse consecutive hyphens) (got "q3--sql")',
    );
    expect(() => sqlPipelinesStack({ namePrefix: Token.asString(ref('var.prefix')) })).not.toThrow();
  });
});
