import { ITerraformDependable } from 'cdktf';
import { AlertDimension, AlertOptions, AlertSeverity, LogAlertDefinition, MetricAlertDefinition } from './alerts';

/**
 * What every alert added with `addAlert` says itself: its severity and description (there is no
 * built-in default for either). Timing, threshold, runbook and switches are the usual options.
 */
interface CustomAlertBaseProps extends AlertOptions {
  /** Severity, 0 (critical) to 4 (verbose). */
  readonly severity: AlertSeverity;
  /** What fired and what to check first, shown in the alert and its notification. */
  readonly description: string;
  /**
   * Dimensions (metric) or columns (log query) to filter or split by.
   * @default - none: one alert for the whole signal
   */
  readonly dimensions?: readonly AlertDimension[];
}

/**
 * A log search alert on the monitoring workspace. A second threshold on a built-in signal reuses its
 * query: `{ kind: 'log', query: migrationFailedQuery(plan.name), severity: 0, threshold: 5, description: '...' }`.
 */
export interface CustomLogAlertProps extends CustomAlertBaseProps {
  /** Tells log and metric alerts apart. */
  readonly kind: 'log';
  /**
   * KQL query on the workspace (for example on `MigrationEvents_CL`). Refused at synth, as Azure
   * refuses them in a log search alert: `search`, `union *`, `evaluate` `bag_unpack()`, `pivot()` or
   * `narrow()`, `ago()` of anything but a timespan literal, the reserved word `AggregatedValue`, a
   * `workspace()`/`app()`/`resource()` not named by a string literal, more than 100 workspaces or
   * apps, and a rule over 64 KB.
   */
  readonly query: string;
  /**
   * Display name of the alert rule.
   * @default `<namePrefix>: <alert name>`
   */
  readonly displayName?: string;
  /**
   * `Count` counts result rows; the others aggregate `metricMeasureColumn`.
   * @default 'Count'
   */
  readonly timeAggregationMethod?: LogAlertDefinition['timeAggregationMethod'];
  /**
   * Numeric column the aggregation applies to.
   * @default - none; required unless `timeAggregationMethod` is `Count`
   */
  readonly metricMeasureColumn?: string;
  /**
   * How the aggregated value is compared with `threshold`.
   * @default 'GreaterThan'
   */
  readonly operator?: LogAlertDefinition['operator'];
  /**
   * Resources the query needs at creation (a custom table), so Azure can validate it.
   * @default - the migration events table, when `monitorMigrationEvents()` was called first
   */
  readonly dependsOn?: readonly ITerraformDependable[];
}

/** A metric alert on one resource's platform metric. */
export interface CustomMetricAlertProps extends CustomAlertBaseProps {
  /** Tells log and metric alerts apart. */
  readonly kind: 'metric';
  /** The resource whose metric is watched (any object with an ARM `id`). */
  readonly resource: {
    /** ARM id of the resource. */
    readonly id: string;
  };
  /** Metric namespace, for example `Microsoft.DataFactory/factories`. */
  readonly metricNamespace: string;
  /** Metric name as the Azure Monitor reference spells it. */
  readonly metricName: string;
  /** How the metric's values in the window are combined. */
  readonly aggregation: MetricAlertDefinition['aggregation'];
  /** How the aggregated value is compared with `threshold`. */
  readonly operator: MetricAlertDefinition['operator'];
  /** The value the aggregated metric is compared with. */
  readonly threshold: number;
}

/** Any alert added with `MigrationMonitoring.addAlert` / `monitorCustom`. */
export type CustomAlertProps = CustomLogAlertProps | CustomMetricAlertProps;

/** Custom alert names become part of Azure names (`alert-<namePrefix>-<name>`) and construct ids. */
const ALERT_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Defaults of a custom alert that says nothing about its timing: the built-in alerts' common choice. */
const DEFAULT_TIMING = {
  log: { evaluationFrequencyMinutes: 5, windowMinutes: 5 },
  metric: { evaluationFrequencyMinutes: 5, windowMinutes: 15 },
} as const;

/** The definition of the custom alert `name`; its props are also its options. */
export function customAlertDefinition(
  namePrefix: string,
  name: string,
  alert: CustomLogAlertProps,
  eventsTable?: ITerraformDependable,
): LogAlertDefinition;
export function customAlertDefinition(namePrefix: string, name: string, alert: CustomMetricAlertProps): MetricAlertDefinition;
export function customAlertDefinition(
  namePrefix: string,
  name: string,
  alert: CustomAlertProps,
  eventsTable?: ITerraformDependable,
): LogAlertDefinition | MetricAlertDefinition {
  const optionsProp = `customAlerts.${name}`;
  if (!ALERT_NAME_PATTERN.test(name)) {
    throw new Error(`${optionsProp}: an alert name must be lowercase letters, digits and inner hyphens (got "${name}")`);
  }
  const common = {
    id: `CustomAlert-${name}`,
    name: `alert-${namePrefix}-${name}`,
    optionsProp,
    severity: alert.severity,
    ...DEFAULT_TIMING[alert.kind],
    description: alert.description,
    dimensions: alert.dimensions,
  };
  if (alert.kind === 'metric') {
    return {
      ...common,
      threshold: alert.threshold,
      metricNamespace: alert.metricNamespace,
      metricName: alert.metricName,
      aggregation: alert.aggregation,
      operator: alert.operator,
    };
  }
  const timeAggregationMethod = alert.timeAggregationMethod ?? 'Count';
  if (timeAggregationMethod !== 'Count' && alert.metricMeasureColumn === undefined) {
    throw new Error(`${optionsProp}.metricMeasureColumn is required: timeAggregationMethod ${timeAggregationMethod} aggregates a column`);
  }
  return {
    ...common,
    threshold: 0,
    displayName: alert.displayName ?? `${namePrefix}: ${name}`,
    query: alert.query,
    timeAggregationMethod,
    metricMeasureColumn: alert.metricMeasureColumn,
    operator: alert.operator ?? 'GreaterThan',
    dependsOn: alert.dependsOn ?? (eventsTable ? [eventsTable] : undefined),
  };
}
