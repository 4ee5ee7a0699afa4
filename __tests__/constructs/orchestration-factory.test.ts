import { DataFactory } from '@cdktf/provider-azurerm/lib/data-factory';
import { DataFactoryIntegrationRuntimeSelfHosted } from '@cdktf/provider-azurerm/lib/data-factory-integration-runtime-self-hosted';
import { DataFactoryLinkedServiceAzureBlobStorage } from '@cdktf/provider-azurerm/lib/data-factory-linked-service-azure-blob-storage';
import { DataFactoryLinkedServiceKeyVault } from '@cdktf/provider-azurerm/lib/data-factory-linked-service-key-vault';
import { DataFactoryLinkedServiceSqlServer } from '@cdktf/provider-azurerm/lib/data-factory-linked-service-sql-server';
import { KeyVault } from '@cdktf/provider-azurerm/lib/key-vault';
import { ManagementLock } from '@cdktf/provider-azurerm/lib/management-lock';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { StorageAccount } from '@cdktf/provider-azurerm/lib/storage-account';
import { StorageBlob } from '@cdktf/provider-azurerm/lib/storage-blob';
import { StorageContainer } from '@cdktf/provider-azurerm/lib/storage-container';
import { Testing } from 'cdktf';
import { AzapiResource } from '../../lib/azapi/resource';
import { AzapiResourceAction } from '../../lib/azapi/resource-action';
import { MigrationService } from '../../lib/migration-service';
import { OrchestrationFactory, OrchestrationFactoryProps } from '../../lib/orchestration-factory';
import { renderMigrationPlan } from '../../lib/plan';
import { examplePlan } from '../helpers/example-plan';
import { onlyResource, resourcesOfType, SynthesizedStack, synthObject, testStack, warningsOf } from '../helpers/test-stack';

const DMS_ID = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-test/providers/Microsoft.DataMigration/sqlMigrationServices/dms-test';
const INGESTION = {
  endpointUrl: 'https://dce-test.westeurope-1.ingest.monitor.azure.com',
  dataCollectionRuleImmutableId: 'dcr-00000000000000000000000000000000',
  streamName: 'Custom-MigrationEvents_CL',
};

function build(props: Partial<OrchestrationFactoryProps> = {}) {
  const { stack, resourceGroup } = testStack();
  const plan = examplePlan();
  const factory = new OrchestrationFactory(stack, 'orchestration', {
    resourceGroup,
    plan,
    migrationService: MigrationService.fromServiceId(DMS_ID),
    eventIngestion: INGESTION,
    ...props,
  });
  return { stack, plan, factory, synth: synthObject(stack), json: Testing.synth(stack) };
}

function airflowEnvironment(synth: SynthesizedStack): Record<string, any> {
  const environments = Object.values(resourcesOfType(synth, AzapiResource.tfResourceType));
  expect(environments).toHaveLength(1);
  return environments[0] as Record<string, any>;
}

