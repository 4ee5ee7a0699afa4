/** An Airflow the team runs: everything else deployed, and the outputs that configure it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ref, Testing, Token } from 'cdktf';
import { DatabaseMigrationStack } from '../../lib/database-migration-stack';
import { ExternalAirflowHost, ExternalAirflowHostProps } from '../../lib/hosts/external-host';
import { hostBaseProps, SERVICE_PRINCIPAL } from '../helpers/host-fixtures';
import { examplePlanWith, synthMigrationStack } from '../helpers/migration-stack';
import { resourcesOfType, testStack, warningsOf } from '../helpers/test-stack';
import { findSecrets } from '../security/secret-scanner';

const CREDENTIAL = { name: 'astro-workers', issuer: 'https://oidc.example.com/org/123/', subject: 'system:serviceaccount:airflow:worker' };

describe('ExternalAirflowHost with a managed identity the stack creates', () => {
  const { synth, stack } = synthMigrationStack({ plan: examplePlanWith({ host: 'external', external: { federatedCredentials: [CREDENTIAL] } }) });
  const host = stack.airflowHost as ExternalAirflowHost;

  it('creates the identity and federates it to the team Airflow, without a secret', () => {
    expect(host.managedIdentity).toBeDefined();
    const [credential] = Object.values(resourcesOfType(synth, 'azurerm_federated_identity_credential'));
    expect(credential).toMatchObject({ ...CREDENTIAL, audience: ['api://AzureADTokenExchange'] });
    expect(credential.parent_id).toMatch(/^\$\{azurerm_user_assigned_identity\.AirflowHost_Identity_[0-9A-F]+\.id\}$/);
    expect(findSecrets(synth)).toEqual([]);
  });

  it('lets that identity read the bundle from storage', () => {
    const reader = Object.values(resourcesOfType(synth, 'azurerm_role_assignment')).find((a) => a.role_definition_name === 'Storage Blob Data Reader')!;
    expect(reader.principal_id).toMatch(/azurerm_user_assigned_identity\.AirflowHost_Identity_.*\.principal_id/);
  });

  it('outputs where the bundle is, the environment variables, the identity and the pools', () => {
    const outputs = synth.output as Record<string, any>;
    expect(outputs.airflow_dag_bundle.value).toMatchObject({
      container: expect.stringMatching(/azurerm_storage_container\./),
      url: expect.stringMatching(/primary_blob_endpoint\}airflow-dags$/),
      dags_folder: 'dags/',
      requirements: 'requirements.txt',
    });
    expect(outputs.airflow_identity.value).toMatchObject({ kind: 'managedIdentity', client_id: expect.stringMatching(/client_id/) });
    expect(outputs.airflow_environment_variables.value).toMatchObject({
      AZURE_CLIENT_ID: expect.stringMatching(/azurerm_user_assigned_identity\..*\.client_id/),
      MIGRATION_DMS_RESOURCE_ID: expect.stringMatching(/azapi_resource\.MigrationService/),
      AIRFLOW__SECRETS__BACKEND: 'airflow.providers.microsoft.azure.secrets.key_vault.AzureKeyVaultBackend',
    });
    expect(outputs.airflow_pools.value).toHaveLength(2);
  });

  it('outputs the pools as `airflow pools import` reads them: a map of name to slots and description, not airflow_pools\' list', () => {
    // Airflow's pool_import_helper (2.6.3 to 3.3.2) runs `pools_json.items()`: airflow_pools' list fails there with
    // AttributeError, and 2.6.3 takes a pool only with exactly these two keys (`len(v) == 2`).
    const outputs = synth.output as Record<string, any>;
    const pools = outputs.airflow_pools.value as { name: string; slots: number; description: string }[];
    expect(outputs.airflow_pools_import.value).toEqual(
      Object.fromEntries(pools.map(({ name, slots, description }) => [name, { slots, description }])),
    );
    expect(Object.keys(outputs.airflow_pools_import.value)).toEqual(['database_migration_admission', 'database_migration_sql']);
    expect(outputs.airflow_pools.description).toContain('`airflow pools import` of the output airflow_pools_import');
    expect(outputs.airflow_pools_import.description).toContain('terraform output -json airflow_pools_import > pools.json');
  });

  it('tells to set the environment in the DAG processor too, which parses the DAG (MIGRATION_PLAN_NAME, MIGRATION_WAIT_MODE)', () => {
    expect((synth.output as Record<string, any>).airflow_environment_variables.description).toMatch(
      /every process of it: scheduler, DAG processor, workers, triggerer, API server or webserver/,
    );
  });

  it('tells the audience of the tokens the federated credentials take', () => {
    expect((synth.output as Record<string, any>).airflow_identity.description).toContain('audience api://AzureADTokenExchange');
  });

  it('does not warn that nothing can sign in as the identity: the credential lets the team Airflow in', () => {
    expect(warningsOf(stack).filter((warning) => warning.includes('no federatedCredentials'))).toEqual([]);
  });

  it('names the oldest Airflow 3 the DAG is tested on as the oldest it runs on, and each tested Airflow 2', () => {
    // The DAG's test environments; dags/tests/test_airflow_versions.py holds the DAG's refusal to the same table.
    const tested = readFileSync(join(__dirname, '..', '..', 'dags', 'airflow-environments.txt'), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'))
      .map((line) => line.split(/\s+/)[1]);
    const minors = tested.filter((version) => version.startsWith('3.')).map((version) => Number(version.split('.')[1]));
    expect(host.airflowVersion.startsWith(`3.${Math.min(...minors)}+`)).toBe(true);
    for (const version of tested.filter((candidate) => candidate.startsWith('2.'))) expect(host.airflowVersion).toContain(version);
  });
});

describe('ExternalAirflowHost with a created identity and no federated credential', () => {
  // The host warns in its constructor: the stack built, not synthesized.
  const plan = examplePlanWith({ host: 'external' });
  const stack = new DatabaseMigrationStack(Testing.app(), plan.name, { plan });

  it('warns that nothing signs in as it until it is assigned to Azure compute or federated', () => {
    expect(warningsOf(stack)).toContainEqual(
      expect.stringMatching(
        /AirflowHost: no federatedCredentials \(the plan's airflow\.external\.federatedCredentials\): nothing signs in as the identity this host creates \(id-[a-z0-9-]+-airflow\) until you assign it to the Azure compute that runs your Airflow \(VMs, scale sets, App Service, Container Apps: AZURE_CLIENT_ID then selects it through their managed identity endpoint\)/,
      ),
    );
  });
});

describe('ExternalAirflowHost with the plan service principal', () => {
  const { synth, stack } = synthMigrationStack({ plan: examplePlanWith({ host: 'external', sqlAccess: 'direct', external: { servicePrincipal: SERVICE_PRINCIPAL } }) });

  it('acts as that application and creates no identity', () => {
    expect(stack.airflowHost.identity.principalId).toBe(SERVICE_PRINCIPAL.objectId);
    expect(Object.keys(resourcesOfType(synth, 'azurerm_user_assigned_identity'))).toEqual([]);
    expect((synth.output as any).airflow_identity.value).toEqual({
      kind: 'servicePrincipal',
      client_id: SERVICE_PRINCIPAL.clientId,
      principal_id: SERVICE_PRINCIPAL.objectId,
    });
  });

  it('connects directly when the plan says so: no SQL pipelines, no MIGRATION_DATA_FACTORY_ID', () => {
    expect(Object.keys(resourcesOfType(synth, 'azurerm_data_factory_pipeline'))).toEqual([]);
    expect(Object.keys((synth.output as any).airflow_environment_variables.value)).not.toContain('MIGRATION_DATA_FACTORY_ID');
  });
});

describe('ExternalAirflowHost props checked at construction', () => {
  function external(props: Partial<ExternalAirflowHostProps>) {
    const { stack, resourceGroup } = testStack();
    return new ExternalAirflowHost(stack, 'AirflowHost', {
      ...hostBaseProps(resourceGroup),
      ...props,
    });
  }

  it('refuses a deployer that is not an object id, and takes a reference', () => {
    expect(() => external({ deployerPrincipalId: 'deployer' })).toThrow('test/AirflowHost: deployerPrincipalId must be a GUID such as 00000000-0000-0000-0000-000000000000 (got "deployer")');
    expect(() => external({ deployerPrincipalId: Token.asString(ref('var.deployer')) })).not.toThrow();
  });

  it('refuses a service principal whose client id is not a GUID, and takes a reference', () => {
    expect(() => external({ servicePrincipal: { ...SERVICE_PRINCIPAL, clientId: 'api://airflow' } })).toThrow(
      'test/AirflowHost: servicePrincipal.clientId must be a GUID such as 00000000-0000-0000-0000-000000000000 (got "api://airflow")',
    );
    expect(() => external({ servicePrincipal: { ...SERVICE_PRINCIPAL, objectId: Token.asString(ref('var.object_id')) } })).not.toThrow();
  });

  it('refuses a secret in the environment: airflow_environment_variables is a plain output, kept in the state and the synthesized JSON', () => {
    const { environment } = hostBaseProps(testStack().resourceGroup);
    for (const name of [
      'AZURE_CLIENT_SECRET',
      'AZURE_CLIENT_CERTIFICATE_PASSWORD',
      'SQL_PASSWORD',
      'AIRFLOW__CORE__FERNET_KEY',
      'OPENAI_API_KEY',
      'SFTP_PRIVATE_KEY',
      'AIRFLOW_CONN_MSSQL_SOURCE_SQL01',
      'AIRFLOW__DATABASE__SQL_ALCHEMY_CONN',
    ]) {
      expect(() => external({ servicePrincipal: SERVICE_PRINCIPAL, environment: { ...environment, [name]: 'x' } })).toThrow(
        `test/AirflowHost: environment.${name}: airflow_environment_variables never lists a secret`,
      );
    }
  });
});
