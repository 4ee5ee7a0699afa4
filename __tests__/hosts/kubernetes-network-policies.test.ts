/**
 * The Kubernetes host's ingress policies, read back from the synthesized `kubernetes_network_policy_v1`
 * resources. The chart labels every pod `tier: airflow`, `component: <part>`, `release: <release>`
 * (its deployment and job templates, `chart/templates/**`), and its own policies select them the same
 * way; the ports are the chart's `ports` defaults.
 */
import { NetworkPolicyV1 } from '@cdktf/provider-kubernetes/lib/network-policy-v1';
import { TerraformStack } from 'cdktf';
import { AirflowChartValues } from '../../lib/private/kubernetes/chart-values';
import { onlyLogicalId, onlyResource, reference, resourcesOfType, synthesizedResources, SynthesizedStack, warningsOf } from '../helpers/test-stack';
import { constructedChartValues, kubernetesHost, kubernetesHostStack } from './kubernetes-test-stack';

type Labels = Record<string, string>;
interface Peer {
  readonly pod_selector?: { match_labels?: Labels };
  readonly namespace_selector?: { match_labels?: Labels };
}
interface Policy {
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly spec: {
    readonly pod_selector: { match_labels?: Labels };
    readonly policy_types: string[];
    readonly ingress?: Array<{ from: Peer[]; ports: Array<{ port: string; protocol: string }> }>;
    readonly egress?: unknown;
  };
}

const RELEASE = 'airflow';

type Policies = Record<string, Record<string, unknown>>;

/** The policies of a synthesized stack, by logical id. */
function synthesizedPolicies(synth: SynthesizedStack): Policies {
  return resourcesOfType(synth, 'kubernetes_network_policy_v1');
}

function policies(all: Policies): Policy[] {
  return Object.values(all) as unknown as Policy[];
}

/** The part of the release a selector picks (`any Airflow pod` without a component); anything else fails. */
function part(labels: Labels = {}): string {
  const { tier, release, component, ...rest } = labels;
  if (tier !== 'airflow' || release !== RELEASE || Object.keys(rest).length > 0) throw new Error(`selects no pod of the release: ${JSON.stringify(labels)}`);
  return component ?? 'any Airflow pod';
}

function source(peer: Peer): string {
  if (peer.namespace_selector === undefined) return part(peer.pod_selector?.match_labels);
  return `${peer.namespace_selector.match_labels?.['kubernetes.io/metadata.name']}/${peer.pod_selector?.match_labels?.rsName}`;
}

/** Every admitted connection as `from -> to:port/protocol`, sorted. */
function flows(all: Policies): string[] {
  return policies(all)
    .filter((policy) => policy.spec.pod_selector.match_labels !== undefined)
    .flatMap((policy) =>
      (policy.spec.ingress ?? []).flatMap((rule) =>
        rule.from.flatMap((peer) => rule.ports.map((port) => `${source(peer)} -> ${part(policy.spec.pod_selector.match_labels)}:${port.port}/${port.protocol}`)),
      ),
    )
    .sort();
}

/** What Airflow 3 needs between the chart's pods on either executor. */
const COMMON_FLOWS = [
  // the workers' task runners call the Execution API (`execution_api_server_url`)
  'worker -> api-server:8080/TCP',
  // the API server reads task logs from the workers' and trigger logs from the triggerer's log servers
  'api-server -> worker:8793/TCP',
  'api-server -> triggerer:8794/TCP',
  // every process that opens the metadata database, the migration job's included
  'any Airflow pod -> pgbouncer:6543/TCP',
  // statsd from every Airflow process; the metrics add-on's scraper in kube-system reads the exporter
  'any Airflow pod -> statsd:9125/UDP',
  'kube-system/ama-metrics -> statsd:9102/TCP',
];
/** The Celery broker: the workers consume, the scheduler publishes. */
const CELERY_FLOWS = ['worker -> redis:6379/TCP', 'scheduler -> redis:6379/TCP'];

