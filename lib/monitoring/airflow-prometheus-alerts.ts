import { MonitorAlertPrometheusRuleGroup, MonitorAlertPrometheusRuleGroupRule } from '@cdktf/provider-azurerm/lib/monitor-alert-prometheus-rule-group';
import { tokenNamed } from '../private/required-fields';
import { AlertDefaults, AlertOptions, AlertSeverity, CreatedPrometheusAlert } from './alerts';

/**
 * Overrides of one of the Kubernetes host's Prometheus alert rules; every field wins over the rule's
 * built-in default. `threshold` only for a rule whose expression compares with one (task failures, DAG
 * import errors); the description and runbook go into the rule's `description` and `runbook_url`
 * annotations, which Azure adds to the alert it fires.
 */
export interface PrometheusAlertOptions extends Pick<AlertOptions, 'severity' | 'threshold' | 'description' | 'runbookUrl' | 'enabled' | 'autoMitigate'> {
  /**
   * Minutes the condition must hold, evaluation after evaluation, before the alert fires (the rule's `for`).
   * @default - set per rule
   */
  readonly forMinutes?: number;
  /**
   * Minutes of the counter the expression looks back over (`increase(...[15m])`), at least 2 (four of
   * the exporter's 30 s scrapes); only for a rule whose expression has a look-back (task failures,
   * scheduler heartbeat).
   * @default - set per rule
   */
  readonly windowMinutes?: number;
}

/** Overrides of the Kubernetes host's Prometheus alert rules, by option. */
export interface AirflowPrometheusAlertOptions {
  /**
   * The `AirflowTaskFailures` rule: Airflow task instances failed.
   * @default - severity 2, increase over 15 minutes above 0, for 1 minute
   */
  readonly airflowTaskFailuresRule?: PrometheusAlertOptions;
  /**
   * The `AirflowDagImportErrors` rule: the DAG processor cannot import a DAG file (a gauge: no `windowMinutes`).
   * @default - severity 1, above 0, for 10 minutes
   */
  readonly airflowDagImportErrorsRule?: PrometheusAlertOptions;
  /**
   * The `AirflowSchedulerHeartbeatMissing` rule: no scheduler heartbeat (no `threshold`: any heartbeat is one).
   * @default - severity 1, no heartbeat over 5 minutes, for 5 minutes
   */
  readonly airflowSchedulerHeartbeatMissingRule?: PrometheusAlertOptions;
}

/** The options of {@link AirflowPrometheusAlertOptions}, in the order of the rules in their group. */
export const AIRFLOW_PROMETHEUS_ALERT_OPTIONS = ['airflowTaskFailuresRule', 'airflowDagImportErrorsRule', 'airflowSchedulerHeartbeatMissingRule'] as const;

/**
 * Metric names the chart's statsd exporter publishes for Airflow's own signals: the chart's
 * `files/statsd-mappings.yml` maps `airflow.scheduler_heartbeat` to `airflow_scheduler_heartbeat`;
 * metrics without a mapping keep their statsd name with dots as underscores (`ti_failures`,
 * `dag_processing.import_errors` in Airflow's metrics reference).
 */
export const AIRFLOW_METRICS = {
  taskFailures: 'airflow_ti_failures',
  importErrors: 'airflow_dag_processing_import_errors',
  schedulerHeartbeat: 'airflow_scheduler_heartbeat',
} as const;

/** How often the metrics add-on scrapes the chart's statsd exporter (its custom scrape job). */
export const STATSD_SCRAPE_INTERVAL_SECONDS = 30;

/**
 * The shortest look-back of `rate()` and `increase()`: four scrapes, so that the two samples they need
 * are in the window even when a scrape fails or reaches the workspace late (with one scrape too few the
 * result is empty: the heartbeat rule would fire on a healthy scheduler, the task failures rule miss failures).
 */
export const SHORTEST_WINDOW_MINUTES = Math.ceil((4 * STATSD_SCRAPE_INTERVAL_SECONDS) / 60);

/**
 * `sum(<fn>(<counter>[<window>]))` over the counter's name as scraped and the same name with `_total`,
 * whichever holds data. The exporter serves its counters without `_total` (statsd_exporter names a
 * counter as mapped and serves the classic text format, never OpenMetrics), and the metrics add-on's
 * OpenTelemetry receiver keeps that name; whether Azure's metrics extension, which writes the
 * add-on's OTLP to the workspace, appends `_total` to a counter lacking it (as OpenTelemetry's
 * Prometheus compatibility rules ask of an exporter) is not documented. `or`, not a `__name__` regex:
 * both names in one window would make the function's result hold two series with one label set.
 */
