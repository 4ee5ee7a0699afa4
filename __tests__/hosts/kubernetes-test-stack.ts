import { TerraformStack } from 'cdktf';
import { KubernetesAirflowHost, KubernetesAirflowHostProps } from '../../lib/hosts/kubernetes/kubernetes-host';
import { loadDagBundle } from '../../lib/private/dag-bundle-loader';
import { renderMigrationPlan } from '../../lib/plan';
import { examplePlan } from '../helpers/example-plan';
import { mergedStacks, synthStacks, SynthesizedStack, testStack } from '../helpers/test-stack';

const SUBSCRIPTION = '/subscriptions/00000000-0000-0000-0000-000000000000';
export const KEY_VAULT = {
  id: `${SUBSCRIPTION}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/kv-test-1a2b`,
  name: 'kv-test-1a2b',
  vaultUri: 'https://kv-test-1a2b.vault.azure.net/',
};
export const WORKSPACE = {
  id: `${SUBSCRIPTION}/resourceGroups/rg-test/providers/Microsoft.OperationalInsights/workspaces/log-test`,
  name: 'log-test',
};
export const ACTION_GROUP_ID = `${SUBSCRIPTION}/resourceGroups/rg-test/providers/Microsoft.Insights/actionGroups/ag-test`;

/** The environment a stack hands every host (ids and endpoints; the webhook's variables included on purpose). */
export const ENVIRONMENT = {
  AZURE_CLIENT_ID: '11111111-2222-3333-4444-555555555555',
  AZURE_TENANT_ID: '66666666-7777-8888-9999-000000000000',
  AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000000',
  MIGRATION_DMS_RESOURCE_ID: `${SUBSCRIPTION}/resourceGroups/rg-test/providers/Microsoft.DataMigration/sqlMigrationServices/dms-test`,
  AIRFLOW__SECRETS__BACKEND: 'airflow.providers.microsoft.azure.secrets.key_vault.AzureKeyVaultBackend',
  AIRFLOW__SECRETS__BACKEND_KWARGS: `{"connections_prefix": "airflow-connections", "vault_url": "${KEY_VAULT.vaultUri}"}`,
};

export const POOLS = [
  { name: 'dms_migrations', slots: 10, description: 'DMS migrations in flight on the migration service' },
  { name: 'source_sql01', slots: 2, description: 'Migrations in flight on source server sql01' },
];

/**
 * A stack holding only the Kubernetes host (with the example plan's bundle) and its release stack.
 * `synth` is both stacks side by side; `hostStack`/`releaseStack` each on its own.
 */
export function kubernetesHostStack(props: Partial<KubernetesAirflowHostProps> = {}): {
  stack: TerraformStack;
  release: TerraformStack;
  host: KubernetesAirflowHost;
  synth: SynthesizedStack;
  hostStack: SynthesizedStack;
  releaseStack: SynthesizedStack;
} {
  const { app, stack, resourceGroup } = testStack();
  const release = new TerraformStack(app, 'test-airflow');
  const { releaseStack: given, ...rest } = props as Omit<Partial<KubernetesAirflowHostProps>, 'releaseStack'> & { releaseStack?: unknown };
  const host = new KubernetesAirflowHost(stack, 'airflow', {
    releaseStack: given === 'own' ? stack : release,
    resourceGroup,
    namePrefix: 'contoso-sql',
    location: 'westeurope',
    tags: { owner: 'platform-team' },
    bundle: loadDagBundle(renderMigrationPlan(examplePlan())),
    environment: ENVIRONMENT,
    keyVault: KEY_VAULT,
    pools: POOLS,
    logAnalyticsWorkspace: WORKSPACE,
    actionGroupId: ACTION_GROUP_ID,
    ...rest,
  });
  const [hostStack, releaseStack] = synthStacks(stack, release);
  return { stack, release, host, synth: mergedStacks(hostStack, releaseStack), hostStack, releaseStack };
}