describe('Kubernetes host network policies', () => {
  /**
   * The policies of a constructed host as its synthesis writes them (synthesizedResources), of both its
   * stacks side by side as `synth` holds them: a policy in the host's own stack counts too.
   */
  function constructedPolicies({ stack, release }: { stack: TerraformStack; release: TerraformStack }): Policies {
    return { ...synthesizedResources(stack, NetworkPolicyV1), ...synthesizedResources(release, NetworkPolicyV1) };
  }
  /** A host constructed with that executor: its policies (constructedPolicies) and its chart values. */
  function withExecutor(executor: 'CeleryExecutor' | 'KubernetesExecutor'): { policies: Policies; values: AirflowChartValues } {
    const constructed = kubernetesHost({ executor });
    return { policies: constructedPolicies(constructed), values: constructedChartValues(constructed.host) };
  }
  // One construction per executor, read by the tests of that executor; the default host synthesized once.
  const byExecutor = { CeleryExecutor: withExecutor('CeleryExecutor'), KubernetesExecutor: withExecutor('KubernetesExecutor') };
  const byDefault = kubernetesHostStack();

  it('are read from a constructed release as its synthesis writes them, beside the chart values sections that run pods', () => {
    const constructed = kubernetesHost();
    expect(constructedPolicies(constructed)).toEqual(synthesizedPolicies(byDefault.synth));
    const synthesizedValues = JSON.parse((onlyResource(byDefault.releaseStack, 'helm_release') as { values: string[] }).values[0]) as AirflowChartValues;
    expect(runningSections(constructedChartValues(constructed.host))).toEqual(runningSections(synthesizedValues));
  });

  it.each([
    ['CeleryExecutor', [...COMMON_FLOWS, ...CELERY_FLOWS]],
    ['KubernetesExecutor', COMMON_FLOWS],
  ] as const)('admit exactly the connections Airflow makes on %s', (executor, expected) => {
    expect(flows(byExecutor[executor].policies)).toEqual([...expected].sort());
  });

  /** The chart's value sections whose pods run, by the `component` label the chart gives them; jobs need no policy of their own. */
  const COMPONENT_OF_SECTION: Record<string, string | undefined> = {
    apiServer: 'api-server',
    scheduler: 'scheduler',
    workers: 'worker', // Celery workers, or the KubernetesExecutor's task pods (replicas 0)
    triggerer: 'triggerer',
    dagProcessor: 'dag-processor',
    pgbouncer: 'pgbouncer',
    redis: 'redis',
    statsd: 'statsd',
  };

  /** Sections that run pods: `enabled: true`, or a replica count without `enabled: false`. */
  function runningSections(values: AirflowChartValues): string[] {
    return Object.entries(values as unknown as Record<string, unknown>)
      .filter(([, section]) => {
        if (section === null || typeof section !== 'object') return false;
        const { enabled, replicas } = section as { enabled?: unknown; replicas?: unknown };
        return enabled === true || (enabled === undefined && typeof replicas === 'number');
      })
      .map(([name]) => name);
  }

  it.each(['CeleryExecutor', 'KubernetesExecutor'] as const)('give every part the values run (%s) a policy of its own, and deny the rest', (executor) => {
    const { policies: all, values } = byExecutor[executor];
    const selected = policies(all).map((policy) => policy.spec.pod_selector.match_labels);
    const sections = runningSections(values);
    expect(sections).toEqual(expect.arrayContaining(['apiServer', 'scheduler', 'workers', 'pgbouncer', 'statsd']));
    for (const section of sections) {
      const component = COMPONENT_OF_SECTION[section];
      if (component === undefined) throw new Error(`values section ${section} runs pods no policy names: map it to its component label and give it a policy`);
      expect(selected).toContainEqual({ tier: 'airflow', component, release: RELEASE });
    }
    // The default deny: every other pod of the namespace (the migration job) admits nothing.
    expect(policies(all).filter((policy) => policy.spec.pod_selector.match_labels === undefined)).toEqual([
      expect.objectContaining({ spec: { pod_selector: {}, policy_types: ['Ingress'], ingress: [] } }),
    ]);
  });

  it('restrict ingress only, in the release namespace', () => {
    const { synth } = byDefault;
    const namespace = reference('kubernetes_namespace_v1', onlyLogicalId(synth, 'kubernetes_namespace_v1'), 'metadata[0].name');
    for (const policy of policies(synthesizedPolicies(synth))) {
      expect(policy.spec.policy_types).toEqual(['Ingress']);
      expect(policy.spec.egress).toBeUndefined();
      expect(policy.metadata.namespace).toBe(namespace);
    }
    expect(policies(synthesizedPolicies(synth)).map((policy) => policy.metadata.name).sort()).toEqual(
      ['api-server', 'dag-processor', 'default-deny', 'pgbouncer', 'redis', 'scheduler', 'statsd', 'triggerer', 'worker'].map((name) => `${RELEASE}-${name}-ingress`),
    );
  });

  it('create the default deny after every other policy, so a running part never admits less than it needs', () => {
    const { synth } = byDefault;
    const all = synthesizedPolicies(synth);
    const [denyId, deny] = Object.entries(all).find(([, policy]) => (policy as unknown as Policy).metadata.name === `${RELEASE}-default-deny-ingress`)!;
    const others = Object.keys(all).filter((logicalId) => logicalId !== denyId);
    expect([...(deny.depends_on as string[])].sort()).toEqual(others.map((logicalId) => `kubernetes_network_policy_v1.${logicalId}`).sort());
  });

  it('are left out, with a warning, when networkPoliciesEnabled is false', () => {
    const withoutPolicies = kubernetesHost({ networkPoliciesEnabled: false });
    const { stack } = withoutPolicies;
    expect(constructedPolicies(withoutPolicies)).toEqual({});
    expect(warningsOf(stack)).toContainEqual(expect.stringMatching(/^test\/airflow: networkPoliciesEnabled is false, weaker than the secure default true \[ack: migration:secure-default:networkPoliciesEnabled\]$/));
    expect(warningsOf(byDefault.stack).filter((warning) => warning.includes('networkPoliciesEnabled'))).toEqual([]);
  });
});
