import { ITerraformDependable, Token } from 'cdktf';
import { Construct } from 'constructs';
import type { MonitorAlertPrometheusRuleGroup } from '@cdktf/provider-azurerm/lib/monitor-alert-prometheus-rule-group';
import { MonitorMetricAlert } from '@cdktf/provider-azurerm/lib/monitor-metric-alert';
import { MonitorScheduledQueryRulesAlertV2 } from '@cdktf/provider-azurerm/lib/monitor-scheduled-query-rules-alert-v2';
import { alertTiming, LOG_ALERT_MAX_STATEFUL_FREQUENCY_MINUTES } from '../private/alert-timing';
import { tokenNamed } from '../private/required-fields';
import { checkLogAlertQuery, checkLogAlertRuleSize, checkOneMinuteQuery, findings } from '../private/log-alert-query';

/** Azure Monitor alert severities: 0 is the most severe. */
export const AlertSeverity = {
  /** Sev 0: act now. */
  CRITICAL: 0,
  /** Sev 1: something failed. */
  ERROR: 1,
  /** Sev 2: something needs attention soon. */
  WARNING: 2,
  /** Sev 3: for information. */
  INFORMATIONAL: 3,
  /** Sev 4: diagnostics only. */
  VERBOSE: 4,
} as const;

/** One of the {@link AlertSeverity} values. */
export type AlertSeverity = (typeof AlertSeverity)[keyof typeof AlertSeverity];

/** Per-alert overrides; every field wins over the alert's built-in default. */
export interface AlertOptions {
  /**
   * Severity, 0 (critical) to 4 (verbose).
   * @default - set per alert (see the method that creates it)
   */
  readonly severity?: AlertSeverity;
  /**
   * How often Azure evaluates the alert. Metric alerts: 1, 5, 15, 30, 60. Log alerts: 1, 5, 10,
   * 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440 (1 not for a query with `search`, `union`,
   * `take`, `limit`, `ingestion_time()` or `adx()`, such as the event ingestion errors alert's).
   * @default - set per alert
   */
  readonly evaluationFrequencyMinutes?: number;
  /**
   * How much data each evaluation looks at; at least the frequency. Metric alerts: 1, 5, 15, 30,
   * 60, 360, 720, 1440. Log alerts: 1, 5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440, 2880.
   * @default - set per alert
   */
  readonly windowMinutes?: number;
  /**
   * The alert fires when the watched value crosses this threshold (the operator is the alert's own).
   * @default - set per alert
   */
  readonly threshold?: number;
  /**
   * Description shown in the alert and its notification.
   * @default - set per alert, saying what fired and what to check first
   */
  readonly description?: string;
  /**
   * Link to the runbook for this alert; appended to the description (an Essentials field of every notification:
   * MicrosoftDocs/azure-monitor-docs `articles/azure-monitor/alerts/alerts-common-schema.md`). For log alerts also sent
   * as the `runbookUrl` custom property of the alert payload, which reaches webhook, Logic Apps, Functions and
   * Automation runbook actions only: custom properties "aren't included in email, SMS, or push notifications"
   * (`articles/azure-monitor/alerts/includes/alerts-wizard-custom-properties.md` there). For Prometheus rules, their
   * `runbook_url` annotation.
   * @default - the facade's `alertDefaults.runbookUrl`, else none
   */
  readonly runbookUrl?: string;
  /**
   * Whether the alert rule is enabled.
   * @default - the facade's `alertDefaults.enabled`, else true
   */
  readonly enabled?: boolean;
  /**
   * Whether Azure resolves the alert by itself once the condition clears. Must be false for a log
   * alert evaluated less often than every 12 hours (`evaluationFrequencyMinutes` 1440): Azure does
   * not support stateful log alerts at that frequency.
   * @default - the facade's `alertDefaults.autoMitigate`, else true
   */
  readonly autoMitigate?: boolean;
}

/** Defaults set once on the facade for every alert it creates; per-alert options win. */
export interface AlertDefaults {
  /**
   * Whether alert rules are enabled.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Whether Azure resolves alerts by themselves once the condition clears.
   * @default true
   */
  readonly autoMitigate?: boolean;
  /**
   * Runbook link for every alert without its own.
   * @default - none
   */
  readonly runbookUrl?: string;
}

