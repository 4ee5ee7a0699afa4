/** An existing Data Factory Airflow environment, adopted: DAG imported, nothing created in its place. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ref, TerraformStack, Token } from 'cdktf';
import { DataFactoryAirflowHost, DataFactoryAirflowHostProps } from '../../lib/hosts/data-factory-host';
import { MigrationMonitoring } from '../../lib/monitoring/migration-monitoring';
import { dagBundleFor } from '../../lib/orchestration-factory/dag-bundle';
import { parseEnvironmentId } from '../../lib/private/arm-ids';
import { ENVIRONMENT_ID, hostBaseProps, SERVICE_PRINCIPAL } from '../helpers/host-fixtures';
import { deepFreeze } from '../../lib/private/deep-freeze';
import { AIRFLOW_OF_HOST, examplePlanWith, synthMigrationStack } from '../helpers/migration-stack';
import { onlyResource, resourcesOfType, synthObject, testStack } from '../helpers/test-stack';

const FACTORY_ID = ENVIRONMENT_ID.split('/integrationRuntimes/')[0];

describe('DataFactoryAirflowHost', () => {
  const { synth, stack } = synthMigrationStack({ plan: examplePlanWith(AIRFLOW_OF_HOST.dataFactory) });
  const host = stack.airflowHost as DataFactoryAirflowHost;

  it('is Airflow 2.6.3 acting as the plan service principal, reaching SQL Server only through Data Factory', () => {
    expect(host.kind).toBe('dataFactory');
    expect(host.airflowVersion).toBe('2.6.3');
    expect(host.supportedSqlAccess).toEqual(['dataFactory']);
    expect(host.identity).toEqual({ principalId: SERVICE_PRINCIPAL.objectId, clientId: SERVICE_PRINCIPAL.clientId, principalType: 'ServicePrincipal' });
  });

  it("lists its Airflow alerts as metric or log alerts: code reading a resource's criteria compiles (npm run typecheck)", () => {
    expect(host.alerts.map((alert) => alert.resource.criteria).every((criteria) => criteria !== undefined)).toBe(true);
  });

  it('never creates an Airflow environment', () => {
    const types = Object.values(resourcesOfType(synth, 'azapi_resource')).map((resource) => String(resource.type));
    expect(types.some((type) => type.includes('integrationRuntimes'))).toBe(false);
  });

  it("imports the bundle into the environment with airflow/sync on the environment's factory, from a Blob linked service there", () => {
    const sync = Object.values(resourcesOfType(synth, 'azapi_resource_action')).find((action) => action.action === 'airflow/sync')!;
    const linked = onlyResource(synth, 'azurerm_data_factory_linked_service_azure_blob_storage');
    expect(linked).toMatchObject({ data_factory_id: FACTORY_ID, use_managed_identity: true, name: 'ls_contoso_sql_airflow_dags' });
    expect(sync).toMatchObject({
      type: 'Microsoft.DataFactory/factories@2018-06-01',
      resource_id: FACTORY_ID,
      method: 'POST',
      body: {
        IntegrationRuntimeName: 'airflow-prod',
        StorageFolderPath: 'airflow-dags',
        Overwrite: true,
        CopyFolderStructure: true,
        AddRequirementsFromFile: true,
      },
    });
    expect((sync.body as any).LinkedServiceName).toMatch(/azurerm_data_factory_linked_service_azure_blob_storage\..*\.name/);
  });

  it('re-runs the import when the bundle changes, through a bare replace_triggered_by address', () => {
    const sync = Object.values(resourcesOfType(synth, 'azapi_resource_action')).find((action) => action.action === 'airflow/sync') as any;
    const [trigger] = sync.lifecycle.replace_triggered_by;
    expect(trigger).toMatch(/^terraform_data\.AirflowHost_DagVersion_[0-9A-F]+$/);
    expect(resourcesOfType(synth, 'terraform_data')[trigger.split('.')[1]]).toEqual({ triggers_replace: { contentHash: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect(sync.depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/^time_sleep\./), expect.stringMatching(/^azurerm_storage_blob\./)]));
  });

  it("lets the environment's factory read the bundle with its managed identity, after the role has propagated", () => {
    const reader = Object.values(resourcesOfType(synth, 'azurerm_role_assignment')).find((a) => a.role_definition_name === 'Storage Blob Data Reader')!;
    expect(reader.principal_id).toMatch(/^\$\{data\.azurerm_data_factory\.[^.]+\.identity\[0\]\.principal_id\}$/);
    const lookup = Object.values(synth.data?.azurerm_data_factory ?? {})[0];
    expect(lookup).toMatchObject({ name: 'adf-data-platform', resource_group_name: 'rg-data-platform' });
  });

  it("stops the plan with a clear message, before reading the factory, when the environment is not in the stack's subscription", () => {
    // azurerm builds the data source's and the linked service's ids from its provider's subscription
    // (internal/services/datafactory): another subscription's factory would be "not found".
    const lookup = Object.values(synth.data?.azurerm_data_factory ?? {})[0] as any;
    const [precondition] = lookup.lifecycle.precondition;
    expect(precondition.condition).toMatch(/^\$\{\(?lower\(data\.azurerm_client_config\.AirflowHost_Client_[0-9A-F]+\.subscription_id\) == "00000000-0000-0000-0000-000000000000"\)?\}$/);
    expect(precondition.error_message).toMatch(
      /^airflow\.dataFactory\.environmentId is in subscription 00000000-0000-0000-0000-000000000000, and the stack's azurerm provider deploys into \$\{data\.azurerm_client_config\.AirflowHost_Client_[0-9A-F]+\.subscription_id\}: /,
    );
  });

  it('uploads the requirements for Airflow 2.6.3 on Python 3.8 as the requirements.txt the import installs', () => {
    const blob = Object.values(resourcesOfType(synth, 'azurerm_storage_blob')).find((b) => b.name === 'requirements.txt')!;
    const expected = readFileSync(join(__dirname, '..', '..', 'dags', 'requirements-data-factory.txt'), 'utf8');
    expect(blob.source_content).toBe(expected);
    expect(String(blob.source_content)).not.toMatch(/^azure-mgmt-datamigration/m);
  });

  it('outputs the environment variables and pools an operator sets in the environment it does not rewrite', () => {
    const variables = synth.output?.airflow_environment_variables as any;
    expect(variables.value).toMatchObject({ AZURE_CLIENT_ID: SERVICE_PRINCIPAL.clientId, MIGRATION_DATA_FACTORY_ID: expect.stringMatching(/azurerm_data_factory\.Orchestration_Factory/) });
    // A second plan's stack adopting this environment overwrites the DAG: the DAG then refuses to import.
    expect(variables.value.MIGRATION_PLAN_NAME).toBe('contoso-sql');
    expect(Object.keys(variables.value)).not.toContain('AZURE_CLIENT_SECRET');
    const pools = (synth.output?.airflow_pools as any).value;
    expect(pools.map((pool: { name: string; slots: number }) => [pool.name, pool.slots])).toEqual([
      ['database_migration_admission', 1],
      ['database_migration_sql', 4],
    ]);
  });

  it('refuses an environment id that is a reference or not an integration runtime', () => {
    expect(() => parseEnvironmentId('${var.environment}')).toThrow(/must be the literal ARM id of a Data Factory Airflow environment/);
    expect(() => parseEnvironmentId(FACTORY_ID)).toThrow(/integrationRuntimes/);
    expect(parseEnvironmentId(ENVIRONMENT_ID)).toEqual({
      factoryId: FACTORY_ID,
      factoryName: 'adf-data-platform',
      resourceGroupName: 'rg-data-platform',
      environmentName: 'airflow-prod',
    });
  });
});

describe('DataFactoryAirflowHost props checked at construction', () => {
  /** The Data Factory plan's bundle, loaded once for these tests (frozen). */
  const bundle = deepFreeze(dagBundleFor(examplePlanWith(AIRFLOW_OF_HOST.dataFactory)));

  function adopted(props: Partial<DataFactoryAirflowHostProps>) {
    const { stack, resourceGroup } = testStack();
    const monitoring = new MigrationMonitoring(stack, 'Monitoring', { resourceGroup, namePrefix: 'contoso-sql', emails: ['dba@contoso.example'] });
    return new DataFactoryAirflowHost(stack, 'AirflowHost', {
      ...hostBaseProps(resourceGroup),
      bundle,
      environment: { MIGRATION_DATA_FACTORY_ID: FACTORY_ID },
      environmentId: ENVIRONMENT_ID,
      servicePrincipal: SERVICE_PRINCIPAL,
      monitoring,
      ...props,
    });
  }

  it('refuses a deployer that is not an object id, and takes a reference', () => {
    expect(() => adopted({ deployerPrincipalId: 'terraform@contoso.com' })).toThrow(
      'test/AirflowHost: deployerPrincipalId must be a GUID such as 00000000-0000-0000-0000-000000000000 (got "terraform@contoso.com")',
    );
    expect(() => adopted({ deployerPrincipalId: Token.asString(ref('var.deployer')) })).not.toThrow();
  });

  it('refuses a service principal whose ids are not GUIDs, and takes references', () => {
    expect(() => adopted({ servicePrincipal: { ...SERVICE_PRINCIPAL, objectId: 'airflow-app' } })).toThrow(
      'test/AirflowHost: servicePrincipal.objectId must be a GUID such as 00000000-0000-0000-0000-000000000000 (got "airflow-app")',
    );
    const clientId = Token.asString(ref('azuread_application.airflow.client_id'));
    expect(adopted({ servicePrincipal: { ...SERVICE_PRINCIPAL, clientId } }).identity.clientId).toBe(clientId);
  });

  it("takes the environment id in any case, and gives the linked service the factory id as azurerm's case-sensitive parser wants it", () => {
    // The case of Microsoft's REST page (`resourcegroups`, `integrationruntimes`), which the plan accepts.
    const spelledAsRest = ENVIRONMENT_ID.replace('/resourceGroups/', '/resourcegroups/').replace('/integrationRuntimes/', '/integrationruntimes/');
    expect(parseEnvironmentId(spelledAsRest.replace('Microsoft.DataFactory', 'microsoft.datafactory')).factoryId).toBe(FACTORY_ID);
    const host = adopted({ environmentId: spelledAsRest });
    const synth = synthObject(TerraformStack.of(host));
    expect(onlyResource(synth, 'azurerm_data_factory_linked_service_azure_blob_storage').data_factory_id).toBe(FACTORY_ID);
    const sync = Object.values(resourcesOfType(synth, 'azapi_resource_action')).find((action) => action.action === 'airflow/sync')!;
    expect(sync.resource_id).toBe(FACTORY_ID);
    expect(host.adoptedEnvironment).toMatchObject({ factoryName: 'adf-data-platform', resourceGroupName: 'rg-data-platform', environmentName: 'airflow-prod' });
  });

  it('refuses the service principal secret in the environment: airflow_environment_variables is a plain output', () => {
    expect(() => adopted({ environment: { MIGRATION_DATA_FACTORY_ID: FACTORY_ID, AZURE_CLIENT_SECRET: 'x' } })).toThrow(
      'test/AirflowHost: environment.AZURE_CLIENT_SECRET: airflow_environment_variables never lists a secret',
    );
  });
});
