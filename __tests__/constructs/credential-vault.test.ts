import { ref, Token } from 'cdktf';
import { CredentialVault, CredentialVaultProps } from '../../lib/orchestration-factory/credential-vault';
import { onlyResource, synthObject, testStack } from '../helpers/test-stack';

function vault(props: Partial<CredentialVaultProps>) {
  const { stack, resourceGroup } = testStack();
  new CredentialVault(stack, 'Vault', {
    resourceGroup,
    vaultName: 'kv-contoso-sql',
    location: 'westeurope',
    tenantId: '00000000-0000-0000-0000-000000000000',
    ...props,
  });
  return onlyResource(synthObject(stack), 'azurerm_key_vault');
}

describe('CredentialVault network rules', () => {
  it('lets in only the allowed ranges (and trusted Azure services) once the default action is Deny', () => {
    expect(vault({ networkDefaultAction: 'Deny', allowedIpRanges: ['203.0.113.0/24'] }).network_acls).toEqual({
      bypass: 'AzureServices',
      default_action: 'Deny',
      ip_rules: ['203.0.113.0/24'],
    });
  });

  it.each([undefined, 'Allow'] as const)('refuses allowed ranges under the default action %s, where they would restrict nothing', (networkDefaultAction) => {
    expect(() => vault({ networkDefaultAction, allowedIpRanges: ['203.0.113.0/24'] })).toThrow(
      "allowedIpRanges restricts nothing while networkDefaultAction is 'Allow' (the default): set networkDefaultAction: 'Deny' to let in only those ranges and trusted Azure services",
    );
    expect(vault({ networkDefaultAction, allowedIpRanges: [] }).network_acls).toMatchObject({ default_action: 'Allow' });
  });
});

describe('CredentialVault props checked at construction', () => {
  const rule = 'a Key Vault name: 3-24 letters, digits and hyphens, starting with a letter, not ending with a hyphen, without "--"';

  it.each(['kv', '1kv-contoso', 'kv--contoso', 'kv-contoso-', 'kv_contoso', `kv-${'a'.repeat(22)}`])('refuses the vault name %j, which Key Vault refuses', (vaultName) => {
    expect(() => vault({ vaultName })).toThrow(`test/Vault: vaultName must be ${rule} (got "${vaultName}")`);
  });

  it('takes the names Key Vault takes, and a reference', () => {
    expect(vault({ vaultName: 'Kv-1' }).name).toBe('Kv-1');
    expect(vault({ vaultName: `k${'v'.repeat(23)}` }).name).toHaveLength(24);
    expect(() => vault({ vaultName: Token.asString(ref('var.vault_name')) })).not.toThrow();
  });

  it('refuses a tenant id that is not a GUID, and takes a reference', () => {
    expect(() => vault({ tenantId: 'contoso.onmicrosoft.com' })).toThrow(
      'test/Vault: tenantId must be a GUID such as 00000000-0000-0000-0000-000000000000 (got "contoso.onmicrosoft.com")',
    );
    expect(() => vault({ tenantId: Token.asString(ref('data.azurerm_client_config.current.tenant_id')) })).not.toThrow();
  });
});
