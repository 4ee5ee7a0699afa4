import { DataFactory } from '@cdktf/provider-azurerm/lib/data-factory';
import { DataFactoryIntegrationRuntimeSelfHosted } from '@cdktf/provider-azurerm/lib/data-factory-integration-runtime-self-hosted';
import { DataFactoryLinkedServiceKeyVault } from '@cdktf/provider-azurerm/lib/data-factory-linked-service-key-vault';
import { DataFactoryLinkedServiceSqlServer } from '@cdktf/provider-azurerm/lib/data-factory-linked-service-sql-server';
import { KeyVault } from '@cdktf/provider-azurerm/lib/key-vault';
import { ManagementLock } from '@cdktf/provider-azurerm/lib/management-lock';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { ref, Testing, Token } from 'cdktf';
import { OrchestrationFactory, OrchestrationFactoryProps } from '../../lib/orchestration-factory/orchestration-factory';
import { examplePlan } from '../helpers/example-plan';
import { onlyResource, resourcesOfType, synthObject, testStack, warningsOf } from '../helpers/test-stack';


function build(props: Partial<OrchestrationFactoryProps> = {}) {
  const { stack, resourceGroup } = testStack();
  const plan = examplePlan();
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
