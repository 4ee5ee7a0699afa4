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
export * from './data-factory-signals';
export * from './migration-events';
export * from './migration-monitoring';
export * from './storage-signals';
export * from './migration-workbook';
