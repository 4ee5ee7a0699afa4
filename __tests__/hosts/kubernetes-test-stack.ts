import { TerraformStack } from 'cdktf';
import { KubernetesAirflowHost, KubernetesAirflowHostProps } from '../../lib/hosts/kubernetes/kubernetes-host';
import { loadDagBundle } from '../../lib/private/dag-bundle-loader';
import { renderMigrationPlan } from '../../lib/plan';
import { examplePlan } from '../helpers/example-plan';
import { ACTION_GROUP_ID, ENVIRONMENT, KEY_VAULT, POOLS, WORKSPACE } from '../helpers/host-fixtures';
import { mergedStacks, synthStacks, SynthesizedStack, testStack } from '../helpers/test-stack';

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
    actionGroup: { id: ACTION_GROUP_ID, name: 'ag-test' },
    ...rest,
  });
  const [hostStack, releaseStack] = synthStacks(stack, release);
  return { stack, release, host, synth: mergedStacks(hostStack, releaseStack), hostStack, releaseStack };
}
