import { App, TerraformStack } from 'cdktf';
import { KubernetesAirflowHost, KubernetesAirflowHostProps } from '../../lib/hosts/kubernetes/kubernetes-host';
import type { DagBundle } from '../../lib/orchestration-factory/dag-bundle';
import type { AirflowChartValues } from '../../lib/private/kubernetes/chart-values';
import { loadDagBundle } from '../../lib/private/dag-bundle-loader';
import { renderMigrationPlan } from '../../lib/plan';
import { examplePlan } from '../helpers/example-plan';
import { ACTION_GROUP_ID, ENVIRONMENT, KEY_VAULT, POOLS, WORKSPACE } from '../helpers/host-fixtures';
import { mergedStacks, synthStacks, SynthesizedStack, testStack } from '../helpers/test-stack';

let examplePlanBundle: DagBundle | undefined;

/**
 * The example plan's bundle, read once per test file and shared by its hosts: frozen, so a host that
 * changed it would throw instead of passing a changed bundle to the next test.
 */
export function exampleBundle(): DagBundle {
  if (examplePlanBundle === undefined) {
    const bundle = loadDagBundle(renderMigrationPlan(examplePlan()));
    bundle.files.forEach((file) => Object.freeze(file));
    examplePlanBundle = Object.freeze({ ...bundle, files: Object.freeze(bundle.files), requirements: Object.freeze(bundle.requirements) });
  }
  return examplePlanBundle;
}

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
    bundle: exampleBundle(),
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
