import { dagEnvironment } from '../../lib/hosts/dag-environment';

const INGESTION = {
  endpointUrl: 'https://dce-test.westeurope-1.ingest.monitor.azure.com',
  dataCollectionRuleImmutableId: 'dcr-00000000000000000000000000000000',
  streamName: 'Custom-MigrationEvents_CL',
};
const KEY_VAULT = { id: 'kv-id', name: 'kv-test', vaultUri: 'https://kv-test.vault.azure.net/' };
const BASE = { planName: 'contoso-sql', tenantId: 'tenant', subscriptionId: 'subscription', migrationService: { id: 'dms-id', name: 'dms-test' }, keyVault: KEY_VAULT };

describe('dagEnvironment', () => {
  it('tells the DAG its plan, where DMS, the ingestion endpoint and rule and the secrets are, without any secret or identity', () => {
    const environment = dagEnvironment({ ...BASE, eventIngestion: INGESTION });
    expect(environment).toEqual({
      AZURE_TENANT_ID: 'tenant',
      AZURE_SUBSCRIPTION_ID: 'subscription',
      MIGRATION_PLAN_NAME: 'contoso-sql',
      MIGRATION_DMS_RESOURCE_ID: 'dms-id',
      MIGRATION_EVENTS_ENDPOINT: INGESTION.endpointUrl,
      MIGRATION_EVENTS_RULE_ID: INGESTION.dataCollectionRuleImmutableId,
      MIGRATION_EVENTS_STREAM: INGESTION.streamName,
      AIRFLOW__SECRETS__BACKEND: 'airflow.providers.microsoft.azure.secrets.key_vault.AzureKeyVaultBackend',
      AIRFLOW__SECRETS__BACKEND_KWARGS: '{"connections_prefix": "airflow-connections", "variables_prefix": null, "config_prefix": null, "vault_url": "https://kv-test.vault.azure.net/"}',
    });
    expect(JSON.parse(environment.AIRFLOW__SECRETS__BACKEND_KWARGS).vault_url).toBe(KEY_VAULT.vaultUri);
  });

  it('names the factory of the SQL pipelines only when the SQL goes through Data Factory', () => {
    expect(dagEnvironment({ ...BASE, dataFactory: { id: 'adf-id', name: 'adf-test' } }).MIGRATION_DATA_FACTORY_ID).toBe('adf-id');
    expect(dagEnvironment(BASE)).not.toHaveProperty('MIGRATION_DATA_FACTORY_ID');
    expect(dagEnvironment(BASE)).not.toHaveProperty('MIGRATION_EVENTS_ENDPOINT');
  });
});
