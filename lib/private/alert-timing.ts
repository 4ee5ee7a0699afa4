/**
 * Evaluation frequencies and windows that Azure Monitor accepts, in minutes, and their ISO 8601
 * form. The lists are the azurerm 4.55 provider's own validation (`monitor_metric_alert_resource.go`,
 * `monitor_scheduled_query_rules_alert_v2_resource.go`), so a bad value fails at synth, naming the
 * prop, instead of at `terraform apply`. They sit inside what Microsoft documents for a log search
 * alert: a frequency "from one minute to one day", a time range of at most two days
 * (MicrosoftDocs/azure-monitor-docs `articles/azure-monitor/alerts/alerts-create-log-alert-rule.md`).
 */

/** Minutes that `azurerm_monitor_metric_alert.frequency` accepts. */
export const METRIC_ALERT_FREQUENCY_MINUTES: readonly number[] = [1, 5, 15, 30, 60];

/** Minutes that `azurerm_monitor_metric_alert.window_size` accepts. */
export const METRIC_ALERT_WINDOW_MINUTES: readonly number[] = [1, 5, 15, 30, 60, 360, 720, 1440];

/** Minutes that `azurerm_monitor_scheduled_query_rules_alert_v2.evaluation_frequency` accepts. */
export const LOG_ALERT_FREQUENCY_MINUTES: readonly number[] = [
  1, 5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440,
];

/** Minutes that `azurerm_monitor_scheduled_query_rules_alert_v2.window_duration` accepts. */
export const LOG_ALERT_WINDOW_MINUTES: readonly number[] = [
  1, 5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440, 2880,
];

/** The longest window a log alert may look back over (two days). */
export const LONGEST_LOG_ALERT_WINDOW_MINUTES = LOG_ALERT_WINDOW_MINUTES[LOG_ALERT_WINDOW_MINUTES.length - 1];

/**
 * Azure resolves a log alert by itself (auto-mitigation, a stateful rule) only when it is evaluated at
 * least every 12 hours: "Stateful alert rules with a frequency of more than 12 hours are not supported"
 * (MicrosoftDocs/azure-monitor-docs `articles/azure-monitor/alerts/alerts-create-log-alert-rule.md`).
 */
export const LOG_ALERT_MAX_STATEFUL_FREQUENCY_MINUTES = 720;

/** Azure evaluates one-minute log alerts over at most six hours. */
const LOG_ALERT_MAX_WINDOW_AT_ONE_MINUTE = 360;

const MINUTES_PER_HOUR = 60;
const MINUTES_PER_DAY = 1440;

/** 5 -> `PT5M`, 60 -> `PT1H`, 1440 -> `P1D`: the spelling the provider validates against. */
export function isoDuration(minutes: number): string {
  if (minutes % MINUTES_PER_DAY === 0) {
    return `P${minutes / MINUTES_PER_DAY}D`;
  }
  if (minutes % MINUTES_PER_HOUR === 0) {
    return `PT${minutes / MINUTES_PER_HOUR}H`;
  }
  return `PT${minutes}M`;
}

/** Which rules apply: metric alerts and log (scheduled query) alerts accept different values. */
export type AlertKind = 'metric' | 'log';

/** A validated evaluation schedule, in ISO 8601 as Azure wants it. */
export interface AlertTiming {
  /** How often Azure evaluates the alert, for example `PT5M`. */
  readonly evaluationFrequency: string;
  /** How much data each evaluation looks at, for example `PT15M`. */
  readonly window: string;
}

/**
 * Checks a frequency/window pair against what Azure accepts for the kind of alert and returns
 * the ISO durations. `propPath` names the option in the error, e.g. `migrationFailedAlert`.
 */
export function alertTiming(
  kind: AlertKind,
  propPath: string,
  evaluationFrequencyMinutes: number,
  windowMinutes: number,
): AlertTiming {
  const frequencies = kind === 'metric' ? METRIC_ALERT_FREQUENCY_MINUTES : LOG_ALERT_FREQUENCY_MINUTES;
  const windows = kind === 'metric' ? METRIC_ALERT_WINDOW_MINUTES : LOG_ALERT_WINDOW_MINUTES;
  const what = kind === 'metric' ? 'a metric alert' : 'a log alert';

  if (!frequencies.includes(evaluationFrequencyMinutes)) {
    throw new Error(
      `${propPath}.evaluationFrequencyMinutes must be one of ${frequencies.join(', ')} for ${what} (got ${evaluationFrequencyMinutes})`,
    );
  }
  if (!windows.includes(windowMinutes)) {
    throw new Error(
      `${propPath}.windowMinutes must be one of ${windows.join(', ')} for ${what} (got ${windowMinutes})`,
    );
  }
  if (windowMinutes < evaluationFrequencyMinutes) {
    throw new Error(
      `${propPath}.windowMinutes (${windowMinutes}) must be at least ${propPath}.evaluationFrequencyMinutes (${evaluationFrequencyMinutes}): Azure would skip data between evaluations`,
    );
  }
  if (kind === 'log' && evaluationFrequencyMinutes === 1 && windowMinutes > LOG_ALERT_MAX_WINDOW_AT_ONE_MINUTE) {
    throw new Error(
      `${propPath}.windowMinutes must be at most ${LOG_ALERT_MAX_WINDOW_AT_ONE_MINUTE} when ${propPath}.evaluationFrequencyMinutes is 1 (got ${windowMinutes})`,
    );
  }
  return { evaluationFrequency: isoDuration(evaluationFrequencyMinutes), window: isoDuration(windowMinutes) };
}

/** The shortest window in `allowed` that is at least `minimumMinutes`, or undefined if none is. */
export function shortestWindowOfAtLeast(allowed: readonly number[], minimumMinutes: number): number | undefined {
  return allowed.find((minutes) => minutes >= minimumMinutes);
}
