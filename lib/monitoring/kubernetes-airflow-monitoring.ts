import { AlertOptions, CreatedLogAlert, CreatedPrometheusAlert } from './alerts';
import { AirflowPrometheusAlertOptions, PrometheusRuleGroupMaker } from './airflow-prometheus-alerts';
import { missingPoolAlert } from './missing-pool';
import { MonitoringScope } from './monitoring-scope';

/** The scheduler of a Kubernetes host's Airflow: its cluster and the release's namespace. */
export interface KubernetesAirflowScheduler {
  /** ARM id of the AKS cluster whose Container Insights writes the scheduler's log to the workspace. */
  readonly clusterId: string;
  /** Namespace of the Airflow release. */
  readonly namespace: string;
  /**
   * Makes the rule group of the Airflow Prometheus alerts (`AirflowTaskFailures`, `AirflowDagImportErrors`,
   * `AirflowSchedulerHeartbeatMissing`) from the rules the facade resolves (its alert defaults and action
   * group, the props' overrides), where the host keeps it; the facade lists the rules.
   * @default - no Prometheus alerts
   */
  readonly makePrometheusRuleGroup?: PrometheusRuleGroupMaker;
}

/** Props of {@link MigrationMonitoring.monitorKubernetesAirflow}. */
export interface KubernetesAirflowMonitoringProps extends AirflowPrometheusAlertOptions {
  /**
   * Overrides of the missing pool alert (`alert-<namePrefix>-airflow-missing-pool`): the scheduler
   * logged "Tasks using non-existent pool", whose tasks never run.
   * @default - severity 1, every 5 minutes over 15 minutes, count more than 0, per pool
   */
  readonly missingPoolAlert?: AlertOptions;
}

/** What {@link MigrationMonitoring.monitorKubernetesAirflow} made. */
export interface KubernetesAirflowMonitoring {
  /** The log alert on the scheduler's "Tasks using non-existent pool" line. */
  readonly missingPoolAlert: CreatedLogAlert;
  /** The Prometheus alert rules, when the scheduler came with `makePrometheusRuleGroup`; else none. */
  readonly prometheusAlerts: readonly CreatedPrometheusAlert[];
}

/** A Kubernetes host's scheduler log alert and Prometheus rules, made by the facade (its defaults, action group and list). */
export function monitorKubernetesAirflow(
  monitoring: MonitoringScope,
  scheduler: KubernetesAirflowScheduler,
  props: KubernetesAirflowMonitoringProps,
): KubernetesAirflowMonitoring {
  const { missingPoolAlert: missingPoolOptions, ...ruleOptions } = props;
  const makeGroup = scheduler.makePrometheusRuleGroup;
  const orphaned = Object.entries(ruleOptions).filter(([, options]) => options !== undefined).map(([option]) => option);
  if (makeGroup === undefined && orphaned.length > 0) {
    throw new Error(`${orphaned.join(', ')} given without the scheduler's makePrometheusRuleGroup: no Prometheus rule is made for it to tune`);
  }
  const definition = missingPoolAlert(monitoring.namePrefix, scheduler.clusterId, scheduler.namespace);
  return {
    missingPoolAlert: monitoring.alerts.log(definition, missingPoolOptions),
    prometheusAlerts: makeGroup ? monitoring.alerts.airflowPrometheus(ruleOptions, makeGroup) : [],
  };
}
