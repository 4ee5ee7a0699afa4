import { tmpdir } from 'node:os';
import { findPackageRoot } from '../../lib/private/package-root';
import { TerraformCloudStateBackend } from '../../lib/state-backend';
import { AIRFLOW_OF_HOST, examplePlanWith, synthMigrationStack } from '../helpers/migration-stack';
import { SynthesizedStack, warningsOf } from '../helpers/test-stack';
import { synthReleaseStack } from '../helpers/release-stack';
import { Testing } from 'cdktf';
import { DatabaseMigrationStack } from '../../lib/database-migration-stack';
import { restoreEnvironmentAfterEach } from '../helpers/environment';

// Terraform Cloud's remote runs get only the uploaded folder and Terraform: no Node.js, no Azure
// CLI, nothing from the machine that synthesized (HashiCorp support, "How to install npm and other
// software in the HCP Terraform runtime environment": runs as tfc-user without sudo; bake tools into
// an agent image).
const cloud: TerraformCloudStateBackend = { type: 'terraformCloud', organization: 'acme', workspace: 'prod' };
const HOSTS = ['kubernetes', 'dataFactory', 'fabric', 'external'] as const;

/** The default plan's stacks in Terraform Cloud with kubelogin mode spn, synthesized once for the warning and the exec args. */
let spnStacks: ReturnType<typeof synthMigrationStack> | undefined;
const withSpnLogin = () => (spnStacks ??= synthMigrationStack({ stateBackend: cloud, kubeloginMode: 'spn' }));

describe('stacks run by Terraform Cloud', () => {
  // One stack per host, read by the tests below (none changes it).
  const stacks = new Map<(typeof HOSTS)[number], ReturnType<typeof synthMigrationStack>>();
  const cloudStack = (host: (typeof HOSTS)[number]) => {
    if (!stacks.has(host)) stacks.set(host, synthMigrationStack({ plan: examplePlanWith(AIRFLOW_OF_HOST[host]), stateBackend: cloud }));
    return stacks.get(host)!;
  };

  it.each(HOSTS)('%s: no path of the synthesizing machine reaches the Terraform JSON', (host) => {
    const { synth, release } = cloudStack(host);
    const text = JSON.stringify([synth, release ?? {}]);
    for (const local of [process.cwd(), findPackageRoot(), tmpdir()]) expect(text).not.toContain(local);
  });

  it.each(HOSTS)('%s: a local-exec step only where the host uploads through an API Terraform has no provider for', (host) => {
    const { synth, release } = cloudStack(host);
    const provisioners = JSON.stringify([synth, release ?? {}]).match(/"local-exec"/g) ?? [];
    expect(provisioners).toHaveLength(host === 'fabric' ? 1 : 0);
  });

  it("fabric: warns that the workspace must run where Node.js is (its DAG upload is a local-exec step)", () => {
    const { stack } = cloudStack('fabric');
    expect(warningsOf(stack)).toContainEqual(
      expect.stringMatching(/Node\.js 20.*Terraform Cloud workspace prod execution mode Local or an agent/),
    );
  });

  it('kubernetes: warns that the second workspace must run where kubelogin is (the kubernetes and helm providers run it)', () => {
    const { stack } = cloudStack('kubernetes');
    expect(warningsOf(stack)).toContainEqual(
      expect.stringMatching(
        /kubelogin \(login mode azurecli, which needs the Azure CLI logged in\).*Terraform Cloud workspace prod-airflow execution mode Local or an agent whose image has it/,
      ),
    );
  });

  it('kubernetes with kubelogin mode spn: the warning names the mode, and no Azure CLI', () => {
    const { stack } = withSpnLogin();
    const warnings = warningsOf(stack).filter((warning) => /kubelogin/.test(warning));
    expect(warnings).toEqual([expect.stringContaining('kubelogin (login mode spn), which')]);
  });

  it.each(['dataFactory', 'external'] as const)('%s: no such warning (nothing runs outside Terraform)', (host) => {
    const { stack } = cloudStack(host);
    expect(warningsOf(stack).filter((warning) => /Terraform Cloud/.test(warning))).toEqual([]);
  });

  it.each(['fabric', 'kubernetes'] as const)('%s on local state: no Terraform Cloud warning', (host) => {
    // Read at construction, unsynthesized: the same stack in Terraform Cloud warns there already.
    const tfcWarnings = (stateBackend?: TerraformCloudStateBackend) =>
      warningsOf(new DatabaseMigrationStack(Testing.app(), 'contoso-sql', { plan: examplePlanWith(AIRFLOW_OF_HOST[host]), stateBackend })).filter((warning) =>
        /Terraform Cloud/.test(warning),
      );
    expect(tfcWarnings(cloud)).toHaveLength(1);
    expect(tfcWarnings()).toEqual([]);
  });
});

