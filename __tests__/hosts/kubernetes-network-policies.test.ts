/**
 * The Kubernetes host's ingress policies, read back from the synthesized `kubernetes_network_policy_v1`
 * resources. The chart labels every pod `tier: airflow`, `component: <part>`, `release: <release>`
 * (its deployment and job templates, `chart/templates/**`), and its own policies select them the same
 * way; the ports are the chart's `ports` defaults.
 */
import { AirflowChartValues } from '../../lib/private/kubernetes/chart-values';
import { onlyLogicalId, onlyResource, reference, resourcesOfType, SynthesizedStack, warningsOf } from '../helpers/test-stack';
import { kubernetesHostStack } from './kubernetes-test-stack';

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

function policies(synth: SynthesizedStack): Policy[] {
  return Object.values(resourcesOfType(synth, 'kubernetes_network_policy_v1')) as unknown as Policy[];
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
function flows(synth: SynthesizedStack): string[] {
  return policies(synth)
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
  // One synthesis per set of props, read by every test of that set.
  const byExecutor = {
    CeleryExecutor: kubernetesHostStack({ executor: 'CeleryExecutor' }),
    KubernetesExecutor: kubernetesHostStack({ executor: 'KubernetesExecutor' }),
  };
  const byDefault = kubernetesHostStack();

  it.each([
    ['CeleryExecutor', [...COMMON_FLOWS, ...CELERY_FLOWS]],
    ['KubernetesExecutor', COMMON_FLOWS],
  ] as const)('admit exactly the connections Airflow makes on %s', (executor, expected) => {
    const { synth } = byExecutor[executor];
    expect(flows(synth)).toEqual([...expected].sort());
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
    const { synth } = byExecutor[executor];
    const values = JSON.parse((onlyResource(synth, 'helm_release') as { values: string[] }).values[0]) as AirflowChartValues;
    const selected = policies(synth).map((policy) => policy.spec.pod_selector.match_labels);
    const sections = runningSections(values);
    expect(sections).toEqual(expect.arrayContaining(['apiServer', 'scheduler', 'workers', 'pgbouncer', 'statsd']));
    for (const section of sections) {
      const component = COMPONENT_OF_SECTION[section];
      if (component === undefined) throw new Error(`values section ${section} runs pods no policy names: map it to its component label and give it a policy`);
      expect(selected).toContainEqual({ tier: 'airflow', component, release: RELEASE });
    }
    // The default deny: every other pod of the namespace (the migration job) admits nothing.
    expect(policies(synth).filter((policy) => policy.spec.pod_selector.match_labels === undefined)).toEqual([
      expect.objectContaining({ spec: { pod_selector: {}, policy_types: ['Ingress'], ingress: [] } }),
    ]);
  });

  it('restrict ingress only, in the release namespace', () => {
    const { synth } = byDefault;
    const namespace = reference('kubernetes_namespace_v1', onlyLogicalId(synth, 'kubernetes_namespace_v1'), 'metadata[0].name');
    for (const policy of policies(synth)) {
      expect(policy.spec.policy_types).toEqual(['Ingress']);
      expect(policy.spec.egress).toBeUndefined();
      expect(policy.metadata.namespace).toBe(namespace);
    }
    expect(policies(synth).map((policy) => policy.metadata.name).sort()).toEqual(
      ['api-server', 'dag-processor', 'default-deny', 'pgbouncer', 'redis', 'scheduler', 'statsd', 'triggerer', 'worker'].map((name) => `${RELEASE}-${name}-ingress`),
    );
  });

  it('create the default deny after every other policy, so a running part never admits less than it needs', () => {
    const { synth } = byDefault;
    const all = resourcesOfType(synth, 'kubernetes_network_policy_v1');
    const [denyId, deny] = Object.entries(all).find(([, policy]) => (policy as unknown as Policy).metadata.name === `${RELEASE}-default-deny-ingress`)!;
    const others = Object.keys(all).filter((logicalId) => logicalId !== denyId);
    expect([...(deny.depends_on as string[])].sort()).toEqual(others.map((logicalId) => `kubernetes_network_policy_v1.${logicalId}`).sort());
  });

  it('are left out, with a warning, when networkPoliciesEnabled is false', () => {
    const { synth, stack } = kubernetesHostStack({ networkPoliciesEnabled: false });
    expect(policies(synth)).toEqual([]);
    expect(warningsOf(stack)).toContainEqual(expect.stringMatching(/^test\/airflow: networkPoliciesEnabled is false, weaker than the secure default true \[ack: migration:secure-default:networkPoliciesEnabled\]$/));
    expect(warningsOf(byDefault.stack).filter((warning) => warning.includes('networkPoliciesEnabled'))).toEqual([]);
  });
});