export function sumOfCounter(fn: 'increase' | 'rate', counter: string, window: string): string {
  return `(sum(${fn}(${counter}[${window}])) or sum(${fn}(${counter}_total[${window}])))`;
}

/** One Prometheus alert rule's domain knowledge: what it watches and its defaults. */
interface PrometheusAlertDefinition {
  readonly alert: string;
  readonly optionsProp: (typeof AIRFLOW_PROMETHEUS_ALERT_OPTIONS)[number];
  readonly severity: AlertSeverity;
  readonly forMinutes: number;
  /** Look-back of the expression; none for an expression without one. */
  readonly windowMinutes?: number;
  /** Whether the expression compares with a threshold (default 0). */
  readonly hasThreshold: boolean;
  /** What fired, for the look-back in minutes the rule was given (none for a rule without one). */
  readonly description: (windowMinutes: number | undefined) => string;
  /** The PromQL: `window` the look-back (`15m`; empty for a rule without one). */
  readonly expression: (window: string, threshold: number) => string;
}

const DEFINITIONS: readonly PrometheusAlertDefinition[] = [
  {
    alert: 'AirflowTaskFailures',
    optionsProp: 'airflowTaskFailuresRule',
    severity: 2,
    forMinutes: 1,
    windowMinutes: 15,
    hasThreshold: true,
    description: (windowMinutes) => `Airflow task instances failed in the last ${windowMinutes} minutes (migration DAG on the Kubernetes host)`,
    expression: (window, threshold) => `${sumOfCounter('increase', AIRFLOW_METRICS.taskFailures, window)} > ${threshold}`,
  },
  {
    alert: 'AirflowDagImportErrors',
    optionsProp: 'airflowDagImportErrorsRule',
    severity: 1,
    forMinutes: 10,
    hasThreshold: true,
    description: () => 'The DAG processor cannot import a DAG file: the migration DAG may not be scheduled',
    // A gauge: no name of it carries `_total`.
    expression: (_, threshold) => `max(${AIRFLOW_METRICS.importErrors}) > ${threshold}`,
  },
  {
    alert: 'AirflowSchedulerHeartbeatMissing',
    optionsProp: 'airflowSchedulerHeartbeatMissingRule',
    severity: 1,
    forMinutes: 5,
    windowMinutes: 5,
    hasThreshold: false,
    description: (windowMinutes) => `No Airflow scheduler heartbeat for ${windowMinutes} minutes: no task of the migration is being scheduled`,
    // `or vector(0)`: a scheduler that never reported, or whose series vanished, also alerts.
    expression: (window) => `(${sumOfCounter('rate', AIRFLOW_METRICS.schedulerHeartbeat, window)} or vector(0)) == 0`,
  },
];

/** Each rule's name and options prop, for the facade's check that no two alerts share a name. */
export const AIRFLOW_PROMETHEUS_RULES: readonly { readonly name: string; readonly optionsProp: string }[] = DEFINITIONS.map(({ alert, optionsProp }) => ({ name: alert, optionsProp }));

/** How often the rule group evaluates its rules (`interval`, shared by the rules: no option of one rule). */
export const PROMETHEUS_RULE_GROUP_INTERVAL = 'PT1M';

/**
 * How long a resolved condition must stay resolved before Azure resolves the alert: within the "between 1 and 15
 * minutes" of `timeToResolve` in the 2021-07-22-preview API (Azure/azure-rest-api-specs `PrometheusRuleGroups.json`;
 * 2023-03-01 says only "Alert auto-resolution timeout"), and the value of Microsoft's sample rule group. Sent with
 * `auto_resolved` false too: the API documents the two apart, and azurerm 4.55.0 checks neither (`terraform validate`
 * takes any string for `time_to_resolve` and for `for`, which the API types only as a duration, with no bound).
 */
const TIME_TO_RESOLVE = 'PT10M';

/** Makes the rule group of the given rules (in the host, so its Terraform address is the host's). */
export type PrometheusRuleGroupMaker = (rules: MonitorAlertPrometheusRuleGroupRule[]) => MonitorAlertPrometheusRuleGroup;

function wholeMinutes(prop: string, field: string, value: number | undefined, least = 1, why = ''): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < least) {
    throw new Error(`${prop}.${field} must be a whole number of minutes, at least ${least} (got ${value})${why}`);
  }
}

