import { DataFactory } from '@cdktf/provider-azurerm/lib/data-factory';
import { DataFactoryIntegrationRuntimeSelfHosted } from '@cdktf/provider-azurerm/lib/data-factory-integration-runtime-self-hosted';
import { DataFactoryLinkedServiceKeyVault } from '@cdktf/provider-azurerm/lib/data-factory-linked-service-key-vault';
import { DataFactoryLinkedServiceSqlServer } from '@cdktf/provider-azurerm/lib/data-factory-linked-service-sql-server';
import { KeyVault } from '@cdktf/provider-azurerm/lib/key-vault';
import { ManagementLock } from '@cdktf/provider-azurerm/lib/management-lock';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { ref, Testing, Token } from 'cdktf';
import { OrchestrationFactory, OrchestrationFactoryProps } from '../../lib/orchestration-factory/orchestration-factory';
import { parseMigrationPlan } from '../../lib/plan';
import { MigrationPlan } from '../../lib/plan/types';
import { AIRFLOW_CONNECTIONS_PREFIX } from '../../lib/private/airflow-connection-secrets';
import { examplePlan } from '../helpers/example-plan';
import { AIRFLOW_OF_HOST, synthMigrationStack } from '../helpers/migration-stack';
import { onlyResource, resourcesOfType, synthObject, SynthesizedStack, testStack, warningsOf } from '../helpers/test-stack';


function build(props: Partial<OrchestrationFactoryProps> = {}, plan: MigrationPlan = examplePlan()) {
  const { stack, resourceGroup } = testStack();
  const factory = new OrchestrationFactory(stack, 'orchestration', { resourceGroup, plan, ...props });
  return { stack, plan, factory, synth: synthObject(stack), json: Testing.synth(stack) };
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

  it('grants only one data-plane role: the factory reads the SQL credentials (the stack grants the Airflow identity its own)', () => {
    const { synth } = build();
    const grants = Object.values(resourcesOfType(synth, RoleAssignment.tfResourceType)).map((a) => ({
      role: a.role_definition_name,
      principal: a.principal_id,
      scope: String(a.scope).replace(/\.[A-Za-z0-9_]+\.id\}$/, '}'),
    }));
    expect(grants).toEqual(
      expect.arrayContaining([
        { role: 'Key Vault Secrets User', principal: expect.stringMatching(/identity\[0\]\.principal_id/), scope: '${azurerm_key_vault}' },
      ]),
    );
    expect(grants).toHaveLength(1);
  });

  it('warns about nothing with its secure defaults', () => {
    expect(warningsOf(build().stack)).toEqual([]);
  });

  it('uses an existing Key Vault instead of creating one, and locks a created one on request', () => {
    const existing = { id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-team', name: 'kv-team', vaultUri: 'https://kv-team.vault.azure.net/' };
    const withExisting = build({ keyVault: existing });
    expect(resourcesOfType(withExisting.synth, KeyVault.tfResourceType)).toEqual({});
    expect(withExisting.json).toHaveResourceWithProperties(DataFactoryLinkedServiceKeyVault, { key_vault_id: existing.id });
    const locked = build({ lock: { kind: 'CanNotDelete' } });
    expect(onlyResource(locked.synth, ManagementLock.tfResourceType)).toMatchObject({ lock_level: 'CanNotDelete' });
    const readOnly = build({ lock: { kind: 'ReadOnly', name: 'lock-vault-freeze' } });
    expect(onlyResource(readOnly.synth, ManagementLock.tfResourceType)).toMatchObject({ lock_level: 'ReadOnly', name: 'lock-vault-freeze' });
  });
});

