import { NetworkPolicyV1, NetworkPolicyV1SpecIngressFrom } from '@cdktf/provider-kubernetes/lib/network-policy-v1';
import { TerraformProvider } from 'cdktf';
import { Construct } from 'constructs';
import { AirflowChartValues, CHART_PORTS, RELEASE_NAME } from './chart-values';

/** The `component` label the chart puts on the pods of each part it runs. */
export type ChartComponent = 'api-server' | 'scheduler' | 'dag-processor' | 'triggerer' | 'worker' | 'pgbouncer' | 'redis' | 'statsd';

/** Every pod of the release, the jobs' included (`tier: airflow`, `release: <release>`). */
export const ANY_RELEASE_POD = 'any pod of the release';
/**
 * The metrics add-on's scraper: the `ama-metrics` deployment in kube-system (pod label
 * `rsName: ama-metrics`, no host network), the one that reads the custom scrape config map
 * (Azure/prometheus-collector `otelcollector/deploy/addon-chart/azure-monitor-metrics-addon/templates/ama-metrics-deployment.yaml`).
 */
export const MANAGED_PROMETHEUS = 'managed Prometheus';

/** Who opens a connection: pods of one component of the release, any pod of it, or the scraper. */
export type IngressSource = ChartComponent | typeof ANY_RELEASE_POD | typeof MANAGED_PROMETHEUS;

/** One connection a policy admits: `from` may open it to the `to` pods on `port`. */
export interface IngressFlow {
  readonly from: IngressSource;
  readonly to: ChartComponent;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
}

/**
 * The connections Airflow 3 makes between the chart's pods, as the chart's own policies and
 * configuration name them. Workers (Celery workers, and the KubernetesExecutor's task pods, which the
 * chart's pod template labels `component: worker`) call the API server's Execution API; the
 * triggerer and the DAG processor call it in process (`in_process_api_server()` in Airflow's
 * triggerer_job_runner.py and dag_processing/processor.py). The API server reads task and trigger logs
 * from the workers' and triggerer's log servers. Everything that opens the metadata database goes
 * through PgBouncer, the migration job included. The Celery workers and the scheduler use Redis as
 * the broker. Every Airflow process sends statsd to the exporter (`statsd_host: <release>-statsd`),
 * which managed Prometheus scrapes.
 */
const FLOWS: readonly IngressFlow[] = [
  { from: 'worker', to: 'api-server', port: CHART_PORTS.apiServer, protocol: 'TCP' },
  { from: 'api-server', to: 'worker', port: CHART_PORTS.workerLogs, protocol: 'TCP' },
  { from: 'api-server', to: 'triggerer', port: CHART_PORTS.triggererLogs, protocol: 'TCP' },
  { from: ANY_RELEASE_POD, to: 'pgbouncer', port: CHART_PORTS.pgbouncer, protocol: 'TCP' },
  { from: 'worker', to: 'redis', port: CHART_PORTS.redisDB, protocol: 'TCP' },
  { from: 'scheduler', to: 'redis', port: CHART_PORTS.redisDB, protocol: 'TCP' },
  { from: ANY_RELEASE_POD, to: 'statsd', port: CHART_PORTS.statsdIngest, protocol: 'UDP' },
  { from: MANAGED_PROMETHEUS, to: 'statsd', port: CHART_PORTS.statsdScrape, protocol: 'TCP' },
];

/**
 * The chart's parts the values run. The API server, scheduler and workers always run (on
 * KubernetesExecutor the workers are the task pods).
 */
export function chartComponents(values: AirflowChartValues): ChartComponent[] {
  const optional: Array<[ChartComponent, boolean]> = [
    ['dag-processor', values.dagProcessor.enabled],
    ['triggerer', values.triggerer.enabled],
    ['pgbouncer', values.pgbouncer.enabled],
    ['redis', values.redis.enabled],
    ['statsd', values.statsd.enabled],
  ];
  return ['api-server', 'scheduler', 'worker', ...optional.filter(([, enabled]) => enabled).map(([component]) => component)];
}

/** The connections between the parts the values run. */
export function ingressFlows(values: AirflowChartValues): IngressFlow[] {
  const running = chartComponents(values);
  const runs = (source: IngressSource): boolean => source === ANY_RELEASE_POD || source === MANAGED_PROMETHEUS || running.includes(source);
  return FLOWS.filter((flow) => runs(flow.from) && runs(flow.to));
}

function podLabels(component?: ChartComponent): Record<string, string> {
  return component === undefined ? { tier: 'airflow', release: RELEASE_NAME } : { tier: 'airflow', component, release: RELEASE_NAME };
}

function peer(source: IngressSource): NetworkPolicyV1SpecIngressFrom {
  if (source === MANAGED_PROMETHEUS) {
    return {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
      podSelector: { matchLabels: { rsName: 'ama-metrics' } },
    };
  }
  return { podSelector: { matchLabels: podLabels(source === ANY_RELEASE_POD ? undefined : source) } };
}

/** Props of {@link AirflowNetworkPolicies}. */
export interface AirflowNetworkPoliciesProps {
  readonly provider: TerraformProvider;
  /** The release's namespace (a reference, so the policies follow its creation). */
  readonly namespace: string;
  /** The chart values: which parts run. */
  readonly values: AirflowChartValues;
}

/**
 * Least-privilege ingress in the release's namespace: one policy per part of the chart the values
 * run, admitting only {@link ingressFlows} (a part nobody calls, the scheduler say, admits nothing),
 * and a default deny for every other pod (the migration job). Egress stays open: the pods reach
 * Azure, SQL Server and the Kubernetes API. Kubelet probes come from the node, which Cilium always
 * admits to its own pods (`allow-localhost: auto` is `always` on Kubernetes); `kubectl port-forward`
 * enters the pod's own network namespace, which no policy filters.
 */
export class AirflowNetworkPolicies extends Construct {
  /** The policies, the default deny last. */
  public readonly policies: readonly NetworkPolicyV1[];

  constructor(scope: Construct, id: string, props: AirflowNetworkPoliciesProps) {
    super(scope, id);
    const flows = ingressFlows(props.values);
    const policy = (
      policyId: string,
      name: string,
      podSelector: { matchLabels?: Record<string, string> },
      admitted: readonly IngressFlow[],
      dependsOn?: NetworkPolicyV1[],
    ) =>
      new NetworkPolicyV1(this, policyId, {
        provider: props.provider,
        metadata: { name, namespace: props.namespace },
        spec: {
          podSelector,
          policyTypes: ['Ingress'],
          ingress: admitted.map((flow) => ({ from: [peer(flow.from)], ports: [{ port: String(flow.port), protocol: flow.protocol }] })),
        },
        dependsOn,
      });
    const perComponent = chartComponents(props.values).map((component) =>
      policy(component, `${RELEASE_NAME}-${component}-ingress`, { matchLabels: podLabels(component) }, flows.filter((flow) => flow.to === component)),
    );
    // After the others (and destroyed before them): on a running release, a part never admits less than it needs.
    this.policies = [...perComponent, policy('DefaultDeny', `${RELEASE_NAME}-default-deny-ingress`, {}, [], perComponent)];
  }
}
