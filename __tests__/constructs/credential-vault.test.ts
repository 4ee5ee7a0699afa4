import { ref, Token } from 'cdktf';
import { CredentialVault, CredentialVaultProps, grantReadSecrets } from '../../lib/orchestration-factory/credential-vault';
import { onlyLogicalId, onlyResource, reference, resourcesOfType, synthObject, testStack, warningsOf } from '../helpers/test-stack';
import { KeyVault, KeyVaultConfig } from '@cdktf/provider-azurerm/lib/key-vault';

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

describe('CredentialVault.grantReadSecrets', () => {
  const airflow = { principalId: '11111111-1111-1111-1111-111111111111', principalType: 'ServicePrincipal' } as const;

  function vaultConstruct() {
    const { stack, resourceGroup } = testStack();
    const construct = new CredentialVault(stack, 'Vault', {
      resourceGroup,
      vaultName: 'kv-contoso-sql',
      location: 'westeurope',
      tenantId: '00000000-0000-0000-0000-000000000000',
    });
    return { stack, construct };
  }

  it('assigns Key Vault Secrets User on the vault, and returns the assignment', () => {
    const { stack, construct } = vaultConstruct();
    const assignment = construct.grantReadSecrets(airflow);
    const synth = synthObject(stack);
    expect(onlyResource(synth, 'azurerm_role_assignment')).toEqual({
      scope: reference('azurerm_key_vault', onlyLogicalId(synth, 'azurerm_key_vault')),
      role_definition_name: 'Key Vault Secrets User',
      principal_id: airflow.principalId,
      principal_type: 'ServicePrincipal',
      description: `Reads the secrets of Key Vault ${reference('azurerm_key_vault', onlyLogicalId(synth, 'azurerm_key_vault'), 'name')} (database migration)`,
    });
    expect(assignment.node.path).toBe('test/Vault/ReadsSecrets');
  });

  it('takes the id and description of the options, so that two grants can coexist', () => {
    const { stack, construct } = vaultConstruct();
    construct.grantReadSecrets(airflow);
    construct.grantReadSecrets({ principalId: '22222222-2222-2222-2222-222222222222' }, { id: 'FactoryReads', description: 'the factory' });
    const assignments = Object.values(resourcesOfType(synthObject(stack), 'azurerm_role_assignment'));
    expect(assignments.map((each) => [each.principal_id, each.description === 'the factory']).sort()).toEqual([
      [airflow.principalId, false],
      ['22222222-2222-2222-2222-222222222222', true],
    ]);
  });

  it('refuses a grantee whose principal id is not a GUID', () => {
    const { construct } = vaultConstruct();
    expect(() => construct.grantReadSecrets({ principalId: 'airflow' })).toThrow('test/Vault: grantee.principalId must be a GUID');
  });

  describe('on a KeyVault of the stack: Key Vault Secrets User grants nothing on a vault of access policies', () => {
    const grantOn = (permissionModel: Partial<KeyVaultConfig>) => {
      const { stack, resourceGroup } = testStack();
      const teamVault = new KeyVault(stack, 'TeamVault', {
        name: 'kv-team',
        location: 'westeurope',
        resourceGroupName: resourceGroup.name,
        tenantId: '00000000-0000-0000-0000-000000000000',
        skuName: 'standard',
        ...permissionModel,
      });
      grantReadSecrets(stack, teamVault, airflow);
      return warningsOf(stack).filter((warning) => /Key Vault Secrets User/.test(warning));
    };

    it.each([
      ['unset (Azure and azurerm: false)', {}],
      ['rbacAuthorizationEnabled false', { rbacAuthorizationEnabled: false }],
    ])('warns when the permission model is %s', (_, permissionModel) => {
      expect(grantOn(permissionModel)).toEqual([
        expect.stringContaining(
          'Key Vault test/TeamVault does not set rbacAuthorizationEnabled to true, so it authorizes reads of its secrets by access policy, ' +
            'and Key Vault Secrets User lets the grantee read nothing there',
        ),
      ]);
    });

    it.each([
      ['rbacAuthorizationEnabled true', { rbacAuthorizationEnabled: true }],
      ['enableRbacAuthorization true (the older name)', { enableRbacAuthorization: true }],
      ['a value known at apply', { rbacAuthorizationEnabled: Token.asAny('${var.rbac}') }],
    ])('no warning with %s', (_, permissionModel) => {
      expect(grantOn(permissionModel)).toEqual([]);
    });
  });

  it('grants on a vault referred to (IKeyVault), in the scope given', () => {
    const { stack } = testStack();
    const teamVault = {
      id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-team/providers/Microsoft.KeyVault/vaults/kv-team',
      name: 'kv-team',
      vaultUri: 'https://kv-team.vault.azure.net/',
    };
    const assignment = grantReadSecrets(stack, teamVault, airflow, { id: 'AirflowReadsSecrets' });
    expect(assignment.node.path).toBe('test/AirflowReadsSecrets');
    expect(onlyResource(synthObject(stack), 'azurerm_role_assignment')).toMatchObject({
      scope: teamVault.id,
      role_definition_name: 'Key Vault Secrets User',
      principal_id: airflow.principalId,
      description: 'Reads the secrets of Key Vault kv-team (database migration)',
    });
  });
});