describe('OrchestrationFactory props checked at construction', () => {
  it('refuses a Key Vault name Key Vault refuses, before the vault is made of it', () => {
    expect(() => build({ keyVaultName: 'kv--contoso-sql' })).toThrow(
      'test/orchestration: keyVaultName must be a Key Vault name: 3-24 letters, digits and hyphens, starting with a letter, not ending with a hyphen, without "--" (got "kv--contoso-sql")',
    );
    expect(() => build({ keyVaultName: Token.asString(ref('var.vault_name')) })).not.toThrow();
  });

  it('refuses keyVaultName beside keyVault: no vault is created to take the name', () => {
    const keyVault = { id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-team', name: 'kv-team', vaultUri: 'https://kv-team.vault.azure.net/' };
    expect(() => build({ keyVault, keyVaultName: 'kv-contoso-sql-7300' })).toThrow(
      'test/orchestration: keyVaultName names the Key Vault this construct creates, and with keyVault (kv-team) it creates none: leave one of them out',
    );
  });

  it('refuses a name prefix with "--": kv-<prefix>-xxxx and adf-<prefix> would be refused at deploy', () => {
    expect(() => build({ namePrefix: 'q3--sql' })).toThrow(
      'test/orchestration: namePrefix must be free of "--" (Key Vault and Data Factory names refuse consecutive hyphens) (got "q3--sql")',
    );
  });
});

const SUB = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-data-prod/providers';

/** Two source servers (one with a share, one with its own names), a target of each kind, the backup storage. */
function severalServers(sqlAccess: 'direct' | 'dataFactory', sharePath = '\\\\fs01\\backups\\erp') {
  return parseMigrationPlan({
    name: 'contoso-sql',
    location: 'westeurope',
    notifications: { emails: ['dba@contoso.com'] },
    airflow: { sqlAccess },
    sourceServers: [
      { name: 'erp-sql01', host: 'erp-sql01.corp.contoso.com', backupFileShare: { path: sharePath, connectionId: 'smb_fs01' } },
      { name: 'crm-sql02', host: 'crm-sql02.corp.contoso.com', connectionId: 'crm_login', connectionStringSecretName: 'crm-adf' },
    ],
    targetServers: [
      { name: 'mi-prod', kind: 'SqlMi', resourceId: `${SUB}/Microsoft.Sql/managedInstances/mi-contoso-prod` },
      { name: 'db-prod', kind: 'SqlDb', resourceId: `${SUB}/Microsoft.Sql/servers/sql-contoso-prod` },
      { name: 'vm-prod', kind: 'SqlVm', resourceId: `${SUB}/Microsoft.SqlVirtualMachine/sqlVirtualMachines/vm-contoso-prod` },
    ],
    backupStorage: { storageAccountResourceId: `${SUB}/Microsoft.Storage/storageAccounts/stcontosobackups`, connectionId: 'backup_storage_key' },
    databases: [
      { name: 'erp', source: { server: 'erp-sql01', database: 'Erp' }, target: { server: 'mi-prod' } },
      { name: 'erp_archive', source: { server: 'erp-sql01', database: 'ErpArchive' }, target: { server: 'vm-prod' } },
      { name: 'crm', source: { server: 'crm-sql02', database: 'Crm' }, target: { server: 'db-prod' } },
    ],
  }, 'several-servers.yaml (test)');
}

/** A map output's value (the synthesized JSON's type says string, as most outputs are). */
function mapOutput(synth: SynthesizedStack, name: string): Record<string, string> {
  return (synth.output?.[name]?.value ?? {}) as unknown as Record<string, string>;
}

describe('OrchestrationFactory output secrets_to_set', () => {
  const AS_CONNECTION = 'as an Airflow connection URI or JSON (docs/secrets.md)';
  const CONNECTION_STRING = 'with Encrypt=True;TrustServerCertificate=False (docs/secrets.md)';

  it('names every Key Vault secret of a plan with several servers, a share and a SqlVm target reached through Data Factory, with what each holds', () => {
    const output = build({}, severalServers('dataFactory')).synth.output?.orchestration_secrets_to_set;
    expect(output?.value).toEqual({
      'erp-sql01-connection-string':
        `SQL Server connection string of source server erp-sql01 (erp-sql01.corp.contoso.com) for Data Factory's linked service ls_sql_erp_sql01, ${CONNECTION_STRING}`,
      'airflow-connections-mssql-source-erp-sql01':
        `Airflow connection mssql_source_erp_sql01: the SQL login DMS and the DAG use on source server erp-sql01 (erp-sql01.corp.contoso.com), ${AS_CONNECTION}`,
      'airflow-connections-smb-fs01':
        `Airflow connection smb_fs01: the Windows login (DOMAIN\\user) and password DMS reads backup share \\\\fs01\\backups\\erp of source server erp-sql01 with, ${AS_CONNECTION}`,
      'crm-adf':
        `SQL Server connection string of source server crm-sql02 (crm-sql02.corp.contoso.com) for Data Factory's linked service ls_sql_crm_sql02, ${CONNECTION_STRING}`,
      'airflow-connections-crm-login':
        `Airflow connection crm_login: the SQL login DMS and the DAG use on source server crm-sql02 (crm-sql02.corp.contoso.com), ${AS_CONNECTION}`,
      'airflow-connections-mssql-target-mi-prod':
        `Airflow connection mssql_target_mi_prod: the login the DAG uses on SqlMi target mi-prod (host: its server's DNS name), ${AS_CONNECTION}`,
      'airflow-connections-mssql-target-db-prod':
        `Airflow connection mssql_target_db_prod: the login DMS and the DAG use on SqlDb target db-prod (host: its server's DNS name), ${AS_CONNECTION}`,
      'airflow-connections-mssql-target-vm-prod':
        `Airflow connection mssql_target_vm_prod: the login the DAG uses on SqlVm target vm-prod (host: its server's DNS name), ${AS_CONNECTION}`,
      'vm-prod-connection-string':
        `SQL Server connection string of SqlVm target vm-prod for Data Factory's SQL pipelines (sqlAccess: dataFactory), ${CONNECTION_STRING}`,
      'airflow-connections-backup-storage-key':
        `Airflow connection backup_storage_key: the access key of backup storage account stcontosobackups as its password (DMS stages backups there), ${AS_CONNECTION}`,
    });
  });

  it('carries names and descriptions only: not sensitive, no reference to anything deployed', () => {
    const output = build({}, severalServers('dataFactory')).synth.output?.orchestration_secrets_to_set;
    expect(output?.sensitive).toBeUndefined();
    expect(JSON.stringify(output?.value)).not.toMatch(/\$\{/);
  });

  it('writes a share path holding ${ or %{ so that Terraform reads it as it is, not as a template', () => {
    const output = mapOutput(build({}, severalServers('direct', '\\\\fs01\\${erp}%{x}')).synth, 'orchestration_secrets_to_set');
    expect(output['airflow-connections-smb-fs01']).toMatch(/^[^$%]*backup share \\\\fs01\\\$\$\{erp\}%%\{x\} of source server erp-sql01/);
  });

  it("leaves out a SqlVm target's connection string with sqlAccess direct (the workers reach it with its Airflow connection)", () => {
    const names = Object.keys(mapOutput(build({}, severalServers('direct')).synth, 'orchestration_secrets_to_set'));
    expect(names).toHaveLength(9);
    expect(names).not.toContain('vm-prod-connection-string');
  });

  it('names the secrets of the linked services it creates', () => {
    const { synth } = build({}, severalServers('direct'));
    const names = Object.keys(mapOutput(synth, 'orchestration_secrets_to_set'));
    const linked = Object.values(resourcesOfType(synth, DataFactoryLinkedServiceSqlServer.tfResourceType));
    expect(linked.map((service) => (service.key_vault_connection_string as { secret_name: string }).secret_name).sort()).toEqual(
      names.filter((name) => !name.startsWith(`${AIRFLOW_CONNECTIONS_PREFIX}-`)).sort(),
    );
  });

  it("names the connections under the prefix the stack gives Airflow's Key Vault secrets backend", () => {
    const { synth } = synthMigrationStack({ plan: examplePlanWithExternalHost() });
    const variables = mapOutput(synth, 'airflow_environment_variables');
    expect(JSON.parse(variables.AIRFLOW__SECRETS__BACKEND_KWARGS).connections_prefix).toBe(AIRFLOW_CONNECTIONS_PREFIX);
    expect(Object.keys(mapOutput(synth, 'orchestration_secrets_to_set')).sort()).toEqual([
      'airflow-connections-backup-storage-key',
      'airflow-connections-mssql-source-sql01',
      'airflow-connections-mssql-target-mi-prod',
      'airflow-connections-smb-fileserver01',
      'sql01-connection-string',
    ]);
  });
});

function examplePlanWithExternalHost(): MigrationPlan {
  const document = JSON.parse(JSON.stringify(examplePlan()));
  return parseMigrationPlan({ ...document, airflow: AIRFLOW_OF_HOST.external }, 'three-databases.yaml (external host)');
}
