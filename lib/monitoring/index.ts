export * from './alert-timing';
export { AlertSeverity } from './alerts';
export type {
  AlertDefaults,
  AlertDefinition,
  AlertDimension,
  AlertOptions,
  CreatedAlert,
  CreatedLogAlert,
  CreatedMetricAlert,
  LogAlertDefinition,
  MetricAlertDefinition,
} from './alerts';
export type { ActionGroupOptions } from './action-group';
export type { CustomAlertProps, CustomLogAlertProps, CustomMetricAlertProps } from './custom-alerts';
export type { DataFactoryMonitoringProps } from './data-factory-monitoring';
export * from './data-factory-signals';
export {
  type EventPublisherGrantOptions,
  MigrationEventIngestion,
  type MigrationEventIngestionProps,
  MONITORING_METRICS_PUBLISHER_ROLE,
} from './migration-event-ingestion';
export * from './migration-events';
export type { MigrationEventsMonitoringProps, MigrationStalledAlertOptions } from './migration-events-monitoring';
export * from './migration-monitoring';
export * from './migration-stalled';
export type { MonitoringWorkspaceOptions } from './monitoring-workspace';
export * from './storage-signals';
export * from './migration-workbook';
