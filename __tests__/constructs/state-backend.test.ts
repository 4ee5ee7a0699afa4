import { Testing } from 'cdktf';
import { DatabaseMigrationStack } from '../../lib/database-migration-stack';
import { StateBackend, StateBackendConfigurationError, stateBackendFromEnvironment } from '../../lib/state-backend';
import { examplePlan } from '../helpers/example-plan';

function terraformBlock(stateBackend?: StateBackend): Record<string, any> {
  const stack = new DatabaseMigrationStack(Testing.app(), 'contoso-sql', { plan: examplePlan(), stateBackend });
  return JSON.parse(Testing.synth(stack)).terraform;
}

describe('state backends', () => {
  it('keeps local state by default', () => {
    const terraform = terraformBlock();
    expect(terraform.backend).toEqual({ local: { path: 'terraform.contoso-sql.tfstate' } });
    expect(terraform.cloud).toBeUndefined();
  });

  it('writes a cloud block with the named Terraform Cloud workspace', () => {
    const terraform = terraformBlock({ type: 'terraformCloud', organization: 'acme', workspace: 'prod' });
    expect(terraform.cloud).toEqual({ organization: 'acme', workspaces: { name: 'prod' } });
    expect(terraform.backend).toBeUndefined();
  });

  it('keeps state in an Azure blob with Entra ID auth', () => {
    const terraform = terraformBlock({ type: 'azurerm', resourceGroupName: 'rg-tfstate', storageAccountName: 'sttfstate', containerName: 'tfstate' });
    expect(terraform.backend).toEqual({
      azurerm: {
        resource_group_name: 'rg-tfstate',
        storage_account_name: 'sttfstate',
        container_name: 'tfstate',
        key: 'contoso-sql.tfstate',
        use_azuread_auth: true,
      },
    });
  });
});

describe('stateBackendFromEnvironment', () => {
  it('selects Terraform Cloud from TFC_ORGANIZATION and TFC_WORKSPACE', () => {
    expect(stateBackendFromEnvironment({ TFC_ORGANIZATION: 'acme', TFC_WORKSPACE: 'prod' })).toEqual({
      type: 'terraformCloud',
      organization: 'acme',
      workspace: 'prod',
      hostname: undefined,
    });
  });

  it('selects the azurerm backend from its three variables', () => {
    expect(
      stateBackendFromEnvironment({
        AZURERM_BACKEND_RESOURCE_GROUP: 'rg',
        AZURERM_BACKEND_STORAGE_ACCOUNT: 'st',
        AZURERM_BACKEND_CONTAINER: 'tfstate',
        AZURERM_BACKEND_KEY: 'x.tfstate',
      }),
    ).toEqual({ type: 'azurerm', resourceGroupName: 'rg', storageAccountName: 'st', containerName: 'tfstate', key: 'x.tfstate' });
  });

  it('falls back to local state, ignoring blank values', () => {
    expect(stateBackendFromEnvironment({ TFC_ORGANIZATION: '  ', TFC_WORKSPACE: '' })).toEqual({ type: 'local' });
  });

  it.each([
    [{ TFC_ORGANIZATION: 'acme' }, /TFC_WORKSPACE not set/],
    [{ TFC_WORKSPACE: 'prod' }, /TFC_ORGANIZATION not set/],
    [{ TFC_ORGANIZATION: 'acme', TFC_WORKSPACE: 'prod env' }, /not a Terraform Cloud workspace name/],
    [{ AZURERM_BACKEND_CONTAINER: 'tfstate' }, /AZURERM_BACKEND_RESOURCE_GROUP, AZURERM_BACKEND_STORAGE_ACCOUNT not set/],
    [{ TFC_ORGANIZATION: 'acme', TFC_WORKSPACE: 'prod', AZURERM_BACKEND_CONTAINER: 'c' }, /choose one/],
    // An optional variable alone means that backend was meant: silently keeping local state would lose it.
    [{ TFC_HOSTNAME: 'tfe.acme.com' }, /Terraform Cloud: TFC_ORGANIZATION, TFC_WORKSPACE not set/],
    [{ AZURERM_BACKEND_KEY: 'prod.tfstate' }, /azurerm backend: AZURERM_BACKEND_RESOURCE_GROUP, AZURERM_BACKEND_STORAGE_ACCOUNT, AZURERM_BACKEND_CONTAINER not set/],
    [{ TFC_ORGANIZATION: 'acme', TFC_WORKSPACE: 'prod', AZURERM_BACKEND_KEY: 'prod.tfstate' }, /choose one/],
  ])('rejects %j', (env, message) => {
    expect(() => stateBackendFromEnvironment(env)).toThrow(StateBackendConfigurationError);
    expect(() => stateBackendFromEnvironment(env)).toThrow(message);
  });
});
