/**
 * "Source frozen too long": the downtime of a cutover, per database against its plan's
 * `cutover.expectedMinutes`. What it returns for DAG-shaped histories is in
 * `__tests__/kql/alert-behaviour-kql.test.ts`; the DAG's side of the events it reads in
 * `dags/tests/test_source_frozen_events.py`.
 */
import { Testing } from 'cdktf';
import { DatabaseMigrationStack } from '../../lib/database-migration-stack';
import { SourceFrozenTooLongAlertOptions } from '../../lib/monitoring/migration-events-monitoring';
import { SourceFreezeSettings, sourceFreezeLimits, sourceFrozenTooLongQuery } from '../../lib/monitoring/source-frozen';
import { examplePlan } from '../helpers/example-plan';
import { onlyLogicalId, reference, resourceNamed, resourcesOfType, SynthesizedStack, synthObject } from '../helpers/test-stack';
import { monitoring, PLAN_DATABASES } from './monitoring-test-stack';

const LOG_ALERT = 'azurerm_monitor_scheduled_query_rules_alert_v2';
const NAME = 'alert-contoso-sql-source-frozen-too-long';

function withDatabases(databases: readonly SourceFreezeSettings[] | undefined, sourceFrozenTooLongAlert?: SourceFrozenTooLongAlertOptions | false) {
  const built = monitoring();
  built.monitoring.monitorMigrationEvents({ databases, sourceFrozenTooLongAlert });
  return { ...built, synth: synthObject(built.stack) };
}

const frozenAlerts = (synth: SynthesizedStack) => Object.values(resourcesOfType(synth, LOG_ALERT)).filter((alert) => alert.name === NAME);

