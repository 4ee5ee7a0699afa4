import { IDataFactory } from '../core/references';
import { blobServiceId } from '../private/arm-ids';
import { AlertOptions, CreatedLogAlert, CreatedMetricAlert } from './alerts';
import { airflowEnvironmentAlerts, airflowEnvironmentMissingPoolAlert } from './data-factory-airflow-monitoring';
import {
  ALL_LOGS_CATEGORY_GROUP,
  ALL_METRICS_CATEGORY,
  DATA_FACTORY_LOG_CATEGORIES,
  DATA_FACTORY_RUN_LOG_CATEGORIES,
  selfHostedRuntimeCpuAlert,
  selfHostedRuntimeMemoryAlert,
  selfHostedRuntimeOfflineAlert,
} from './data-factory-signals';
import { MonitoringScope } from './monitoring-scope';
import { STORAGE_BLOB_LOG_CATEGORIES, STORAGE_TRANSACTION_METRIC_CATEGORY } from './storage-signals';

/** Props of {@link MigrationMonitoring.monitorDataFactory}. */
export interface DataFactoryMonitoringProps {
  /**
   * Name of the factory's self-hosted integration runtime (the one that reaches the source SQL
   * Server); with it, alerts fire when it has no available node, and when its nodes run out of CPU or memory.
   * @default - no integration runtime alerts
   */
  readonly selfHostedIntegrationRuntimeName?: string;
  /**
   * Name of the factory's managed Airflow integration runtime. With it, the Airflow metric alerts
   * (task failures, DAG import errors) and the missing pool alert (on its scheduler's log) watch it
   * and the `Airflow*` log categories are collected;
   * without it the factory runs no managed Airflow, and neither is created: they could never fire.
   * @default - no Airflow alerts and no `Airflow*` log categories
   */
  readonly airflowIntegrationRuntimeName?: string;
  /**
   * Send every log category (`allLogs` category group) instead of the pipeline, activity, trigger
   * (and, with a managed Airflow, `Airflow*`) categories.
   * @default false
   */
  readonly allLogs?: boolean;
  /**
   * Name of the factory's diagnostic setting.
   * @default `diag-<factory name>`
   */
  readonly diagnosticSettingName?: string;
  /**
   * Storage account holding the factory's DAGs; its blob reads, writes and deletes (who changed the
   * code that runs against the databases) go to the workspace through a diagnostic setting.
   * @default - the factory's `dagStorageAccountId` when the caller's factory reference has one; none without
   */
  readonly dagStorageAccountId?: string;
  /**
   * Overrides of the Airflow task failures alert (`AirflowIntegrationRuntimeTaskInstanceFailures`).
   * @default - severity 2, every 5 minutes over 15 minutes, total more than 0
   */
  readonly airflowTaskFailuresAlert?: AlertOptions;
  /**
   * Overrides of the Airflow DAG import errors alert (`AirflowIntegrationRuntimeDAGProcessingImportErrors`).
   * @default - severity 2, every 5 minutes over 15 minutes, total more than 0
   */
  readonly airflowDagImportErrorsAlert?: AlertOptions;
  /**
   * Overrides of the missing pool alert (`alert-<namePrefix>-airflow-missing-pool`, on the
   * `ADFAirflowSchedulerLogs` table): the managed Airflow's scheduler logged "Tasks using non-existent pool".
   * @default - severity 1, every 5 minutes over 15 minutes, count more than 0, per pool
   */
  readonly missingPoolAlert?: AlertOptions;
  /**
   * Overrides of the self-hosted integration runtime offline alert
   * (`IntegrationRuntimeAvailableNodeNumber`); `threshold` is the minimum number of available nodes.
   * @default - severity 1, every 5 minutes over 15 minutes, average fewer than 1 node
   */
  readonly selfHostedRuntimeOfflineAlert?: AlertOptions;
  /**
   * Overrides of the self-hosted integration runtime CPU alert (`IntegrationRuntimeCpuPercentage`, Azure Monitor
   * Baseline Alerts' settings, per node); `threshold` is the CPU percent a node averages above which it fires.
   * @default - severity 3, every 1 minutes over 5 minutes, average more than 95 percent, per node
   */
  readonly selfHostedRuntimeCpuAlert?: AlertOptions;
  /**
   * Overrides of the self-hosted integration runtime memory alert (`IntegrationRuntimeAvailableMemory`, per node);
   * `threshold` is the bytes free on a node at or under which it fires.
   * @default - severity 3, every 1 minutes over 5 minutes, average 1,000,000,000 bytes free or less, per node (Azure Monitor Baseline Alerts' 5,000,000,000 is a recommended 8 GB machine at rest)
   */
  readonly selfHostedRuntimeMemoryAlert?: AlertOptions;
}

