import { App, TerraformStack } from 'cdktf';
import { KubernetesAirflowHost, KubernetesAirflowHostProps } from '../../lib/hosts/kubernetes/kubernetes-host';
import type { AirflowChartValues } from '../../lib/private/kubernetes/chart-values';
import { ACTION_GROUP_ID, ENVIRONMENT, examplePlanBundle, KEY_VAULT, POOLS, WORKSPACE } from '../helpers/host-fixtures';
import { mergedStacks, synthStacks, SynthesizedStack, testStack } from '../helpers/test-stack';

/**
 * The Kubernetes host (with the example plan's bundle) and its release stack, constructed but not
 * synthesized: for a prop the constructor refuses or takes, or a value it computes while constructing.
 */
export function kubernetesHost(props: Partial<KubernetesAirflowHostProps> = {}): {
  app: App;
  stack: TerraformStack;
  release: TerraformStack;
  host: KubernetesAirflowHost;
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
    bundle: examplePlanBundle(),
    environment: ENVIRONMENT,
    keyVault: KEY_VAULT,
    pools: POOLS,
    logAnalyticsWorkspace: WORKSPACE,
    actionGroup: { id: ACTION_GROUP_ID, name: 'ag-test' },
    ...rest,
  });
  return { app, stack, release, host };
}

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
  const { stack, release, host } = kubernetesHost(props);
  const [hostStack, releaseStack] = synthStacks(stack, release);
  return { stack, release, host, synth: mergedStacks(hostStack, releaseStack), hostStack, releaseStack };
}

/**
 * The chart values of a constructed host, not synthesized: the JSON its helm_release is given, with
 * cdktf's token markers (`${TfToken[...]}`) where the synthesis writes a reference (`${...}`).
 */
export function constructedChartValues(host: KubernetesAirflowHost): AirflowChartValues {
  return JSON.parse(host.helmRelease.valuesInput![0]) as AirflowChartValues;
}
