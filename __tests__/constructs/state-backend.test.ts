import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { Testing } from 'cdktf';
import { DatabaseMigrationStack } from '../../lib/database-migration-stack';
import { StateBackend, StateBackendConfigurationError, stateBackendFromEnvironment } from '../../lib/state-backend';
import { examplePlan } from '../helpers/example-plan';
import { synthObject, SynthesizedStack, warningsOf } from '../helpers/test-stack';
import { synthReleaseStack } from '../helpers/release-stack';
import { restoreEnvironmentAfterEach } from '../helpers/environment';

/** The `terraform` block of the synthesized first stack of the default plan (the Kubernetes host's, which has a release stack too) with this backend. */
function terraformBlock(stateBackend?: StateBackend): Record<string, any> {
  const stack = new DatabaseMigrationStack(Testing.app(), 'contoso-sql', { plan: examplePlan(), stateBackend });
  return synthObject(stack).terraform!;
}


const AZURERM = { AZURERM_BACKEND_RESOURCE_GROUP: 'rg-tfstate', AZURERM_BACKEND_STORAGE_ACCOUNT: 'sttfstate', AZURERM_BACKEND_CONTAINER: 'tfstate' };
describe('state backends', () => {
  it('writes a cloud block with the named Terraform Cloud workspace', () => {
    const terraform = terraformBlock({ type: 'terraformCloud', organization: 'acme', workspace: 'prod' });
    expect(terraform.cloud).toEqual({ organization: 'acme', workspaces: { name: 'prod' } });
    expect(terraform.backend).toBeUndefined();
  });

  it.each(['prod env', 'prod.eu', '', 'w'.repeat(91)])('refuses the Terraform Cloud workspace %j, as it refuses TFC_WORKSPACE', (workspace) => {
    expect(() => terraformBlock({ type: 'terraformCloud', organization: 'acme', workspace })).toThrow(
      `contoso-sql: stateBackend.workspace must be a Terraform Cloud workspace name: letters, digits, - and _, at most 90 characters (got "${workspace}")`,
    );
  });

  it.each(['acme corp', 'acme/prod', ' '])('refuses the Terraform Cloud organization %j, as it refuses TFC_ORGANIZATION (terraform init would refuse it)', (organization) => {
    expect(() => terraformBlock({ type: 'terraformCloud', organization, workspace: 'prod' })).toThrow(
      `contoso-sql: stateBackend.organization must be a Terraform Cloud organization name: no white space or slash ` +
        `(terraform init refuses it: "invalid value for organization") (got "${organization}")`,
    );
  });

  it.each(['acme', 'acme-corp_2', 'acme.eu'])('writes the Terraform Cloud organization %j', (organization) => {
    expect(terraformBlock({ type: 'terraformCloud', organization, workspace: 'prod' }).cloud).toEqual({ organization, workspaces: { name: 'prod' } });
  });

  it.each([
    ['https://tfe.acme.com', ' (here tfe.acme.com)'],
    ['tfe.acme.com/', ''],
  ])('refuses the Terraform Cloud hostname %j, as it refuses TFC_HOSTNAME (Terraform would refuse it only at init)', (hostname, instead) => {
    expect(() => terraformBlock({ type: 'terraformCloud', organization: 'acme', workspace: 'prod', hostname })).toThrow(
      `contoso-sql: stateBackend.hostname "${hostname}" is not a host name: Terraform wants the host of Terraform Enterprise alone, without scheme or path${instead}`,
    );
  });

  it('writes a Terraform Enterprise host name, with its port, into the cloud block', () => {
    const terraform = terraformBlock({ type: 'terraformCloud', organization: 'acme', workspace: 'prod', hostname: 'tfe.acme.com:8443' });
    expect(terraform.cloud).toEqual({ organization: 'acme', workspaces: { name: 'prod' }, hostname: 'tfe.acme.com:8443' });
  });

  it.each([
    [{}, "stateBackend.type must be 'local', 'terraformCloud' or 'azurerm' (got undefined)"],
    [{ type: 'blob' }, `stateBackend.type must be 'local', 'terraformCloud' or 'azurerm' (got "blob")`],
    [{ type: 'toString' }, `stateBackend.type must be 'local', 'terraformCloud' or 'azurerm' (got "toString")`],
    ['local', "stateBackend.type must be 'local', 'terraformCloud' or 'azurerm' (got a string)"],
    [{ type: 'terraformCloud', workspace: 'prod' }, "a stateBackend of type 'terraformCloud' is missing stateBackend.organization"],
    [{ type: 'azurerm' }, "a stateBackend of type 'azurerm' is missing stateBackend.resourceGroupName, stateBackend.storageAccountName, stateBackend.containerName"],
    [{ type: 'terraformCloud', organization: 42, workspace: 'prod' }, 'stateBackend.organization must be a string (got the number 42)'],
    [{ type: 'azurerm', resourceGroupName: 42, storageAccountName: 'sttfstate', containerName: 'tfstate', key: ['a.tfstate'] }, 'stateBackend.resourceGroupName must be a string (got the number 42); stateBackend.key must be a string (got a list)'],
    [{ type: 'local', path: true }, 'stateBackend.path must be a string (got the boolean true)'],
  ])('from plain JavaScript, %j is refused naming what is wrong, not a TypeError or a backend without its names', (stateBackend, message) => {
    expect(() => terraformBlock(stateBackend as unknown as StateBackend)).toThrow(new Error(`contoso-sql: ${message}`));
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

describe('local state', () => {
  // The app runs in a project folder of its own and synthesizes into cdktf.out there, as `npm run synth` does.
  let project: string;
  let previous: string;
  beforeEach(() => {
    previous = process.cwd();
    project = realpathSync(mkdtempSync(path.join(tmpdir(), 'local-state-')));
    process.chdir(project);
  });
  afterEach(() => {
    process.chdir(previous);
    rmSync(project, { recursive: true, force: true });
  });

  /** The two stacks, each synthesized when a test first reads it; the state warnings, left at construction. */
  function synth(stateBackend?: StateBackend): { first: any; release: any; stateWarnings: string[] } {
    const stack = new DatabaseMigrationStack(Testing.app({ outdir: 'cdktf.out' }), 'contoso-sql', { plan: examplePlan(), stateBackend });
    const [release] = stack.releaseStacks;
    const stateWarnings = [stack, release].flatMap((s) => warningsOf(s)).filter((w) => /state/.test(w));
    let first: SynthesizedStack | undefined;
    let second: SynthesizedStack | undefined;
    return {
      get first() {
        return (first ??= synthObject(stack));
      },
      get release() {
        return (second ??= synthObject(release));
      },
      stateWarnings,
    };
  }
  const stateFile = (stack: string) => path.join('cdktf.out', 'stacks', stack, `terraform.${stack}.tfstate`);
  const remoteStatePath = (release: any) => (Object.values(release.data.terraform_remote_state)[0] as any).config.path;

  it('is the project root by default, outside the build output the cdktf CLI prunes, named from the stack folder where Terraform runs', () => {
    const { first, release, stateWarnings } = synth();
    expect(first.terraform.backend).toEqual({ local: { path: '../../../terraform.contoso-sql.tfstate' } });
    expect(path.resolve('cdktf.out/stacks/contoso-sql', first.terraform.backend.local.path)).toBe(path.join(project, 'terraform.contoso-sql.tfstate'));
    expect(release.terraform.backend).toEqual({ local: { path: '../../../terraform.contoso-sql-airflow.tfstate' } });
    expect(remoteStatePath(release)).toBe('../../../terraform.contoso-sql.tfstate');
    expect(stateWarnings).toEqual([]);
  });

  it('stays in the stack folder where an earlier version put it, with a warning saying how to move it', () => {
    mkdirSync(path.dirname(stateFile('contoso-sql')), { recursive: true });
    writeFileSync(stateFile('contoso-sql'), '{}');
    const { first, release, stateWarnings } = synth();
    expect(first.terraform.backend).toEqual({ local: { path: 'terraform.contoso-sql.tfstate' } });
    expect(remoteStatePath(release)).toBe('../contoso-sql/terraform.contoso-sql.tfstate');
    // The release stack's state is in the project root (none in its folder): only the first stack is warned about.
    expect(release.terraform.backend).toEqual({ local: { path: '../../../terraform.contoso-sql-airflow.tfstate' } });
    expect(stateWarnings).toEqual([
      expect.stringContaining('contoso-sql: its local state is cdktf.out/stacks/contoso-sql/terraform.contoso-sql.tfstate, in the build output'),
    ]);
    expect(stateWarnings[0]).toContain('"mv cdktf.out/stacks/contoso-sql/terraform.contoso-sql.tfstate* ."');
    expect(stateWarnings[0]).toContain('"terraform init -migrate-state" in cdktf.out/stacks/contoso-sql');
  });

  it('once moved to the project root, is read there, with a warning while a copy is left in the stack folder', () => {
    mkdirSync(path.dirname(stateFile('contoso-sql-airflow')), { recursive: true });
    writeFileSync(stateFile('contoso-sql-airflow'), '{}');
    writeFileSync('terraform.contoso-sql-airflow.tfstate', '{}');
    const { release, stateWarnings } = synth();
    expect(release.terraform.backend).toEqual({ local: { path: '../../../terraform.contoso-sql-airflow.tfstate' } });
    expect(stateWarnings).toEqual([expect.stringMatching(/^contoso-sql-airflow: local state in both terraform.contoso-sql-airflow.tfstate \(used\) and cdktf.out\/stacks\/contoso-sql-airflow\/terraform.contoso-sql-airflow.tfstate \(not used/)]);
  });

  it('synthesized into a staging folder (as main.ts does), is named from the output folder its context names: a state still in a stack folder there is kept', () => {
    mkdirSync(path.dirname(stateFile('contoso-sql')), { recursive: true });
    writeFileSync(stateFile('contoso-sql'), '{}');
    // A staging folder one level deeper than the output folder: a path named from it would gain a "../".
    const app = Testing.app({ outdir: path.join('cdktf.out', '.synth-test'), context: { '@platform/azure-db-migration:outputFolder': 'cdktf.out' } });
    const stack = new DatabaseMigrationStack(app, 'contoso-sql', { plan: examplePlan() });
    const [release] = stack.releaseStacks;
    expect(synthObject(stack).terraform!.backend).toEqual({ local: { path: 'terraform.contoso-sql.tfstate' } });
    expect(synthObject(release).terraform!.backend).toEqual({ local: { path: '../../../terraform.contoso-sql-airflow.tfstate' } });
    expect(warningsOf(stack)).toContainEqual(expect.stringContaining('its local state is cdktf.out/stacks/contoso-sql/terraform.contoso-sql.tfstate, in the build output'));
  });

  it('a path given is kept; one that stays in the build output draws a warning', () => {
    expect(synth({ type: 'local', path: '../../../state/prod.tfstate' }).stateWarnings).toEqual([]);
    expect(synth({ type: 'local', path: path.join(project, 'prod.tfstate') }).stateWarnings).toEqual([]);
    const inside = synth({ type: 'local', path: 'state/prod.tfstate' });
    expect(inside.first.terraform.backend).toEqual({ local: { path: 'state/prod.tfstate' } });
    expect(inside.stateWarnings).toEqual([
      expect.stringContaining('contoso-sql: stateBackend.path "state/prod.tfstate" is relative to the stack\'s folder, so the state is cdktf.out/stacks/contoso-sql/state/prod.tfstate'),
      expect.stringContaining('contoso-sql-airflow: stateBackend.path "state/prod-airflow.tfstate"'),
    ]);
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

  it('takes TFC_HOSTNAME as a host name, with a port or not', () => {
    for (const hostname of ['tfe.acme.com', 'tfe.acme.com:8443']) {
      expect(stateBackendFromEnvironment({ TFC_ORGANIZATION: 'acme', TFC_WORKSPACE: 'prod', TFC_HOSTNAME: hostname })).toMatchObject({ hostname });
    }
  });

  it.each([
    ['https://app.terraform.io', ' (here app.terraform.io)'],
    ['https://tfe.acme.com:8443/app', ' (here tfe.acme.com:8443)'],
    ['tfe.acme.com/', ''],
  ])('refuses TFC_HOSTNAME %s, which Terraform refuses only at init, naming the host it holds', (hostname, instead) => {
    const env = { TFC_ORGANIZATION: 'acme', TFC_WORKSPACE: 'prod', TFC_HOSTNAME: hostname };
    expect(() => stateBackendFromEnvironment(env)).toThrow(StateBackendConfigurationError);
    expect(() => stateBackendFromEnvironment(env)).toThrow(
      `TFC_HOSTNAME "${hostname}" is not a host name: Terraform wants the host of Terraform Enterprise alone, without scheme or path${instead}`,
    );
  });

  it('refuses a TF_WORKSPACE naming another workspace, which terraform init refuses beside a named cloud workspace', () => {
    const env = { TFC_ORGANIZATION: 'acme', TFC_WORKSPACE: 'prod', TF_WORKSPACE: 'staging' };
    expect(() => stateBackendFromEnvironment(env)).toThrow(StateBackendConfigurationError);
    expect(() => stateBackendFromEnvironment(env)).toThrow(
      'TF_WORKSPACE "staging" is not TFC_WORKSPACE "prod": terraform init refuses a cloud block that names another workspace than TF_WORKSPACE; unset TF_WORKSPACE',
    );
  });

  it('takes a TF_WORKSPACE equal to TFC_WORKSPACE, and ignores it for the other backends', () => {
    expect(stateBackendFromEnvironment({ TFC_ORGANIZATION: 'acme', TFC_WORKSPACE: 'prod', TF_WORKSPACE: 'prod' })).toMatchObject({ workspace: 'prod' });
    expect(stateBackendFromEnvironment({ TF_WORKSPACE: 'staging' })).toEqual({ type: 'local' });
  });

  it('selects the azurerm backend from its three variables', () => {
    expect(
      stateBackendFromEnvironment({
        AZURERM_BACKEND_RESOURCE_GROUP: 'rg',
        AZURERM_BACKEND_STORAGE_ACCOUNT: 'sttfstate',
        AZURERM_BACKEND_CONTAINER: 'tfstate',
        AZURERM_BACKEND_KEY: 'x.tfstate',
      }),
    ).toEqual({ type: 'azurerm', resourceGroupName: 'rg', storageAccountName: 'sttfstate', containerName: 'tfstate', key: 'x.tfstate' });
  });

  it('falls back to local state, ignoring blank values', () => {
    expect(stateBackendFromEnvironment({ TFC_ORGANIZATION: '  ', TFC_WORKSPACE: '' })).toEqual({ type: 'local' });
  });

  it.each([
    [{ TFC_ORGANIZATION: 'acme' }, /TFC_WORKSPACE not set/],
    [{ TFC_WORKSPACE: 'prod' }, /TFC_ORGANIZATION not set/],
    [{ TFC_ORGANIZATION: 'acme', TFC_WORKSPACE: 'prod env' }, /not a Terraform Cloud workspace name/],
    [
      { TFC_ORGANIZATION: 'acme corp', TFC_WORKSPACE: 'prod' },
      'TFC_ORGANIZATION "acme corp" is not a Terraform Cloud organization name: no white space or slash (terraform init refuses it: "invalid value for organization")',
    ],
    [{ AZURERM_BACKEND_CONTAINER: 'tfstate' }, /AZURERM_BACKEND_RESOURCE_GROUP, AZURERM_BACKEND_STORAGE_ACCOUNT not set/],
    [{ TFC_ORGANIZATION: 'acme', TFC_WORKSPACE: 'prod', AZURERM_BACKEND_CONTAINER: 'c' }, /choose one/],
    // An optional variable alone means that backend was meant: silently keeping local state would lose it.
    [{ TFC_HOSTNAME: 'tfe.acme.com' }, /Terraform Cloud: TFC_ORGANIZATION, TFC_WORKSPACE not set/],
    [{ AZURERM_BACKEND_KEY: 'prod.tfstate' }, /azurerm backend: AZURERM_BACKEND_RESOURCE_GROUP, AZURERM_BACKEND_STORAGE_ACCOUNT, AZURERM_BACKEND_CONTAINER not set/],
    [{ TFC_ORGANIZATION: 'acme', TFC_WORKSPACE: 'prod', AZURERM_BACKEND_KEY: 'prod.tfstate' }, /choose one/],
    // The variable the user set is named, as TFC_WORKSPACE is (not the stack prop it becomes).
    [
      { ...AZURERM, AZURERM_BACKEND_STORAGE_ACCOUNT: 'St_TfState' },
      'AZURERM_BACKEND_STORAGE_ACCOUNT "St_TfState" is not a storage account name: 3-24 lowercase letters and digits',
    ],
    [{ ...AZURERM, AZURERM_BACKEND_CONTAINER: 'tf--state' }, 'AZURERM_BACKEND_CONTAINER "tf--state" is not a blob container name: 3-63'],
    [{ ...AZURERM, AZURERM_BACKEND_RESOURCE_GROUP: 'rg-state.' }, 'AZURERM_BACKEND_RESOURCE_GROUP "rg-state." is not a resource group name: 1-90'],
  ])('rejects %j', (env, message) => {
    expect(() => stateBackendFromEnvironment(env)).toThrow(StateBackendConfigurationError);
    expect(() => stateBackendFromEnvironment(env)).toThrow(message);
  });
});

describe('TF_WORKSPACE beside the local and azurerm backends', () => {
  restoreEnvironmentAfterEach('TF_WORKSPACE');
  const azurerm: StateBackend = { type: 'azurerm', resourceGroupName: 'rg-tfstate', storageAccountName: 'sttfstate', containerName: 'tfstate' };

  it("local: refuses one other than default, whose state Terraform (1.11.4, tried) keeps in the stack's folder, not at the backend's path", () => {
    process.env.TF_WORKSPACE = 'staging';
    expect(() => terraformBlock()).toThrow(
      'contoso-sql: TF_WORKSPACE is "staging", so Terraform would keep this stack\'s local state in terraform.tfstate.d/staging/ of its folder ' +
        '(cdktf.out/stacks/contoso-sql), not at the backend\'s path, and the cdktf CLI deletes that folder: unset TF_WORKSPACE',
    );
  });

  it("azurerm: takes one, with the Kubernetes host too: cdktf's terraform_remote_state reads the first stack's state of the same workspace", () => {
    process.env.TF_WORKSPACE = 'staging';
    const release = synthReleaseStack({ stateBackend: azurerm });
    expect(Object.values((release.data as Record<string, Record<string, any>>).terraform_remote_state)).toEqual([
      expect.objectContaining({ backend: 'azurerm', workspace: '${terraform.workspace}' }),
    ]);
  });

  it('local: takes TF_WORKSPACE=default, the workspace whose state is at the path', () => {
    process.env.TF_WORKSPACE = 'default';
    expect(terraformBlock().backend.local).toBeDefined();
  });
});
