/**
 * The events the real DAG writes for a handful of incidents (dags/tests/event-replays/*.jsonl, recorded by the DAG
 * tests that run them: dags/tests/event_replays.py), replayed through every log alert the stack deploys for the plan
 * each ran: which alerts fire, for which databases. Hand-written histories (alert-behaviour-kql.test.ts) show what an
 * alert does with events as someone thought the DAG writes them; these are what it writes. A replay found a false
 * `cutover-postponed` for a database an earlier run had migrated in its window (fixed in steps.py; the fixture
 * run-again-after-a-cutover-in-its-window-* keeps it fixed).
 *
 * Each alert as Azure runs it (scheduled query rules, `azurerm_monitor_scheduled_query_rules_alert_v2`): every
 * `evaluation_frequency` over the events of `window_duration` before, split by its dimensions, each split's rows
 * counted (or `metric_measure_column` aggregated) and compared with `threshold`. Evaluated at every event's time and
 * after the last one every `evaluation_frequency` until the window has passed it. The rehearsal's times are its
 * real seconds (a run takes seconds, not hours): alerts on time (running long, stalled, frozen too long) see none
 * of a real migration's hours here; what a status fires, they show.
 *
 * When the DAG's events change on purpose, record the fixture again (the DAG test's failure prints the command) and
 * update FIRES below if the alerts that fire changed; either side drifting alone fails.
 */
import * as fs from 'fs';
import * as path from 'path';
import { MIGRATION_EVENT_COLUMNS } from '../../lib/monitoring/migration-events';
import { gatesCutovers } from '../../lib/plan/cutover-schema';
import { parseMigrationPlan } from '../../lib/plan/parse';
import { resourcesOfType, synthObject } from '../helpers/test-stack';
import { monitoring } from '../monitoring/monitoring-test-stack';
import { isoMinutes, runKql } from './kql-engine';

const REPLAYS = path.join(__dirname, '..', '..', 'dags', 'tests', 'event-replays');
const MINUTE = 60_000;
/** Where the replay puts the first event: any instant does, the times are relative. */
const T0 = Date.parse('2026-12-05T21:00:00Z');

/** Which alerts fire, each with the databases it names (`-` for an alert not split by database), per fixture. */
const FIRES: Record<string, Record<string, string[]>> = {
  'clean-migration-of-two-dependent-databases': {},
  'dms-failed-and-validation-mismatch': { 'migration-failed': ['archive', 'to_mi'] },
  'cutover-rejected-in-every-window': { 'cutover-awaiting-approval': ['db'], 'cutover-postponed': ['db'] },
  'no-approval-in-time-window-missed': { 'cutover-awaiting-approval': ['db'], 'cutover-postponed': ['db'] },
  'worker-killed-mid-cutover-then-next-run': { 'cutover-awaiting-approval': ['db'] },
  'run-again-after-a-cutover-in-its-window-offline': {},
  'run-again-after-a-cutover-in-its-window-online': {},
  // The self-hosted runtime offline after the freeze (sqlAccess: dataFactory): final_backup and the rollback wait 12
  // simulated hours each and fail; the cleared rollback ends RolledBack. shir-offline is a metric alert, not replayed.
  'shir-offline-after-the-freeze-then-cleared': { 'migration-failed': ['db'], 'migration-running-long': ['db'], 'rollback-failed': ['db'] },
  'two-windows-one-rejection-in-airflow': {
    'cutover-awaiting-approval': ['database_1', 'database_2', 'database_3'],
    'cutover-postponed': ['database_2'],
  },
};

/** A migration event as the fixture keeps it, at its replay time (TimeGenerated, milliseconds). */
type Event = Record<string, string | number> & { TimeGenerated: number; Message: string };

type Alert = {
  name: string;
  query: string;
  windowMs: number;
  frequencyMs: number;
  aggregation: string;
  measure?: string;
  operator: string;
  threshold: number;
  dimensions: string[];
};

/** The log alerts on the migration events, as the stack deploys them for `plan` (database-migration-stack.ts). */
function deployedAlerts(document: unknown): Alert[] {
  const plan = parseMigrationPlan(document, 'event replay');
  const { stack, monitoring: construct } = monitoring({ namePrefix: plan.name });
  construct.monitorMigrationEvents({
    longRunningMinutes: plan.notifications.longRunningMinutes,
    databases: plan.databases,
    cutoverAlerts: gatesCutovers(plan),
  });
  return Object.values(resourcesOfType(synthObject(stack), 'azurerm_monitor_scheduled_query_rules_alert_v2'))
    .map((alert: any) => {
      const [criteria] = alert.criteria;
      return {
        name: String(alert.name).replace(`alert-${plan.name}-`, ''),
        query: criteria.query as string,
        windowMs: isoMinutes(alert.window_duration) * MINUTE,
        frequencyMs: isoMinutes(alert.evaluation_frequency) * MINUTE,
        aggregation: criteria.time_aggregation_method as string,
        measure: criteria.metric_measure_column as string | undefined,
        operator: criteria.operator as string,
        threshold: Number(criteria.threshold),
        dimensions: (criteria.dimension ?? []).map((dimension: any) => String(dimension.name)),
      };
    })
    .filter((alert) => alert.query.includes('MigrationEvents_CL'));
}