describe('OrchestrationFactory', () => {
  it('creates the factory with a managed virtual network and a system-assigned identity', () => {
    const { json } = build();
    expect(json).toHaveResourceWithProperties(DataFactory, {
      name: 'adf-contoso-sql',
      managed_virtual_network_enabled: true,
      identity: { type: 'SystemAssigned' },
    });
  });

  it('registers a self-hosted runtime and publishes its key only as a sensitive output', () => {
    const { json, synth } = build();
    expect(json).toHaveResourceWithProperties(DataFactoryIntegrationRuntimeSelfHosted, { name: 'shir-contoso-sql' });
    const key = synth.output?.orchestration_self_hosted_runtime_auth_key;
    expect(key).toMatchObject({ sensitive: true });
    expect(key?.value).toMatch(/primary_authorization_key/);
    const leaking = Object.values(synth.output ?? {}).filter((o) => /authorization_key|authKey/.test(o.value) && !o.sensitive);
    expect(leaking).toEqual([]);
  });

  it('keeps the SQL credentials in an RBAC Key Vault with purge protection, protected from destroy', () => {
    const { synth } = build();
    const vault = onlyResource(synth, KeyVault.tfResourceType);
    expect(vault).toMatchObject({
      rbac_authorization_enabled: true,
      purge_protection_enabled: true,
      soft_delete_retention_days: 90,
      sku_name: 'standard',
      lifecycle: { prevent_destroy: true },
    });
    expect(String(vault.name)).toMatch(/^kv-contoso-sql-[0-9a-f]{4}$/);
    expect(String(vault.name).length).toBeLessThanOrEqual(24);
    expect(resourcesOfType(synth, ManagementLock.tfResourceType)).toEqual({});
  });

  it('references the Key Vault from every SQL Server linked service and never carries a connection string', () => {
    const { json, synth, plan } = build();
    expect(json).toHaveResourceWithProperties(DataFactoryLinkedServiceKeyVault, { name: 'ls_key_vault' });
    const linked = Object.values(resourcesOfType(synth, DataFactoryLinkedServiceSqlServer.tfResourceType));
    expect(linked).toHaveLength(plan.sourceServers.length);
    for (const service of linked) {
      expect(service.connection_string).toBeUndefined();
      expect(service.key_vault_connection_string).toEqual({
        linked_service_name: expect.stringMatching(/^\$\{azurerm_data_factory_linked_service_key_vault\.[^.]+\.name\}$/),
        secret_name: 'sql01-connection-string',
      });
      expect(service.integration_runtime_name).toMatch(/data_factory_integration_runtime_self_hosted/);
    }
  });

  it('secures the DAG storage: HTTPS, TLS 1.2, no public blobs, no shared keys, versioning and soft delete', () => {
    const { synth } = build();
    const account = onlyResource(synth, StorageAccount.tfResourceType);
    expect(account).toMatchObject({
      https_traffic_only_enabled: true,
      min_tls_version: 'TLS1_2',
      allow_nested_items_to_be_public: false,
      shared_access_key_enabled: false,
      cross_tenant_replication_enabled: false,
      blob_properties: {
        versioning_enabled: true,
        delete_retention_policy: { days: 30 },
        container_delete_retention_policy: { days: 30 },
      },
    });
    expect(String(account.name)).toMatch(/^[a-z0-9]{3,24}$/);
    expect(onlyResource(synth, StorageContainer.tfResourceType)).toMatchObject({ name: 'airflow-dags', container_access_type: 'private' });
  });

  it('uploads the DAG, its library, the requirements and the rendered plan, each with a content hash', () => {
    const { synth, plan } = build();
    const blobs = Object.values(resourcesOfType(synth, StorageBlob.tfResourceType));
    const names = blobs.map((b) => b.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'dags/migration_orchestration.py',
        'dags/migration_plan.json',
        'dags/migration_plan.schema.json',
        'requirements.txt',
      ]),
    );
    expect(names.some((n) => String(n).startsWith('dags/migration_orchestration_lib/'))).toBe(true);
    expect(names.filter((n) => /tests|__pycache__|requirements-test/.test(String(n)))).toEqual([]);
    const planBlob = blobs.find((b) => b.name === 'dags/migration_plan.json');
    expect(planBlob?.source_content).toBe(renderMigrationPlan(plan));
    for (const blob of blobs) {
      expect(blob.content_md5).toMatch(/^[0-9a-f]{32}$/);
    }
  });

  it('creates the managed Airflow as an Airflow integration runtime through AzAPI with schema validation off', () => {
    const { synth } = build();
    const environment = airflowEnvironment(synth);
    expect(environment.type).toBe('Microsoft.DataFactory/factories/integrationRuntimes@2018-06-01');
    expect(environment.schema_validation_enabled).toBe(false);
    const typeProperties = environment.body.properties.typeProperties;
    expect(environment.body.properties.type).toBe('Airflow');
    expect(typeProperties.computeProperties).toEqual({ location: 'westeurope', computeSize: 'Small', extraNodes: 0 });
    expect(typeProperties.airflowProperties.airflowVersion).toBe('2.6.3');
    expect(typeProperties.airflowProperties.airflowRequirements.length).toBeGreaterThan(0);
    expect(typeProperties.airflowProperties.airflowRequirements.every((r: string) => /==/.test(r))).toBe(true);
  });

  it('tells the DAG where DMS, the ingestion endpoint and rule and the secrets are, without any secret', () => {
    const { synth } = build();
    const environment = airflowEnvironment(synth);
    const variables = environment.body.properties.typeProperties.airflowProperties.airflowEnvironmentVariables;
    expect(variables).toMatchObject({
      AZURE_CLIENT_ID: examplePlan().airflow.servicePrincipal.clientId,
      MIGRATION_DMS_RESOURCE_ID: DMS_ID,
      MIGRATION_EVENTS_ENDPOINT: INGESTION.endpointUrl,
      MIGRATION_EVENTS_RULE_ID: INGESTION.dataCollectionRuleImmutableId,
      MIGRATION_EVENTS_STREAM: INGESTION.streamName,
      AIRFLOW__SECRETS__BACKEND: 'airflow.providers.microsoft.azure.secrets.key_vault.AzureKeyVaultBackend',
    });
    expect(variables.AZURE_CLIENT_SECRET).toBeUndefined();
    expect(variables.AIRFLOW__SECRETS__BACKEND_KWARGS).toMatch(/"vault_url": "\$\{azurerm_key_vault\..+\.vault_uri\}"/);
    // The client secret is write-only and comes from a sensitive variable.
    expect(environment.sensitive_body.properties.typeProperties.airflowProperties.airflowEnvironmentVariables).toEqual({
      AZURE_CLIENT_SECRET: '${var.airflow_client_secret}',
    });
    expect(synth.variable?.airflow_client_secret).toMatchObject({ sensitive: true, nullable: false, type: 'string' });
  });

  it('imports the DAGs from the container with the factory identity, again whenever a file changes', () => {
    const { synth, json } = build();
    expect(json).toHaveResourceWithProperties(DataFactoryLinkedServiceAzureBlobStorage, {
      name: 'ls_airflow_dags',
      use_managed_identity: true,
    });
    const sync = onlyResource(synth, AzapiResourceAction.tfResourceType) as Record<string, any>;
    expect(sync).toMatchObject({
      type: 'Microsoft.DataFactory/factories@2018-06-01',
      action: 'airflow/sync',
      method: 'POST',
      body: {
        IntegrationRuntimeName: 'airflow-contoso-sql',
        LinkedServiceName: expect.stringMatching(/^\$\{azurerm_data_factory_linked_service_azure_blob_storage\.[^.]+\.name\}$/),
        StorageFolderPath: 'airflow-dags',
        Overwrite: true,
        CopyFolderStructure: true,
        AddRequirementsFromFile: true,
      },
    });
    // A bare address: Terraform's JSON syntax rejects "${...}" in replace_triggered_by.
    expect(sync.lifecycle.replace_triggered_by).toEqual([expect.stringMatching(/^terraform_data\.[^.]+$/)]);
    const versions = Object.values(resourcesOfType(synth, 'terraform_data'));
    expect(versions).toHaveLength(1);
    expect((versions[0].triggers_replace as { contentHash: string }).contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(sync.depends_on.some((d: string) => d.startsWith('azurerm_storage_blob.'))).toBe(true);
  });

  it('grants only scoped data-plane roles: secrets to the factory and Airflow, blobs to the deployer and the factory', () => {
    const { synth, plan } = build();
    const grants = Object.values(resourcesOfType(synth, RoleAssignment.tfResourceType)).map((a) => ({
      role: a.role_definition_name,
      principal: a.principal_id,
      scope: String(a.scope).replace(/\.[A-Za-z0-9_]+\.id\}$/, '}'),
    }));
    expect(grants).toEqual(
      expect.arrayContaining([
        { role: 'Key Vault Secrets User', principal: expect.stringMatching(/identity\[0\]\.principal_id/), scope: '${azurerm_key_vault}' },
        { role: 'Key Vault Secrets User', principal: plan.airflow.servicePrincipal.objectId, scope: '${azurerm_key_vault}' },
        { role: 'Storage Blob Data Contributor', principal: expect.stringMatching(/client_config.+object_id/), scope: '${azurerm_storage_account}' },
        { role: 'Storage Blob Data Reader', principal: expect.stringMatching(/identity\[0\]\.principal_id/), scope: '${azurerm_storage_account}' },
      ]),
    );
    expect(grants).toHaveLength(4);
  });

  it('warns that new managed Airflow environments cannot be created since 2026-01-01, and can leave it out', () => {
    const withAirflow = build();
    expect(warningsOf(withAirflow.stack).join('\n')).toMatch(/2026-01-01/);
    const without = build({ managedAirflow: false });
    expect(resourcesOfType(without.synth, AzapiResource.tfResourceType)).toEqual({});
    expect(resourcesOfType(without.synth, AzapiResourceAction.tfResourceType)).toEqual({});
    expect(without.factory.airflowEnvironmentVariables.MIGRATION_DMS_RESOURCE_ID).toBe(DMS_ID);
  });

  it('warns when a secure storage default is weakened, and not otherwise', () => {
    expect(warningsOf(build({ managedAirflow: false }).stack)).toEqual([]);
    const weak = build({ managedAirflow: false, dagStorage: { minTlsVersion: 'TLS1_1', versioningEnabled: false, sharedAccessKeyEnabled: true } });
    const warnings = warningsOf(weak.stack).join('\n');
    expect(warnings).toMatch(/minTlsVersion is "TLS1_1"/);
    expect(warnings).toMatch(/versioningEnabled is false/);
    expect(warnings).toMatch(/sharedAccessKeyEnabled is true/);
  });

  it('warns without an event ingestion target', () => {
    const { stack } = build({ managedAirflow: false, eventIngestion: undefined });
    expect(warningsOf(stack).join('\n')).toMatch(/no eventIngestion given/);
  });

  it('uses an existing Key Vault instead of creating one, and locks a created one on request', () => {
    const existing = { id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-team', name: 'kv-team', vaultUri: 'https://kv-team.vault.azure.net/' };
    const withExisting = build({ keyVault: existing });
    expect(resourcesOfType(withExisting.synth, KeyVault.tfResourceType)).toEqual({});
    expect(withExisting.json).toHaveResourceWithProperties(DataFactoryLinkedServiceKeyVault, { key_vault_id: existing.id });
    const locked = build({ lockKeyVault: true });
    expect(onlyResource(locked.synth, ManagementLock.tfResourceType)).toMatchObject({ lock_level: 'CanNotDelete' });
  });
});