/** What the facade made, so tests and users can check every alert (cdk-monitoring-constructs style). */
export type CreatedAlert = CreatedMetricAlert | CreatedLogAlert | CreatedPrometheusAlert;

interface CreatedAlertBase {
  /** Azure name of the alert rule. */
  readonly name: string;
  /** Final severity, options applied. */
  readonly severity: AlertSeverity;
  /** Final description, runbook link included. */
  readonly description: string;
  /** ISO 8601, e.g. `PT5M`. */
  readonly evaluationFrequency: string;
  /** ISO 8601, e.g. `PT15M`. */
  readonly window: string;
}

/** A metric alert on a resource's platform metric. */
export interface CreatedMetricAlert extends CreatedAlertBase {
  /** Tells metric and log alerts apart. */
  readonly kind: 'metric';
  /** The `azurerm_monitor_metric_alert` resource. */
  readonly resource: MonitorMetricAlert;
}

/** A scheduled-query (log search) alert on the workspace. */
export interface CreatedLogAlert extends CreatedAlertBase {
  /** Tells metric and log alerts apart. */
  readonly kind: 'log';
  /** The `azurerm_monitor_scheduled_query_rules_alert_v2` resource. */
  readonly resource: MonitorScheduledQueryRulesAlertV2;
}

/** A Prometheus alert rule (the Kubernetes host's, on Airflow's statsd metrics in managed Prometheus). */
export interface CreatedPrometheusAlert extends CreatedAlertBase {
  /** Tells metric, log and Prometheus alerts apart. */
  readonly kind: 'prometheus';
  /** `evaluationFrequency` is its rule group's `interval`; `window` the expression's look-back, or `for` for a rule without one. */
  readonly window: string;
  /** How long the condition must hold before the alert fires (the rule's `for`), ISO 8601. */
  readonly for: string;
  /** The `azurerm_monitor_alert_prometheus_rule_group` that holds the rule (named `name` among its rules). */
  readonly resource: MonitorAlertPrometheusRuleGroup;
}

/** A split of the alert by one dimension; `values: ['*']` means one alert per value. */
export interface AlertDimension {
  /** Dimension (metric) or column (log query) to split by. */
  readonly name: string;
  /** Whether `values` are the ones watched or the ones left out. */
  readonly operator: 'Include' | 'Exclude';
  /** Dimension values; `['*']` for every value, each its own alert. */
  readonly values: readonly string[];
}

/**
 * One alert per value of each of `columns` (a log alert's result columns). A log alert's
 * notification carries its dimension values (`alertContext.condition.allOf[].dimensions` of the
 * common alert schema): what it splits on is what the person notified reads.
 */
export function splitOn(...columns: string[]): readonly AlertDimension[] {
  return columns.map((name) => ({ name, operator: 'Include', values: ['*'] }));
}

/** The domain knowledge of one alert: what it watches and its defaults. Made by small factories. */
export interface AlertDefinition {
  /** Construct id of the alert resource. */
  readonly id: string;
  /** Azure name of the alert rule. */
  readonly name: string;
  /** Name of the options prop, used in error messages (`migrationFailedAlert`). */
  readonly optionsProp: string;
  /** Default severity. */
  readonly severity: AlertSeverity;
  /** Default evaluation frequency in minutes. */
  readonly evaluationFrequencyMinutes: number;
  /** Default window in minutes. */
  readonly windowMinutes: number;
  /** Default threshold the watched value is compared with. */
  readonly threshold: number;
  /** Default description: what fired and what to check first. */
  readonly description: string;
}

/** A metric alert definition. */
export interface MetricAlertDefinition extends AlertDefinition {
  /** Metric namespace, for example `Microsoft.DataFactory/factories`. */
  readonly metricNamespace: string;
  /** Metric name as the Azure Monitor reference spells it. */
  readonly metricName: string;
  /** How the metric's values in the window are combined. */
  readonly aggregation: 'Average' | 'Count' | 'Minimum' | 'Maximum' | 'Total';
  /** How the aggregated value is compared with the threshold. */
  readonly operator: 'Equals' | 'GreaterThan' | 'GreaterThanOrEqual' | 'LessThan' | 'LessThanOrEqual';
  /**
   * Dimensions to filter or split the metric by.
   * @default - none: the metric as a whole
   */
  readonly dimensions?: readonly AlertDimension[];
}

