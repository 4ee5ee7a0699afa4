import { DataResource, Testing } from 'cdktf';
import { DatabaseMigrationStack } from '../../lib/database-migration-stack';
import { examplePlan } from '../helpers/example-plan';
import { resourcesOfType, SynthesizedStack } from '../helpers/test-stack';

function synthDefault(props: Partial<ConstructorParameters<typeof DatabaseMigrationStack>[2]> = {}) {
  const app = Testing.app();
  const stack = new DatabaseMigrationStack(app, 'contoso-sql', { plan: examplePlan(), ...props });
  return { stack, synth: JSON.parse(Testing.synth(stack)) as SynthesizedStack };
}

function count(synth: SynthesizedStack, type: string): number {
  return Object.keys(resourcesOfType(synth, type)).length;
}

describe('DatabaseMigrationStack with the default plan', () => {
  const { synth, stack } = synthDefault();

  it('holds every resource the migration needs', () => {
    const expected: Record<string, number> = {
      azurerm_resource_group: 1,
      // Database Migration Service (current, via AzAPI) and its key listing; the Airflow environment.
      azapi_resource: 2,
      azapi_resource_action: 2, // listAuthKeys, airflow/sync
      azurerm_data_factory: 1,
      azurerm_data_factory_integration_runtime_self_hosted: 1,
      azurerm_key_vault: 1,
      azurerm_data_factory_linked_service_key_vault: 1,
      azurerm_data_factory_linked_service_sql_server: 1,
      azurerm_data_factory_linked_service_azure_blob_storage: 1,
      azurerm_storage_account: 1,
      azurerm_storage_container: 1,
      azurerm_log_analytics_workspace: 1,
      azurerm_log_analytics_workspace_table_custom_log: 1,
      azurerm_monitor_data_collection_endpoint: 1,
      azurerm_monitor_data_collection_rule: 1,
      azurerm_monitor_action_group: 1,
      azurerm_monitor_diagnostic_setting: 2, // the factory's, and its DAG storage's blob service
      azurerm_monitor_scheduled_query_rules_alert_v2: 2,
      azurerm_monitor_metric_alert: 3,
      azurerm_role_definition: 2, // the operator, and the reader of DMS operation statuses
      time_sleep: 1, // RBAC propagation before the DAG upload
      azurerm_application_insights_workbook: 1,
      terraform_data: 1,
    };
    const actual = Object.fromEntries(Object.keys(expected).map((type) => [type, count(synth, type)]));
    expect(actual).toEqual(expected);
    expect(count(synth, 'azurerm_storage_blob')).toBeGreaterThanOrEqual(4);
    expect(synth.resource.azurerm_database_migration_service).toBeUndefined();
  });

  it('creates the DMS and the Airflow environment with the right resource types', () => {
    const types = Object.values(resourcesOfType(synth, 'azapi_resource')).map((r) => r.type).sort();
    expect(types).toEqual([
      'Microsoft.DataFactory/factories/integrationRuntimes@2018-06-01',
      'Microsoft.DataMigration/sqlMigrationServices@2025-06-30',
    ]);
  });

  it('configures azurerm (Entra ID storage access), azapi, time (the DAG upload waits for RBAC) and a local backend', () => {
    const terraform = synth.terraform as Record<string, any>;
    expect(Object.keys(terraform.required_providers).sort()).toEqual(['azapi', 'azurerm', 'time']);
    expect(terraform.required_providers.azapi).toEqual({ source: 'Azure/azapi', version: '~> 2.7' });
    expect(terraform.backend).toEqual({ local: { path: 'terraform.contoso-sql.tfstate' } });
    const provider = synth.provider as Record<string, any[]>;
    expect(provider.azurerm[0]).toMatchObject({ storage_use_azuread: true, features: [{}] });
  });

  it('logs who reads, writes and deletes the DAG blobs to the workspace', () => {
    const settings = Object.values(resourcesOfType(synth, 'azurerm_monitor_diagnostic_setting'));
    const account = Object.keys(resourcesOfType(synth, 'azurerm_storage_account'))[0];
    const blobs = settings.filter((s) => s.target_resource_id === `\${azurerm_storage_account.${account}.id}/blobServices/default`);
    expect(blobs).toHaveLength(1);
    expect(blobs[0]).toMatchObject({
      enabled_log: [{ category: 'StorageRead' }, { category: 'StorageWrite' }, { category: 'StorageDelete' }],
      enabled_metric: [{ category: 'Transaction' }],
      log_analytics_workspace_id: expect.stringMatching(/^\$\{azurerm_log_analytics_workspace\..+\.id\}$/),
    });
  });

  it('names resources with CAF prefixes from the plan name', () => {
    expect(Object.values(resourcesOfType(synth, 'azurerm_resource_group'))[0].name).toBe('rg-contoso-sql');
    expect(Object.values(resourcesOfType(synth, 'azurerm_log_analytics_workspace'))[0].name).toBe('log-contoso-sql');
    expect(Object.values(resourcesOfType(synth, 'azurerm_data_factory'))[0].name).toBe('adf-contoso-sql');
  });

  it('exposes the outputs an operator needs, with every key sensitive', () => {
    const outputs = synth.output ?? {};
    expect(Object.keys(outputs).sort()).toEqual([
      'migration_service_auth_key_1',
      'migration_service_auth_key_2',
      'orchestration_dag_storage_account',
      'orchestration_factory_name',
      'orchestration_key_vault_uri',
      'orchestration_self_hosted_runtime_auth_key',
    ]);
    const sensitive = Object.entries(outputs).filter(([, output]) => output.sensitive).map(([name]) => name).sort();
    expect(sensitive).toEqual(['migration_service_auth_key_1', 'migration_service_auth_key_2', 'orchestration_self_hosted_runtime_auth_key']);
  });

  it('lets the Airflow identity run migrations only on the DMS, the plan targets and the backup storage', () => {
    const plan = examplePlan();
    const definition = Object.values(resourcesOfType(synth, 'azurerm_role_definition'))[0] as Record<string, any>;
    expect(definition.name).toBe('Database Migration Operator (contoso-sql)');
    const [operatorId] = Object.keys(resourcesOfType(synth, 'azurerm_role_definition'));
    const custom = Object.values(resourcesOfType(synth, 'azurerm_role_assignment')).filter((a) =>
      String(a.role_definition_id).includes(`azurerm_role_definition.${operatorId}.`),
    );
    const scopes = custom.map((a) => String(a.scope));
    expect(scopes).toHaveLength(3);
    expect(scopes).toContain(plan.targetServers[0].resourceId);
    expect(scopes).toContain(plan.backupStorage!.storageAccountResourceId);
    expect(scopes.filter((s) => /^\$\{azapi_resource\.MigrationService_[^.]+\.id\}$/.test(s))).toHaveLength(1);
    expect(custom.every((a) => a.principal_id === plan.airflow.servicePrincipal.objectId)).toBe(true);
    expect(definition.permissions[0].actions).toEqual(
      expect.arrayContaining(['Microsoft.DataMigration/databaseMigrations/cutover/action', 'Microsoft.Sql/managedInstances/databases/delete']),
    );
    expect(definition.permissions[0].actions.some((a: string) => a.startsWith('Microsoft.SqlVirtualMachine'))).toBe(false);
  });

  it('synthesizes without a terraform binary (no construct that shells out to `terraform version`)', () => {
    expect(stack.node.findAll().filter((c) => c instanceof DataResource)).toEqual([]);
  });

  it('warns about the managed Airflow retirement only', () => {
    const warnings = stack.node.findAll().flatMap((c) => c.node.metadata).filter((m) => m.type === '@cdktf/warn');
    expect(warnings.map((w) => String(w.data))).toEqual([expect.stringMatching(/2026-01-01/)]);
  });
});

describe('DatabaseMigrationStack without the managed Airflow', () => {
  const { synth } = synthDefault({ managedAirflow: false });

  it('creates no alert and collects no log category that only a managed Airflow could produce', () => {
    const metricAlerts = Object.values(resourcesOfType(synth, 'azurerm_monitor_metric_alert'));
    expect(metricAlerts.map((alert) => alert.name)).toEqual(['alert-contoso-sql-shir-offline']);
    const factorySetting = Object.values(resourcesOfType(synth, 'azurerm_monitor_diagnostic_setting')).find(
      (setting) => setting.log_analytics_destination_type === 'Dedicated',
    )!;
    expect((factorySetting.enabled_log as { category: string }[]).map((log) => log.category)).toEqual([
      'ActivityRuns',
      'PipelineRuns',
      'TriggerRuns',
    ]);
  });
});