/** The settings of one rule: its options over the defaults over the rule's own, checked. */
function resolveRule(definition: PrometheusAlertDefinition, options: PrometheusAlertOptions, defaults: AlertDefaults) {
  const prop = definition.optionsProp;
  // Every number is read at synth: a range checked, or written into the expression.
  for (const field of ['severity', 'forMinutes', 'windowMinutes', 'threshold'] as const) {
    const token = tokenNamed(options[field]);
    if (token) throw new Error(`${prop}.${field} must be a number, which is read at synth, not a token (got ${token})`);
  }
  if (options.windowMinutes !== undefined && definition.windowMinutes === undefined) {
    throw new Error(`${prop}.windowMinutes: ${definition.alert} reads a gauge as it is, with no look-back; forMinutes sets how long it must stay above the threshold`);
  }
  if (options.threshold !== undefined && !definition.hasThreshold) {
    throw new Error(`${prop}.threshold: ${definition.alert} fires when there is no heartbeat at all, with no threshold to set`);
  }
  const severity = options.severity ?? definition.severity;
  if (!Number.isInteger(severity) || severity < 0 || severity > 4) {
    throw new Error(`${prop}.severity must be an integer from 0 to 4 (got ${severity})`);
  }
  wholeMinutes(prop, 'forMinutes', options.forMinutes);
  wholeMinutes(
    prop,
    'windowMinutes',
    options.windowMinutes,
    SHORTEST_WINDOW_MINUTES,
    `: the exporter is scraped every ${STATSD_SCRAPE_INTERVAL_SECONDS} s, and ${definition.alert}'s look-back needs two samples even when a scrape fails or arrives late`,
  );
  const threshold = options.threshold ?? 0;
  if (!Number.isFinite(threshold) || threshold < 0) {
    throw new Error(`${prop}.threshold must be a finite number, at least 0 (got ${threshold}): the rule compares a count, which is never negative`);
  }
  const forMinutes = options.forMinutes ?? definition.forMinutes;
  const windowMinutes = options.windowMinutes ?? definition.windowMinutes;
  const runbookUrl = options.runbookUrl ?? defaults.runbookUrl;
  const ownDescription = options.description ?? definition.description(windowMinutes);
  return {
    severity,
    forDuration: `PT${forMinutes}M`,
    window: windowMinutes === undefined ? undefined : `PT${windowMinutes}M`,
    expression: definition.expression(windowMinutes === undefined ? '' : `${windowMinutes}m`, threshold),
    runbookUrl,
    description: runbookUrl ? `${ownDescription} Runbook: ${runbookUrl}` : ownDescription,
    enabled: options.enabled ?? defaults.enabled ?? true,
    autoMitigate: options.autoMitigate ?? defaults.autoMitigate ?? true,
  };
}

/**
 * The Kubernetes host's Prometheus alerts on Airflow's own signals (task failures, DAG import errors,
 * a silent scheduler), with the given overrides and alert defaults, acting through `actionGroupId`:
 * `makeGroup` makes their rule group; what was made is returned for `createdAlerts()`.
 */
export function createAirflowPrometheusAlerts(
  actionGroupId: string,
  options: AirflowPrometheusAlertOptions,
  defaults: AlertDefaults,
  makeGroup: PrometheusRuleGroupMaker,
): CreatedPrometheusAlert[] {
  const resolved = DEFINITIONS.map((definition) => ({ definition, settings: resolveRule(definition, options[definition.optionsProp] ?? {}, defaults) }));
  const group = makeGroup(
    resolved.map(({ definition, settings }) => ({
      alert: definition.alert,
      expression: settings.expression,
      for: settings.forDuration,
      severity: settings.severity,
      // Microsoft's sample rule group carries `description` and `runbook_url` annotations, which Azure adds to the fired alert.
      annotations: { description: settings.description, ...(settings.runbookUrl ? { runbook_url: settings.runbookUrl } : {}) },
      enabled: settings.enabled,
      action: [{ actionGroupId }],
      alertResolution: { autoResolved: settings.autoMitigate, timeToResolve: TIME_TO_RESOLVE },
    })),
  );
  return resolved.map(({ definition, settings }) => ({
    kind: 'prometheus',
    name: definition.alert,
    severity: settings.severity,
    description: settings.description,
    evaluationFrequency: PROMETHEUS_RULE_GROUP_INTERVAL,
    window: settings.window ?? settings.forDuration,
    for: settings.forDuration,
    resource: group,
  }));
}
