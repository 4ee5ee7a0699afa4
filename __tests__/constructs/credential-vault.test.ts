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