function crosses(value: number, operator: string, threshold: number): boolean {
  switch (operator) {
    case 'GreaterThan': return value > threshold;
    case 'GreaterThanOrEqual': return value >= threshold;
    case 'LessThan': return value < threshold;
    case 'LessThanOrEqual': return value <= threshold;
    case 'Equal': return value === threshold;
    default: throw new Error(`operator ${operator}`);
  }
}

function aggregate(rows: Record<string, unknown>[], alert: Alert): number {
  if (alert.aggregation === 'Count') return rows.length;
  const values = rows.map((row) => Number(row[alert.measure!]));
  switch (alert.aggregation) {
    case 'Total': return values.reduce((sum, value) => sum + value, 0);
    case 'Average': return values.reduce((sum, value) => sum + value, 0) / values.length;
    case 'Minimum': return Math.min(...values);
    case 'Maximum': return Math.max(...values);
    default: throw new Error(`aggregation ${alert.aggregation}`);
  }
}

/** The splits of `alert` that fire at `now`, each by its dimension values. */
function firing(alert: Alert, events: readonly Event[], now: number): Record<string, unknown>[] {
  const inWindow = events.filter((event) => event.TimeGenerated <= now && event.TimeGenerated > now - alert.windowMs);
  const rows = runKql(alert.query, { tables: { MigrationEvents_CL: { columns: MIGRATION_EVENT_COLUMNS.map((c) => c.name), rows: inWindow } }, now });
  const splits = new Map<string, Record<string, unknown>[]>();
  for (const row of rows) {
    const key = JSON.stringify(alert.dimensions.map((dimension) => row[dimension]));
    splits.set(key, [...(splits.get(key) ?? []), row]);
  }
  return [...splits.values()]
    .filter((split) => split.length > 0 && crosses(aggregate(split, alert), alert.operator, alert.threshold))
    .map((split) => Object.fromEntries(alert.dimensions.map((dimension) => [dimension, split[0][dimension]])));
}

function readFixture(file: string) {
  const [header, ...lines] = fs.readFileSync(path.join(REPLAYS, file), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
  const events: Event[] = lines.map(({ At, ...event }: any) => ({ ...event, TimeGenerated: T0 + Math.round(At * 1000) }));
  return { header, events };
}

/** Every alert that fires while the fixture's events arrive and until they have left its window: name -> databases. */
function replay(file: string): Record<string, string[]> {
  const { header, events } = readFixture(file);
  const last = Math.max(...events.map((event) => event.TimeGenerated));
  // A rehearsal stops watching a database still waiting for its next window at its horizon (MIGRATION_SIMULATE_UNTIL),
  // where a deployed run goes on waiting, a heartbeat every 15 minutes: the silence after it is the rehearsal's.
  const lastOf = new Map(events.map((event) => [event.Database, event]));
  const watchedAfterLast = ![...lastOf.values()].some((event) => event.Message.includes("at the rehearsal's horizon"));
  const fired: Record<string, Set<string>> = {};
  for (const alert of deployedAlerts(header.plan)) {
    const times = events.map((event) => event.TimeGenerated);
    for (let after = alert.frequencyMs; watchedAfterLast && after <= alert.windowMs + alert.frequencyMs; after += alert.frequencyMs) {
      times.push(last + after);
    }
    for (const now of new Set(times)) {
      for (const split of firing(alert, events, now)) {
        (fired[alert.name] ??= new Set()).add(String(split.Database ?? '-'));
      }
    }
  }
  return Object.fromEntries(Object.entries(fired).map(([name, databases]) => [name, [...databases].sort()]));
}

const FIXTURES = fs.readdirSync(REPLAYS).filter((file) => file.endsWith('.jsonl')).sort();

it('every recorded incident has its expected alerts here, and every expected one a recording', () => {
  expect(FIXTURES.map((file) => file.replace(/\.jsonl$/, ''))).toEqual(Object.keys(FIRES).sort());
});

describe.each(FIXTURES)('%s', (file) => {
  it('fires the alerts an operator should get, and no other', () => {
    expect(replay(file)).toEqual(FIRES[file.replace(/\.jsonl$/, '')]);
  });
});

it('a clean migration deploys every migration-events alert the stack has, so none of them firing means something', () => {
  const { header } = readFixture('clean-migration-of-two-dependent-databases.jsonl');
  expect(deployedAlerts(header.plan).map((alert) => alert.name).sort()).toEqual([
    'migration-failed', 'migration-running-long', 'migration-stalled', 'rollback-failed', 'source-frozen-too-long',
  ]);
});
