import { AlertOptions, CreatedLogAlert } from './alerts';
import { missingPoolAlert } from './missing-pool';
import { MonitoringScope } from './monitoring-scope';

/** The scheduler of a Kubernetes host's Airflow: its cluster and the release's namespace. */
export interface KubernetesAirflowScheduler {
  /** ARM id of the AKS cluster whose Container Insights writes the scheduler's log to the workspace. */
  readonly clusterId: string;
  /** Namespace of the Airflow release. */
  readonly namespace: string;
}

/** Props of {@link MigrationMonitoring.monitorKubernetesAirflow}. */
export interface KubernetesAirflowMonitoringProps {
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
}

/** A Kubernetes host's scheduler log alert, made by the facade (its defaults, action group and list). */
export function monitorKubernetesAirflow(
  monitoring: MonitoringScope,
  scheduler: KubernetesAirflowScheduler,
  props: KubernetesAirflowMonitoringProps,
): KubernetesAirflowMonitoring {
  const definition = missingPoolAlert(monitoring.namePrefix, scheduler.clusterId, scheduler.namespace);
  return { missingPoolAlert: monitoring.alerts.log(definition, props.missingPoolAlert) };
}
