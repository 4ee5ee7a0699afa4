import { MonitorDiagnosticSetting } from '@cdktf/provider-azurerm/lib/monitor-diagnostic-setting';
import { AlertOptions, CreatedLogAlert, CreatedMetricAlert } from './alerts';
import { AIRFLOW_LOG_CATEGORIES, airflowDagImportErrorsAlert, airflowTaskFailuresAlert } from './data-factory-signals';
import { dataFactoryMissingPoolAlert } from './missing-pool';
import { MonitoringScope } from './monitoring-scope';
import { secureDefault } from '../private/secure-default';

/** A Data Factory Airflow environment (Workflow Orchestration Manager): its factory and its name. */
export interface DataFactoryAirflowEnvironment {
  /** ARM id of the factory the environment belongs to; its metrics and logs are the factory's. */
  readonly factoryId: string;
  /** Name of the environment (its integration runtime); the Airflow metrics' `IntegrationRuntimeName`. */
  readonly environmentName: string;
}

/** Props of {@link MigrationMonitoring.monitorDataFactoryAirflow}. */
export interface DataFactoryAirflowMonitoringProps {
  /**
   * A diagnostic setting on the environment's factory that sends the five `Airflow*` log categories
   * to the workspace. Turn off when the factory already has its five diagnostic settings, or its
   * owners do not want one more. The missing pool alert reads the scheduler's log: without this
   * setting it is not made (the factory's own setting may send the log elsewhere).
   * @default true (warns when false)
   */
  readonly airflowLogs?: boolean;
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
   * `ADFAirflowSchedulerLogs` table): the scheduler logged "Tasks using non-existent pool", whose
   * tasks never run. Made only with `airflowLogs`.
   * @default - severity 1, every 5 minutes over 15 minutes, count more than 0, per pool
   */
  readonly missingPoolAlert?: AlertOptions;
}

/** The options of alerts only a Data Factory Airflow environment has (no other host reports these metrics). */
export const DATA_FACTORY_AIRFLOW_ALERT_OPTIONS = ['airflowTaskFailuresAlert', 'airflowDagImportErrorsAlert'] as const;

/** What {@link MigrationMonitoring.monitorDataFactoryAirflow} made. */
export interface DataFactoryAirflowMonitoring {
  /** The task failures and DAG import errors alerts. */
  readonly alerts: readonly CreatedMetricAlert[];
  /**
   * The log alert on the scheduler's "Tasks using non-existent pool" line.
   * @default - none when `airflowLogs` is false
   */
  readonly missingPoolAlert?: CreatedLogAlert;
  /**
   * The `Airflow*` logs' diagnostic setting.
   * @default - none when `airflowLogs` is false
   */
  readonly airflowLogs?: MonitorDiagnosticSetting;
}

/** The environment's Airflow metric alerts, watching it by name on its factory. */
export function airflowEnvironmentAlerts(
  monitoring: MonitoringScope,
  environment: DataFactoryAirflowEnvironment,
  options: Pick<DataFactoryAirflowMonitoringProps, 'airflowTaskFailuresAlert' | 'airflowDagImportErrorsAlert'>,
): CreatedMetricAlert[] {
  const { namePrefix, alerts } = monitoring;
  const { factoryId, environmentName } = environment;
  return [
    alerts.metric(factoryId, airflowTaskFailuresAlert(namePrefix, environmentName), options.airflowTaskFailuresAlert),
    alerts.metric(factoryId, airflowDagImportErrorsAlert(namePrefix, environmentName), options.airflowDagImportErrorsAlert),
  ];
}

/**
 * The environment's missing pool alert, on its scheduler's log in the workspace: only where the
 * factory's `AirflowSchedulerLogs` go to the workspace in resource-specific mode (`ADFAirflowSchedulerLogs`).
 */
export function airflowEnvironmentMissingPoolAlert(
  monitoring: MonitoringScope,
  environment: DataFactoryAirflowEnvironment,
  options: AlertOptions | undefined,
): CreatedLogAlert {
  return monitoring.alerts.log(dataFactoryMissingPoolAlert(monitoring.namePrefix, environment.factoryId, environment.environmentName), options);
}

/** An adopted environment's own signals: its `Airflow*` logs, its Airflow metric alerts and, with the logs, the missing pool alert. */
export function monitorDataFactoryAirflow(
  monitoring: MonitoringScope,
  environment: DataFactoryAirflowEnvironment,
  props: DataFactoryAirflowMonitoringProps,
): DataFactoryAirflowMonitoring {
  const airflowLogs = secureDefault(monitoring.scope, 'airflowLogs', props.airflowLogs, true)
    ? monitoring.diagnosticSettings.add('AirflowLogs', {
        name: `diag-${monitoring.namePrefix}-airflow`,
        targetResourceId: environment.factoryId,
        logAnalyticsDestinationType: 'Dedicated',
        enabledLog: AIRFLOW_LOG_CATEGORIES.map((category) => ({ category })),
      })
    : undefined;
  if (!airflowLogs && props.missingPoolAlert !== undefined) {
    throw new Error(
      "missingPoolAlert given with airflowLogs false: the missing pool alert reads the scheduler's log (ADFAirflowSchedulerLogs), " +
        'which only the airflowLogs setting sends to the workspace; remove missingPoolAlert or leave airflowLogs on',
    );
  }
  const alerts = airflowEnvironmentAlerts(monitoring, environment, props);
  const missingPoolAlert = airflowLogs ? airflowEnvironmentMissingPoolAlert(monitoring, environment, props.missingPoolAlert) : undefined;
  return { alerts, airflowLogs, missingPoolAlert };
}