/** A log search alert definition; the query runs on the workspace. */
export interface LogAlertDefinition extends AlertDefinition {
  /** Display name of the alert rule. */
  readonly displayName: string;
  /** KQL query on the workspace. */
  readonly query: string;
  /** `Count` counts result rows; the others aggregate `metricMeasureColumn`. */
  readonly timeAggregationMethod: 'Count' | 'Average' | 'Minimum' | 'Maximum' | 'Total';
  /**
   * Numeric column the aggregation applies to.
   * @default - none; required unless `timeAggregationMethod` is `Count`
   */
  readonly metricMeasureColumn?: string;
  /** How the aggregated value is compared with the threshold. */
  readonly operator: 'Equal' | 'GreaterThan' | 'GreaterThanOrEqual' | 'LessThan' | 'LessThanOrEqual';
  /**
   * Columns to split the result by (one alert per value, for example per database).
   * @default - none: one alert for the whole result
   */
  readonly dimensions?: readonly AlertDimension[];
  /**
   * Resources the query needs at creation (the custom table), so query validation can stay on.
   * @default - none
   */
  readonly dependsOn?: readonly ITerraformDependable[];
}

/** Where alerts go and what they share; one per facade. */
export interface AlertTarget {
  /** Construct scope of the alert resources. */
  readonly scope: Construct;
  /** Resource group of the alert rules. */
  readonly resourceGroupName: string;
  /** Region of log alerts (metric alerts are global). */
  readonly location: string;
  /** ARM id of the action group every alert acts through. */
  readonly actionGroupId: string;
  /** Defaults under each alert's own options. */
  readonly defaults: AlertDefaults;
  /** Tags of the alert rules. */
  readonly tags?: Readonly<Record<string, string>>;
}

interface ResolvedSettings {
  readonly severity: AlertSeverity;
  readonly evaluationFrequency: string;
  readonly window: string;
  readonly threshold: number;
  readonly description: string;
  readonly runbookUrl?: string;
  readonly enabled: boolean;
  readonly autoMitigate: boolean;
}

/** User options over facade defaults over the definition's defaults, validated. */
function resolve(
  kind: 'metric' | 'log',
  definition: AlertDefinition,
  options: AlertOptions,
  defaults: AlertDefaults,
): ResolvedSettings {
  // Checked and computed with here (a range, the timing): a token's value is known only at apply. The threshold is
  // handed to Terraform as it is, so a token passes (a count's threshold is checked only when literal).
  for (const field of ['severity', 'evaluationFrequencyMinutes', 'windowMinutes'] as const) {
    const token = tokenNamed(options[field]);
    if (token) throw new Error(`${definition.optionsProp}.${field} must be a number, which is read at synth, not a token (got ${token})`);
  }
  const severity = options.severity ?? definition.severity;
  if (!Number.isInteger(severity) || severity < 0 || severity > 4) {
    throw new Error(`${definition.optionsProp}.severity must be an integer from 0 to 4 (got ${severity})`);
  }
  const threshold = options.threshold ?? definition.threshold;
  if (!tokenNamed(threshold) && !Number.isFinite(threshold)) {
    throw new Error(`${definition.optionsProp}.threshold must be a finite number (got ${threshold})`);
  }
  const frequencyMinutes = options.evaluationFrequencyMinutes ?? definition.evaluationFrequencyMinutes;
  const timing = alertTiming(kind, definition.optionsProp, frequencyMinutes, options.windowMinutes ?? definition.windowMinutes);
  const autoMitigate = options.autoMitigate ?? defaults.autoMitigate ?? true;
  if (kind === 'log' && autoMitigate && frequencyMinutes > LOG_ALERT_MAX_STATEFUL_FREQUENCY_MINUTES) {
    throw new Error(
      `${definition.optionsProp}.autoMitigate must be false when ${definition.optionsProp}.evaluationFrequencyMinutes is more than ${LOG_ALERT_MAX_STATEFUL_FREQUENCY_MINUTES} ` +
        `(got ${frequencyMinutes}): Azure supports no stateful (auto-resolving) log alert evaluated less often than every 12 hours`,
    );
  }
  const runbookUrl = options.runbookUrl ?? defaults.runbookUrl;
  const description = options.description ?? definition.description;
  return {
    severity,
    threshold,
    ...timing,
    runbookUrl,
    description: runbookUrl ? `${description} Runbook: ${runbookUrl}` : description,
    enabled: options.enabled ?? defaults.enabled ?? true,
    autoMitigate,
  };
}

