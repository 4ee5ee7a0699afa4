import { App, TerraformDataSource, TerraformResource, TerraformStack } from 'cdktf';
import { resolve } from 'cdktf/lib/_tokens';
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

type ResourceClass = { new (...args: never[]): TerraformResource; readonly tfResourceType: string };

/**
 * The resources of a type in a constructed stack, by logical id, as the stack's synthesis writes them
 * (each one's own `toTerraform()`, resolved in its stack, as `stack.toTerraform()` does), without
 * synthesizing the rest: for values the host passes to those resources. Throws for a resource that
 * references another stack's: only a synthesis registers the cross-stack output it reads.
 */
export function synthesizedResources(stack: TerraformStack, type: ResourceClass): Record<string, Record<string, any>> {
  const found = stack.node.findAll().filter((construct): construct is TerraformResource => construct instanceof type);
  const blocks = found.map((resource) => resolve(stack, resource.toTerraform()) as { resource: Record<string, Record<string, Record<string, unknown>>> });
  const configs = Object.assign({}, ...blocks.map((block) => block.resource[type.tfResourceType]));
  const text = JSON.stringify(configs, (key, value) => (key === '//' ? undefined : value));
  const own = new Set(
    stack.node
      .findAll()
      .flatMap((construct) =>
        construct instanceof TerraformResource
          ? [`${construct.terraformResourceType}.${construct.friendlyUniqueId}`]
          : construct instanceof TerraformDataSource
            ? [`data.${construct.terraformResourceType}.${construct.friendlyUniqueId}`]
            : [],
      ),
  );
  for (const [expression] of text.matchAll(/\$\{[^}]*\}/g)) {
    for (const [address] of expression.matchAll(/\b(?:data\.)?[a-z][a-z0-9]*_[a-z0-9_]+\.[A-Za-z][\w-]*/g)) {
      if (!own.has(address)) throw new Error(`${type.tfResourceType} references ${address}, not in ${stack.node.id}: synthesize the stacks to read it`);
    }
  }
  return JSON.parse(text);
}
/** The only resource of a type in a constructed stack, as {@link synthesizedResources} gives it; fails unless there is exactly one. */
export function synthesizedResource(stack: TerraformStack, type: ResourceClass): Record<string, any> {
  const all = Object.values(synthesizedResources(stack, type));
  if (all.length !== 1) throw new Error(`expected exactly one ${type.tfResourceType}, found ${all.length}`);
  return all[0];
}

/**
 * The chart values of a constructed host, not synthesized: the JSON its helm_release is given, with
 * cdktf's token markers (`${TfToken[...]}`) where the synthesis writes a reference (`${...}`).
 */
export function constructedChartValues(host: KubernetesAirflowHost): AirflowChartValues {
  return JSON.parse(host.helmRelease.valuesInput![0]) as AirflowChartValues;
}