describe('"source frozen too long" alert', () => {
  describe('query', () => {
    it("reads the contract's freeze starts and ends, per database across runs, against each database's limit", () => {
      expect(sourceFrozenTooLongQuery('contoso-sql', sourceFreezeLimits(PLAN_DATABASES, 15)).split('\n')).toEqual([
        'let events = MigrationEvents_CL | where PlanName == "contoso-sql"',
        '| extend IsStart = ((Phase == "freeze_source" and Status == "Succeeded") or (Phase == "start_migration" and Status == "Started" and TargetKind == "SqlDb")) and Database !in ("crm_audit"), ' +
          'IsEnd = (Phase == "done" and Status == "Succeeded") or (Phase == "rollback" and Status == "RolledBack") or (Phase == "rollback" and Status == "RolledBackTargetKept") or (Phase == "rollback" and Status == "WindowMissed")',
        '| where IsStart or IsEnd;',
        'events',
        '| where IsStart',
        '| join kind=leftouter (events | where IsEnd | summarize LastEndAt = max(TimeGenerated) by Database) on Database',
        '| where isnull(LastEndAt) or TimeGenerated > LastEndAt',
        '| summarize FrozenSince = min(TimeGenerated) by Database',
        '| extend LimitMinutes = case(Database in ("archive"), 105, Database in ("crm"), 255, 45)',
        '| where now() - FrozenSince > LimitMinutes * 1m',
        '| project Database, FrozenSince, FrozenMinutes = datetime_diff("minute", now(), FrozenSince), LimitMinutes',
      ]);
    });

    it('names no database where all share one limit, and excludes none where no copy keeps its source writable', () => {
      const sameLimit = PLAN_DATABASES.map((database) => ({ ...database, allowSourceWritesDuringCopy: false, cutover: { expectedMinutes: 60 } }));
      const query = sourceFrozenTooLongQuery('contoso-sql', sourceFreezeLimits(sameLimit, 0));
      expect(query).toContain('| extend LimitMinutes = 60\n');
      expect(query).not.toContain('!in');
    });

    it('ignores allowSourceWritesDuringCopy where no copy is made (SqlMi and SqlVm freeze before the final backup)', () => {
      const limits = sourceFreezeLimits([{ name: 'sales', target: { kind: 'SqlMi' }, allowSourceWritesDuringCopy: true, cutover: { expectedMinutes: 30 } }], 15);
      expect([...limits.limitMinutes]).toEqual([['sales', 45]]);
      expect(limits.writableDatabases).toEqual([]);
    });
  });

  describe('the synthesized alert', () => {
    it('is a severity 1 count of databases frozen too long, per database, every 5 minutes over two days, through the action group, after the table', () => {
      const { synth, monitoring: construct } = withDatabases(PLAN_DATABASES);
      const alert = resourceNamed(synth, LOG_ALERT, NAME);
      expect(alert.criteria).toEqual([
        {
          query: sourceFrozenTooLongQuery('contoso-sql', sourceFreezeLimits(PLAN_DATABASES, 15)),
          time_aggregation_method: 'Count',
          operator: 'GreaterThan',
          threshold: 0,
          dimension: [{ name: 'Database', operator: 'Include', values: ['*'] }],
        },
      ]);
      expect(alert).toMatchObject({
        display_name: 'contoso-sql: source frozen longer than expected',
        severity: 1,
        evaluation_frequency: 'PT5M',
        window_duration: 'P2D',
        auto_mitigation_enabled: true,
        action: { action_groups: [reference('azurerm_monitor_action_group', onlyLogicalId(synth, 'azurerm_monitor_action_group'))] },
        depends_on: [`azurerm_log_analytics_workspace_table_custom_log.${onlyLogicalId(synth, 'azurerm_log_analytics_workspace_table_custom_log')}`],
      });
      expect(alert.description).toMatch(/cutover\.expectedMinutes plus 15 minutes/);
      expect(construct.createdAlerts().find((created) => created.name === NAME)).toMatchObject({ kind: 'log', severity: 1, window: 'P2D' });
    });

    it('takes the grace, severity and timing from its options', () => {
      const { synth } = withDatabases(PLAN_DATABASES, { graceMinutes: 0, severity: 0, evaluationFrequencyMinutes: 15, windowMinutes: 1440 });
      const alert = resourceNamed(synth, LOG_ALERT, NAME);
      expect(alert.criteria[0].query).toContain('case(Database in ("archive"), 90, Database in ("crm"), 240, 30)');
      expect(alert).toMatchObject({ severity: 0, evaluation_frequency: 'PT15M', window_duration: 'P1D' });
      expect(alert.description).toMatch(/plus 0 minutes/);
    });

    it('is left out without databases, with false, and where every database is a copy that keeps its source writable', () => {
      expect(frozenAlerts(withDatabases(undefined).synth)).toEqual([]);
      expect(frozenAlerts(withDatabases(PLAN_DATABASES, false).synth)).toEqual([]);
      expect(frozenAlerts(withDatabases(PLAN_DATABASES.filter((database) => database.allowSourceWritesDuringCopy)).synth)).toEqual([]);
    });

    it.each<[string, readonly SourceFreezeSettings[] | undefined, SourceFrozenTooLongAlertOptions, RegExp]>([
      ['a negative grace', PLAN_DATABASES, { graceMinutes: -5 }, /sourceFrozenTooLongAlert\.graceMinutes must be a whole number of minutes, 0 or more \(got -5\)/],
      ['a fractional grace', PLAN_DATABASES, { graceMinutes: 2.5 }, /graceMinutes must be a whole number/],
      [
        'a window shorter than the longest limit plus one evaluation',
        PLAN_DATABASES,
        { windowMinutes: 240 },
        /sourceFrozenTooLongAlert\.windowMinutes \(240\) must be at least 260: the freeze of crm is too long after 255 minutes \(its cutover\.expectedMinutes plus graceMinutes\)/,
      ],
      ['overrides without databases', undefined, { severity: 0 }, /sourceFrozenTooLongAlert needs databases \(plan\.databases\)/],
      ['overrides where no database freezes its source', PLAN_DATABASES.filter((d) => d.allowSourceWritesDuringCopy), { severity: 0 }, /sourceFrozenTooLongAlert: no database freezes its source/],
      ['a window Azure does not take', PLAN_DATABASES, { windowMinutes: 2000 }, /sourceFrozenTooLongAlert\.windowMinutes must be one of/],
    ])('refuses %s, naming the option', (_name, databases, options, message) => {
      expect(() => withDatabases(databases, options)).toThrow(message);
    });

    it("refuses a query too large for Azure's 64 KB rule, saying what to change", () => {
      const many = Array.from({ length: 1000 }, (_, index) => ({
        name: `database_with_a_long_name_for_the_query_size_${String(index).padStart(4, '0')}`,
        target: { kind: 'SqlMi' as const },
        allowSourceWritesDuringCopy: false,
        cutover: { expectedMinutes: 1 + (index % 500) },
      }));
      expect(() => withDatabases(many)).toThrow(/its query would be \d+ characters, more than the 60000 .* give more databases the same expectedMinutes/);
      const oneLimit = many.map((database) => ({ ...database, cutover: { expectedMinutes: 30 } }));
      expect(frozenAlerts(withDatabases(oneLimit).synth)).toHaveLength(1);
    });
  });

  describe('in a DatabaseMigrationStack', () => {
    const synthesize = (monitoringOptions?: { sourceFrozenTooLongAlert?: SourceFrozenTooLongAlertOptions | false }) =>
      synthObject(new DatabaseMigrationStack(Testing.app(), 'contoso-sql', { plan: examplePlan(), monitoring: monitoringOptions }));

    it("watches the plan's databases against their expectedMinutes, and takes the stack's overrides", () => {
      const plan = examplePlan();
      const name = `alert-${plan.name}-source-frozen-too-long`;
      expect(resourceNamed(synthesize(), LOG_ALERT, name).criteria[0].query).toBe(
        sourceFrozenTooLongQuery(plan.name, sourceFreezeLimits(plan.databases, 15)),
      );
      expect(resourceNamed(synthesize({ sourceFrozenTooLongAlert: { graceMinutes: 45 } }), LOG_ALERT, name).criteria[0].query).toContain(
        `| extend LimitMinutes = ${plan.databases[0].cutover.expectedMinutes + 45}\n`,
      );
      expect(Object.values(resourcesOfType(synthesize({ sourceFrozenTooLongAlert: false }), LOG_ALERT)).map((alert) => alert.name)).not.toContain(name);
    });
  });
});