/** A dimension's values: a list copied, a list token (`Token.asList`, `Fn.concat` ...) handed to Terraform as it is. */
function dimensionValues(values: readonly string[]): string[] {
  return Token.isUnresolved(values) ? (values as string[]) : [...values];
}

/** Creates a metric alert on `scopeResourceId` that acts through the target's action group. */
export function createMetricAlert(
  target: AlertTarget,
  scopeResourceId: string,
  definition: MetricAlertDefinition,
  options: AlertOptions = {},
): CreatedMetricAlert {
  const settings = resolve('metric', definition, options, target.defaults);
  const resource = new MonitorMetricAlert(target.scope, definition.id, {
    name: definition.name,
    resourceGroupName: target.resourceGroupName,
    scopes: [scopeResourceId],
    description: settings.description,
    severity: settings.severity,
    frequency: settings.evaluationFrequency,
    windowSize: settings.window,
    enabled: settings.enabled,
    autoMitigate: settings.autoMitigate,
    criteria: [
      {
        metricNamespace: definition.metricNamespace,
        metricName: definition.metricName,
        aggregation: definition.aggregation,
        operator: definition.operator,
        threshold: settings.threshold,
        dimension: definition.dimensions?.map((dimension) => ({
          name: dimension.name,
          operator: dimension.operator,
          values: dimensionValues(dimension.values),
        })),
      },
    ],
    action: [{ actionGroupId: target.actionGroupId }],
    tags: target.tags,
  });
  return {
    kind: 'metric',
    name: definition.name,
    severity: settings.severity,
    description: settings.description,
    evaluationFrequency: settings.evaluationFrequency,
    window: settings.window,
    resource,
  };
}

/** Creates a log search alert over `workspaceId` that acts through the target's action group. */
export function createLogAlert(
  target: AlertTarget,
  workspaceId: string,
  definition: LogAlertDefinition,
  options: AlertOptions = {},
): CreatedLogAlert {
  const settings = resolve('log', definition, options, target.defaults);
  const found = findings(definition.query); // read once for both checks
  checkOneMinuteQuery(definition.optionsProp, options.evaluationFrequencyMinutes ?? definition.evaluationFrequencyMinutes, definition.query, found);
  checkLogAlertQuery(definition.optionsProp, definition.query, found);
  if (definition.timeAggregationMethod === 'Count' && !tokenNamed(settings.threshold) && settings.threshold < 0) {
    throw new Error(
      `${definition.optionsProp}.threshold must be at least 0 (got ${settings.threshold}): the alert compares a count of rows, which is never negative`,
    );
  }
  const customProperties = settings.runbookUrl ? { runbookUrl: settings.runbookUrl } : undefined;
  checkLogAlertRuleSize(definition.optionsProp, {
    displayName: definition.displayName,
    description: settings.description,
    query: definition.query,
    dimensions: definition.dimensions,
    customProperties,
  });
  const resource = new MonitorScheduledQueryRulesAlertV2(target.scope, definition.id, {
    name: definition.name,
    displayName: definition.displayName,
    resourceGroupName: target.resourceGroupName,
    location: target.location,
    scopes: [workspaceId],
    description: settings.description,
    severity: settings.severity,
    evaluationFrequency: settings.evaluationFrequency,
    windowDuration: settings.window,
    enabled: settings.enabled,
    autoMitigationEnabled: settings.autoMitigate,
    workspaceAlertsStorageEnabled: false,
    // The query's table is created first (dependsOn), so Azure can validate the query.
    skipQueryValidation: false,
    criteria: [
      {
        query: definition.query,
        timeAggregationMethod: definition.timeAggregationMethod,
        metricMeasureColumn: definition.metricMeasureColumn,
        operator: definition.operator,
        threshold: settings.threshold,
        dimension: definition.dimensions?.map((dimension) => ({
          name: dimension.name,
          operator: dimension.operator,
          values: dimensionValues(dimension.values),
        })),
      },
    ],
    action: {
      actionGroups: [target.actionGroupId],
      customProperties,
    },
    dependsOn: definition.dependsOn ? [...definition.dependsOn] : undefined,
    tags: target.tags,
  });
  return {
    kind: 'log',
    name: definition.name,
    severity: settings.severity,
    description: settings.description,
    evaluationFrequency: settings.evaluationFrequency,
    window: settings.window,
    resource,
  };
}