/**
 * A factory's diagnostic settings (and its DAG storage's) and the metric alerts on its runtimes
 * (what `monitorDataFactory` dispatches to).
 */
export class DataFactoryMonitoring {
  /** The alerts made, in creation order. */
  public readonly alerts: readonly (CreatedMetricAlert | CreatedLogAlert)[];

  constructor(monitoring: MonitoringScope, factory: IDataFactory, props: DataFactoryMonitoringProps = {}) {
    const airflowRuntime = props.airflowIntegrationRuntimeName;
    if (airflowRuntime === undefined) {
      const orphaned = (['airflowTaskFailuresAlert', 'airflowDagImportErrorsAlert', 'missingPoolAlert'] as const).filter((option) => props[option] !== undefined);
      if (orphaned.length > 0) {
        throw new Error(
          `${orphaned.join(', ')} given without airflowIntegrationRuntimeName: a factory without a managed Airflow gets no Airflow alerts`,
        );
      }
    }

    monitoring.diagnosticSettings.add('FactoryDiagnostics', {
      name: props.diagnosticSettingName ?? `diag-${factory.name}`,
      targetResourceId: factory.id,
      logAnalyticsDestinationType: 'Dedicated',
      enabledLog: props.allLogs
        ? [{ categoryGroup: ALL_LOGS_CATEGORY_GROUP }]
        : (airflowRuntime === undefined ? DATA_FACTORY_RUN_LOG_CATEGORIES : DATA_FACTORY_LOG_CATEGORIES).map((category) => ({ category })),
      enabledMetric: [{ category: ALL_METRICS_CATEGORY }],
    });

    const dagStorageAccountId = props.dagStorageAccountId ?? factory.dagStorageAccountId;
    if (dagStorageAccountId !== undefined) {
      monitoring.diagnosticSettings.add('DagStorageDiagnostics', {
        name: 'diag-dag-blobs',
        targetResourceId: blobServiceId(dagStorageAccountId),
        enabledLog: STORAGE_BLOB_LOG_CATEGORIES.map((category) => ({ category })),
        enabledMetric: [{ category: STORAGE_TRANSACTION_METRIC_CATEGORY }],
      });
    }

    const { namePrefix } = monitoring;
    const alerts: (CreatedMetricAlert | CreatedLogAlert)[] = [];
    if (airflowRuntime !== undefined) {
      const environment = { factoryId: factory.id, environmentName: airflowRuntime };
      alerts.push(...airflowEnvironmentAlerts(monitoring, environment, props));
      // The setting above sends AirflowSchedulerLogs (itself or in allLogs) to the workspace's dedicated tables.
      alerts.push(airflowEnvironmentMissingPoolAlert(monitoring, environment, props.missingPoolAlert));
    }
    const selfHostedRuntime = props.selfHostedIntegrationRuntimeName;
    if (selfHostedRuntime !== undefined) {
      const minimumAvailableNodes = props.selfHostedRuntimeOfflineAlert?.threshold ?? 1;
      alerts.push(
        monitoring.alerts.metric(
          factory.id,
          selfHostedRuntimeOfflineAlert(namePrefix, selfHostedRuntime, minimumAvailableNodes),
          props.selfHostedRuntimeOfflineAlert,
        ),
        monitoring.alerts.metric(
          factory.id,
          selfHostedRuntimeCpuAlert(namePrefix, selfHostedRuntime, props.selfHostedRuntimeCpuAlert?.threshold),
          props.selfHostedRuntimeCpuAlert,
        ),
        monitoring.alerts.metric(
          factory.id,
          selfHostedRuntimeMemoryAlert(namePrefix, selfHostedRuntime, props.selfHostedRuntimeMemoryAlert?.threshold),
          props.selfHostedRuntimeMemoryAlert,
        ),
      );
    }
    this.alerts = alerts;
  }
}
