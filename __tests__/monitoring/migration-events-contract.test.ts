/**
 * The Terraform side of the migration-events contract (`dags/.../contracts/migration_events.json`):
 * the table, the rule's stream and every query name only what the file defines. The DAG side checks
 * its writer against the same file (`dags/tests/test_event_contract.py`).
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  kqlString,
  migrationEventsSource,
  MIGRATION_EVENTS_STREAM,
  MIGRATION_EVENTS_TABLE,
  MIGRATION_PHASES,
  MIGRATION_STATUSES,
} from '../../lib/monitoring/migration-events';
import { DATA_COLLECTION_RULE_ERRORS_TABLE } from '../../lib/monitoring/event-ingestion-errors';
import { loadMigrationEventsContract, MIGRATION_EVENTS_CONTRACT_FILE } from '../../lib/monitoring/migration-events-contract';
import { workbookQueries } from '../../lib/monitoring/migration-workbook';
import { findPackageRoot } from '../../lib/private/package-root';
import { logAlertQueries, onlyResource, synthObject } from '../helpers/test-stack';
import { monitoring, PLAN_DATABASES } from './monitoring-test-stack';

const WORKBOOK_QUERIES = workbookQueries('contoso-sql');

const ROOT = findPackageRoot(__dirname);
const CONTRACT = JSON.parse(readFileSync(join(ROOT, MIGRATION_EVENTS_CONTRACT_FILE), 'utf8'));

/** Every alert on the events, the optional stalled alert and the one on the plan's databases included. */
function monitoredEvents() {
  const { stack, monitoring: construct } = monitoring();
  construct.monitorMigrationEvents({ migrationStalledAlert: {}, databases: PLAN_DATABASES });
  return stack;
}