describe("the second stack reads the first's outputs from its Terraform Cloud workspace", () => {
  // terraform_remote_state of backend "remote" (cdktf's CloudBackend.getRemoteStateDataSource): it works
  // in a remote run only when the first workspace shares its state with the second (docs/terraform-cloud.md).
  it.each([
    [undefined, {}],
    ['tfe.acme.com', { hostname: 'tfe.acme.com' }],
  ])('hostname %s', (hostname, expected) => {
    const release = synthReleaseStack({ stateBackend: { ...cloud, hostname } });
    expect((release.terraform as Record<string, unknown>).cloud).toEqual({ organization: 'acme', workspaces: { name: 'prod-airflow' }, ...expected });
    const remoteStates = Object.values((release.data as Record<string, Record<string, any>>).terraform_remote_state);
    expect(remoteStates).toEqual([{ backend: 'remote', config: { organization: 'acme', workspaces: { name: 'prod' }, ...expected } }]);
  });
});

describe('TF_WORKSPACE beside the two cloud blocks', () => {
  // Terraform 1.11.4, offline: a cloud block naming prod-airflow with TF_WORKSPACE=prod fails init with
  // 'Specified workspace "name" conflicts with TF_WORKSPACE environment variable'.
  restoreEnvironmentAfterEach('TF_WORKSPACE');

  it("TF_WORKSPACE=prod stops the synth of the Kubernetes host's second stack: one of the inits would fail", () => {
    process.env.TF_WORKSPACE = 'prod';
    expect(() => synthMigrationStack({ stateBackend: cloud })).toThrow(
      'TF_WORKSPACE is set ("prod"), and terraform init refuses a cloud block that names another workspace than TF_WORKSPACE: ' +
        "this stack's names prod-airflow, the first stack's prod, so one of them would fail; unset TF_WORKSPACE",
    );
  });

  // A stateBackend given in code, not by TFC_* (which stateBackendFromEnvironment checks): the first stack's cloud block is compared too.
  it.each([
    ['one stack (Data Factory host)', AIRFLOW_OF_HOST.dataFactory],
    ['two stacks (Kubernetes host)', AIRFLOW_OF_HOST.kubernetes],
  ])('%s: TF_WORKSPACE=prod-airflow, another workspace than the cloud block of the first stack, stops the synth', (_, airflow) => {
    process.env.TF_WORKSPACE = 'prod-airflow';
    expect(() => synthMigrationStack({ plan: examplePlanWith(airflow), stateBackend: cloud })).toThrow(
      'TF_WORKSPACE is "prod-airflow", and its cloud block names the workspace prod: terraform init refuses a cloud block ' +
        'that names another workspace than TF_WORKSPACE; unset TF_WORKSPACE',
    );
  });

  it('TF_WORKSPACE=prod passes where there is one stack, and with the azurerm backend', () => {
    process.env.TF_WORKSPACE = 'prod';
    expect(synthMigrationStack({ plan: examplePlanWith(AIRFLOW_OF_HOST.dataFactory), stateBackend: cloud }).release).toBeUndefined();
    const azurerm = { type: 'azurerm', resourceGroupName: 'rg-tfstate', storageAccountName: 'sttfstate', containerName: 'tfstate' } as const;
    expect(synthMigrationStack({ stateBackend: azurerm }).release).toBeDefined();
  });
});

describe('kubelogin in CI signs in with the same ARM_* variables as the azurerm provider', () => {
  // kubelogin reads ARM_CLIENT_ID, ARM_CLIENT_SECRET, ARM_TENANT_ID only with --use-azurerm-env-vars;
  // without it, spn reads AAD_SERVICE_PRINCIPAL_* or AZURE_* (Azure/kubelogin
  // pkg/internal/token/options.go, UpdateFromEnv; docs/book/src/cli/get-token.md).
  const execArgs = (release: SynthesizedStack): string[] => {
    const provider = release.provider as Record<string, any[]>;
    expect(provider.helm[0].kubernetes.exec.args).toEqual(provider.kubernetes[0].exec[0].args);
    return provider.kubernetes[0].exec[0].args;
  };

  it('spn: --use-azurerm-env-vars', () => {
    expect(execArgs(withSpnLogin().release!)).toEqual(['get-token', '--login', 'spn', '--server-id', expect.any(String), '--use-azurerm-env-vars']);
  });

  it('azurecli: the CLI login, no variables', () => {
    expect(execArgs(synthReleaseStack({ kubeloginMode: 'azurecli', stateBackend: cloud }))).not.toContain('--use-azurerm-env-vars');
  });
});