/** Every value a query compares `Phase` or `Status` with (`==`, `!=`, `in (...)`). */
function comparedValues(query: string, column: 'Phase' | 'Status'): string[] {
  const values: string[] = [];
  for (const match of query.matchAll(new RegExp(`\\b${column}\\s*(?:==|!=)\\s*"([^"]*)"`, 'g'))) values.push(match[1]);
  for (const match of query.matchAll(new RegExp(`\\b${column}\\s+!?in\\s*\\(([^)]*)\\)`, 'g'))) {
    values.push(...[...match[1].matchAll(/"([^"]*)"/g)].map((quoted) => quoted[1]));
  }
  return values;
}

type StatusAlerts = { name: string; alert?: string; alertInPhase?: Record<string, string> };

/**
 * Statuses whose contract alert is missing, or does not look for that status in its query (and,
 * where the contract names another alert for a phase, that alert for that phase too).
 */
function unraisedStatuses(statuses: StatusAlerts[], queryOfAlert: Map<string, string>): string[] {
  const queryOf = (alert: string) => [...queryOfAlert].find(([alertName]) => alertName.endsWith(`-${alert}`))?.[1];
  const raises = (alert: string, status: string, phase?: string) => {
    const query = queryOf(alert);
    return query !== undefined && comparedValues(query, 'Status').includes(status) && (phase === undefined || comparedValues(query, 'Phase').includes(phase));
  };
  return statuses.flatMap(({ name, alert, alertInPhase }) => [
    ...(alert !== undefined && !raises(alert, name) ? [`${name} -> ${alert}`] : []),
    ...Object.entries(alertInPhase ?? {})
      .filter(([phase, phaseAlert]) => !raises(phaseAlert, name, phase))
      .map(([phase, phaseAlert]) => `${name} in ${phase} -> ${phaseAlert}`),
  ]);
}

/** The log alerts' queries on the events: all but the one on the rule's errors, which reads Azure's DCRLogErrors. */
function eventAlertQueries(): string[] {
  const queries = logAlertQueries(monitoredEvents());
  const onRuleErrors = queries.filter((query) => query.includes(DATA_COLLECTION_RULE_ERRORS_TABLE));
  expect(onRuleErrors).toHaveLength(1);
  return queries.filter((query) => !onRuleErrors.includes(query));
}

describe('migration events contract, Terraform side', () => {
  it('names the table and the stream', () => {
    expect(MIGRATION_EVENTS_TABLE).toBe(CONTRACT.table);
    expect(MIGRATION_EVENTS_STREAM).toBe(CONTRACT.stream);
    expect(MIGRATION_PHASES).toEqual(CONTRACT.phases.map((phase: { name: string }) => phase.name));
    expect(MIGRATION_STATUSES).toEqual(CONTRACT.statuses.map((status: { name: string }) => status.name));
  });

  it('creates the table with the table types and the rule stream with the stream types, column by column', () => {
    const synth = synthObject(monitoredEvents());
    const table = onlyResource(synth, 'azurerm_log_analytics_workspace_table_custom_log');
    const rule = onlyResource(synth, 'azurerm_monitor_data_collection_rule');
    type Column = { name: string; tableType: string; streamType: string; description: string };
    expect(table.column).toEqual(CONTRACT.columns.map((c: Column) => ({ name: c.name, type: c.tableType, description: c.description })));
    expect(rule.stream_declaration).toEqual([
      { stream_name: CONTRACT.stream, column: CONTRACT.columns.map((c: Column) => ({ name: c.name, type: c.streamType })) },
    ]);
  });

  it('queries only phases and statuses the DAG writes, in every alert and workbook panel', () => {
    const alertQueries = eventAlertQueries();
    const queries = [...alertQueries, ...Object.values(WORKBOOK_QUERIES)];
    expect(alertQueries).toHaveLength(7);
    const phases = queries.flatMap((query) => comparedValues(query, 'Phase'));
    const statuses = queries.flatMap((query) => comparedValues(query, 'Status'));
    expect(phases.length).toBeGreaterThan(0);
    expect(statuses).toContain(CONTRACT.heartbeat.status);
    expect(phases.filter((phase) => !MIGRATION_PHASES.includes(phase))).toEqual([]);
    expect(statuses.filter((status) => !MIGRATION_STATUSES.includes(status))).toEqual([]);
  });

  it("reads only its own plan's events (PlanName, which the DAG writes), in every alert and workbook panel", () => {
    expect(CONTRACT.columns.map((column: { name: string }) => column.name)).toContain('PlanName');
    const queries = [...eventAlertQueries(), ...Object.values(WORKBOOK_QUERIES)];
    const source = 'MigrationEvents_CL | where PlanName == "contoso-sql"';
    expect(migrationEventsSource('contoso-sql')).toBe(source);
    expect(queries.filter((query) => !query.replace(/^let (events|allRuns) = /, '').startsWith(`${source}\n`) && !query.startsWith(`${source} |`))).toEqual([]);
    expect(queries.map((query) => query.split(MIGRATION_EVENTS_TABLE).length - 1)).toEqual(queries.map(() => 1));
  });

  it('quotes the plan name as a KQL string literal', () => {
    expect(kqlString('contoso-sql')).toBe('"contoso-sql"');
    expect(kqlString('a"b\\c')).toBe('"a\\"b\\\\c"');
  });

  it("raises each status's alert (the one the rehearsal report names) on that very status", () => {
    const alerts = Object.values(synthObject(monitoredEvents()).resource.azurerm_monitor_scheduled_query_rules_alert_v2 ?? {}) as any[];
    const queryOfAlert = new Map(alerts.map((alert) => [String(alert.name), String(alert.criteria[0].query)]));
    expect(CONTRACT.statuses.filter((status: StatusAlerts) => status.alert)).toHaveLength(6);
    expect(CONTRACT.statuses.find((status: StatusAlerts) => status.name === 'Failed').alertInPhase).toEqual({ rollback: 'rollback-failed' });
    expect(unraisedStatuses(CONTRACT.statuses, queryOfAlert)).toEqual([]);
    const wrong = [
      { name: 'Rejected', alert: 'migration-failed' },
      { name: 'Failed', alert: 'no-such-alert' },
      { name: 'Failed', alertInPhase: { validate: 'rollback-failed' } },
    ];
    expect(unraisedStatuses(wrong, queryOfAlert)).toEqual(['Rejected -> migration-failed', 'Failed -> no-such-alert', 'Failed in validate -> rollback-failed']);
  });

  it('finds a value outside the contract (the check above can fail)', () => {
    const query = 'MigrationEvents_CL | where Status in ("Failed", "Done") and Phase == "waiting" and Status !in ("Waiting")';
    expect(comparedValues(query, 'Status').filter((status) => !MIGRATION_STATUSES.includes(status))).toEqual(['Done', 'Waiting']);
    expect(comparedValues(query, 'Phase').filter((phase) => !MIGRATION_PHASES.includes(phase))).toEqual(['waiting']);
  });

  describe('a broken contract file stops the synth with the file and the field', () => {
    let root: string;
    beforeEach(() => {
      root = mkdtempSync(join(tmpdir(), 'events-contract-'));
      mkdirSync(dirname(join(root, MIGRATION_EVENTS_CONTRACT_FILE)), { recursive: true });
      cpSync(join(ROOT, MIGRATION_EVENTS_CONTRACT_FILE), join(root, MIGRATION_EVENTS_CONTRACT_FILE));
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    function edit(change: (contract: any) => void): void {
      const contract = JSON.parse(JSON.stringify(CONTRACT));
      change(contract);
      writeFileSync(join(root, MIGRATION_EVENTS_CONTRACT_FILE), JSON.stringify(contract));
    }

    it('loads the shipped file', () => {
      expect(loadMigrationEventsContract(root).columns).toHaveLength(CONTRACT.columns.length);
    });

    it.each([
      ['a table type spelled the stream way', (c: any) => (c.columns[0].tableType = 'datetime'), /columns\.0\.tableType/],
      ['a stream type spelled the table way', (c: any) => (c.columns[0].streamType = 'dateTime'), /columns\.0\.streamType/],
      ['a heartbeat status that is no status', (c: any) => (c.heartbeat.status = 'Alive'), /heartbeat\.status: "Alive" is not one of the statuses/],
      ['an alert for a phase that is no phase', (c: any) => (c.statuses[0].alertInPhase = { rolback: 'rollback-failed' }), /statuses\.0\.alertInPhase\.rolback: "rolback" is not one of the phases/],
      ['an unknown field', (c: any) => (c.columns[1].kind = 'x'), /columns\.1: Unrecognized key/],
      ['a freeze start of a phase that is no phase', (c: any) => (c.sourceFrozen.starts[0].phase = 'freeze'), /sourceFrozen\.starts\.0\.phase: "freeze" is not one of the phases/],
      ['a freeze end of a status that is no status', (c: any) => (c.sourceFrozen.ends[0].status = 'Done'), /sourceFrozen\.ends\.0\.status: "Done" is not one of the statuses/],
      ['a freeze start of a target kind that is none', (c: any) => (c.sourceFrozen.starts[1].targetKind = 'SqlDatabase'), /sourceFrozen\.starts\.1\.targetKind/],
    ])('rejects %s', (_name, change, message) => {
      edit(change);
      expect(() => loadMigrationEventsContract(root)).toThrow(/migration_events\.json is not a valid migration events contract/);
      expect(() => loadMigrationEventsContract(root)).toThrow(message);
    });
  });
});
