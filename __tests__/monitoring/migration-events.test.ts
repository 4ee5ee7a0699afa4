import { Testing, Token, ref } from 'cdktf';
import { MonitorDataCollectionEndpoint } from '@cdktf/provider-azurerm/lib/monitor-data-collection-endpoint';
import { MonitorScheduledQueryRulesAlertV2 } from '@cdktf/provider-azurerm/lib/monitor-scheduled-query-rules-alert-v2';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { AlertSeverity } from '../../lib/monitoring/alerts';
import { MigrationEventIngestion } from '../../lib/monitoring/migration-event-ingestion';
import { MigrationEventsMonitoringProps, MigrationStalledAlertOptions } from '../../lib/monitoring/migration-events-monitoring';
import { migrationStalledQuery } from '../../lib/monitoring/migration-stalled';
import { deepFreeze } from '../../lib/private/deep-freeze';
import { logAlertQueries, onlyLogicalId, queriesNotOfPlan, onlyResource, reference, rendered, resourceNamed, resourcesOfType, resourcesSnapshot, SynthesizedStack, synthObject, testStack } from '../helpers/test-stack';
import { LATEST_RUN_EVENTS_OF_CONTOSO_SQL, MonitoringTestProps, monitoring, PLAN_DATABASES } from './monitoring-test-stack';

const TABLE = 'azurerm_log_analytics_workspace_table_custom_log';
const RULE = 'azurerm_monitor_data_collection_rule';
const ENDPOINT = 'azurerm_monitor_data_collection_endpoint';
const LOG_ALERT = 'azurerm_monitor_scheduled_query_rules_alert_v2';

/** The event schema the DAG writes: exactly these columns, in this order, as the table spells their types. */
const TABLE_COLUMNS = [
  { name: 'TimeGenerated', type: 'dateTime' },
  { name: 'RunId', type: 'string' },
  { name: 'PlanName', type: 'string' },
  { name: 'Database', type: 'string' },
  { name: 'Phase', type: 'string' },
  { name: 'Status', type: 'string' },
  { name: 'DurationSeconds', type: 'real' },
  { name: 'Message', type: 'string' },
  { name: 'TargetKind', type: 'string' },
  { name: 'MigrationOperationId', type: 'string' },
];

/** The same columns as a data collection rule's stream declaration spells them (`datetime`). */
const STREAM_COLUMNS = TABLE_COLUMNS.map(({ name, type }) => ({ name, type: type === 'dateTime' ? 'datetime' : type }));

/** A JavaScript caller is not held to the type, so the construct checks it too. */
const SEVERITY_OUT_OF_RANGE = 5 as unknown as AlertSeverity;

function withEvents(events: MigrationEventsMonitoringProps = {}, props: Partial<MonitoringTestProps> = {}) {
  const built = monitoring(props);
  built.monitoring.monitorMigrationEvents(events);
  return built;
}

/** The default events monitoring, synthesized once for the tests that only read it (frozen: none can change it for another). */
let defaultSynth: SynthesizedStack | undefined;
const defaultEventsSynth = () => (defaultSynth ??= deepFreeze(synthObject(withEvents().stack)));

/** Logical ids of the resources the events pipeline references. */
function ids(synth: SynthesizedStack) {
  return {
    workspace: onlyLogicalId(synth, 'azurerm_log_analytics_workspace'),
    actionGroup: onlyLogicalId(synth, 'azurerm_monitor_action_group'),
    table: onlyLogicalId(synth, TABLE),
    endpoint: onlyLogicalId(synth, ENDPOINT),
    rule: onlyLogicalId(synth, RULE),
  };
}

describe('MigrationMonitoring.monitorMigrationEvents', () => {
  describe('Logs Ingestion path', () => {
    it('creates MigrationEvents_CL with exactly the event columns, on the Analytics plan', () => {
      const synth = defaultEventsSynth();
      const table = onlyResource(synth, TABLE) as Record<string, any>;
      expect(table.name).toBe('MigrationEvents_CL');
      expect(table.plan).toBe('Analytics');
      expect(table.workspace_id).toBe(reference('azurerm_log_analytics_workspace', ids(synth).workspace));
      expect(table.column.map(({ name, type }: { name: string; type: string }) => ({ name, type }))).toEqual(
        TABLE_COLUMNS,
      );
    });

    it('creates the data collection endpoint dce-<prefix> in the monitoring region', () => {
      const { stack } = withEvents({}, { location: 'northeurope' });
      expect(Testing.synth(stack)).toHaveResourceWithProperties(MonitorDataCollectionEndpoint, {
        name: 'dce-contoso-sql',
        location: 'northeurope',
        resource_group_name: '${azurerm_resource_group.rg.name}',
      });
    });

    it('routes Custom-MigrationEvents_CL unchanged to the table, through the endpoint, after the table exists', () => {
      const synth = defaultEventsSynth();
      const id = ids(synth);
      const rule = onlyResource(synth, RULE);
      expect(rule.name).toBe('dcr-contoso-sql');
      expect(rule.kind).toBeUndefined();
      expect(rule.data_collection_endpoint_id).toBe(reference(ENDPOINT, id.endpoint));
      expect(rule.stream_declaration).toEqual([{ stream_name: 'Custom-MigrationEvents_CL', column: STREAM_COLUMNS }]);
      expect(rule.destinations).toEqual({
        log_analytics: [
          { name: 'migrationWorkspace', workspace_resource_id: reference('azurerm_log_analytics_workspace', id.workspace) },
        ],
      });
      expect(rule.data_flow).toEqual([
        {
          streams: ['Custom-MigrationEvents_CL'],
          destinations: ['migrationWorkspace'],
          output_stream: 'Custom-MigrationEvents_CL',
          transform_kql: 'source',
        },
      ]);
      expect(rule.depends_on).toEqual([`${TABLE}.${id.table}`]);
    });

    it('hands out what the DAG needs to send events', () => {
      const { stack, monitoring: construct } = withEvents();
      const ingestion = construct.eventIngestion;
      expect(ingestion.streamName).toBe('Custom-MigrationEvents_CL');
      expect(ingestion.tableName).toBe('MigrationEvents_CL');
      const synth = synthObject(stack);
      const id = ids(synth);
      expect(
        rendered(stack, {
          endpointUrl: ingestion.endpointUrl,
          ruleId: ingestion.dataCollectionRuleId,
          ruleImmutableId: ingestion.dataCollectionRuleImmutableId,
        }),
      ).toEqual({
        endpointUrl: reference(ENDPOINT, id.endpoint, 'logs_ingestion_endpoint'),
        ruleId: reference(RULE, id.rule),
        ruleImmutableId: reference(RULE, id.rule, 'immutable_id'),
      });
    });

    it('grants Monitoring Metrics Publisher on the rule only, and returns the assignment', () => {
      const { stack, monitoring: construct } = withEvents();
      const granted = construct.grantPublishEvents({ principalId: '11111111-1111-1111-1111-111111111111', principalType: 'ServicePrincipal' });
      expect(granted.node.id).toBe('PublishEvents');
      const synth = synthObject(stack);
      expect(Object.keys(resourcesOfType(synth, 'azurerm_role_assignment'))).toHaveLength(1);
      expect(Testing.synth(stack)).toHaveResourceWithProperties(RoleAssignment, {
        role_definition_name: 'Monitoring Metrics Publisher',
        scope: reference(RULE, ids(synth).rule),
        principal_id: '11111111-1111-1111-1111-111111111111',
        principal_type: 'ServicePrincipal',
      });
    });

    it('may be set up once', () => {
      const { monitoring: construct } = withEvents();
      expect(() => construct.monitorMigrationEvents()).toThrow(/monitorMigrationEvents\(\) may be called once/);
    });

    it('keeps the Terraform addresses the facade gave the table, endpoint, rule and grant before they moved to MigrationEventIngestion', () => {
      const { stack, monitoring: construct } = withEvents();
      construct.grantPublishEvents({ principalId: '11111111-1111-1111-1111-111111111111' }, { id: 'AirflowPublishesEvents' });
      const synth = synthObject(stack);
      expect(ids(synth)).toMatchObject({
        table: 'monitoring_EventsTable_6CF22C23',
        endpoint: 'monitoring_EventsEndpoint_BC36E529',
        rule: 'monitoring_EventsRule_2C232C67',
      });
      expect(Object.keys(resourcesOfType(synth, 'azurerm_role_assignment'))).toEqual([
        expect.stringMatching(/^monitoring_AirflowPublishesEvents_[0-9A-F]{8}$/),
      ]);
      expect(construct.eventIngestion).toBeInstanceOf(MigrationEventIngestion);
    });

    it('works without the facade, in the region given', () => {
      const { stack, resourceGroup } = testStack();
      const workspace = { id: '/subscriptions/S/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/log-shared', name: 'log-shared' };
      const ingestion = new MigrationEventIngestion(stack, 'events', { resourceGroup, namePrefix: 'contoso-sql', workspace, location: 'northeurope' });
      ingestion.grantPublish({ principalId: '11111111-1111-1111-1111-111111111111', principalType: 'ServicePrincipal' }, { id: 'Publisher' });
      const synth = synthObject(stack);
      expect(onlyResource(synth, TABLE)).toMatchObject({ name: 'MigrationEvents_CL', workspace_id: workspace.id });
      expect(onlyResource(synth, ENDPOINT)).toMatchObject({ name: 'dce-contoso-sql', location: 'northeurope' });
      expect(onlyResource(synth, RULE)).toMatchObject({ name: 'dcr-contoso-sql', location: 'northeurope' });
      expect(onlyResource(synth, 'azurerm_role_assignment')).toMatchObject({
        scope: reference(RULE, onlyLogicalId(synth, RULE)),
        role_definition_name: 'Monitoring Metrics Publisher',
        principal_type: 'ServicePrincipal',
      });
    });
  });

  describe('a workspace shared by plans: the table of an earlier plan (eventsTable existing)', () => {
    const shared = { id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-monitoring/providers/Microsoft.OperationalInsights/workspaces/log-shared', name: 'log-shared' };

    it('creates no table and still routes the stream to it in the workspace, with nothing depending on a table', () => {
      const { stack, monitoring: construct } = withEvents({ eventsTable: 'existing' }, { workspace: shared, namePrefix: 'fabrikam-sql' });
      const synth = synthObject(stack);
      expect(resourcesOfType(synth, TABLE)).toEqual({});
      expect(construct.eventIngestion.table).toBeUndefined();
      const rule = onlyResource(synth, RULE) as Record<string, any>;
      expect(rule.destinations.log_analytics).toEqual([{ name: 'migrationWorkspace', workspace_resource_id: shared.id }]);
      expect(rule.data_flow).toEqual([
        { streams: ['Custom-MigrationEvents_CL'], destinations: ['migrationWorkspace'], output_stream: 'Custom-MigrationEvents_CL', transform_kql: 'source' },
      ]);
      expect(rule.depends_on).toBeUndefined();
      const alerts = Object.values(resourcesOfType(synth, LOG_ALERT)) as Record<string, any>[];
      expect(alerts.length).toBeGreaterThan(0);
      expect(alerts.map((alert) => alert.depends_on)).toEqual(alerts.map(() => undefined));
      expect(queriesNotOfPlan(stack, 'fabrikam-sql')).toEqual([]);
    });

    it('creates the table by default (the first plan in a workspace owns it)', () => {
      const { stack } = withEvents({}, { workspace: shared });
      expect(onlyResource(synthObject(stack), TABLE)).toMatchObject({ name: 'MigrationEvents_CL', workspace_id: shared.id });
    });

    it('refuses an existing table in a workspace the construct creates: no plan can have made it there', () => {
      const { monitoring: construct } = monitoring();
      expect(() => construct.monitorMigrationEvents({ eventsTable: 'existing' })).toThrow(
        /eventsTable 'existing' needs an existing workspace .*the workspace this construct creates has no MigrationEvents_CL table/,
      );
    });
  });

  it('synthesizes the log alerts and the diagnostic setting of the events rule (snapshot of those resources only; the tests below name what matters)', () => {
    const { stack } = withEvents({ databases: PLAN_DATABASES });
    expect(resourcesSnapshot(synthObject(stack), [LOG_ALERT, 'azurerm_monitor_diagnostic_setting'])).toMatchSnapshot();
  });

  describe("the plan whose events the queries read", () => {
    it('reads the events whose PlanName is namePrefix, the plan name its DAG writes', () => {
      const { stack, monitoring: construct } = monitoring({ namePrefix: 'q3-wave' });
      construct.monitorMigrationEvents();
      expect(logAlertQueries(stack).length).toBeGreaterThan(0);
      expect(queriesNotOfPlan(stack, 'q3-wave')).toEqual([]);
    });

    it.each(['contoso-sql-monitoring-prod', '1plan', 'ab'])('refuses a namePrefix no plan can be named (%s): its queries would match no event', (namePrefix) => {
      const { monitoring: construct } = monitoring({ namePrefix });
      expect(() => construct.monitorMigrationEvents()).toThrow(
        new RegExp(`namePrefix "${namePrefix}" is not a plan name .*PlanName.*pass the plan's name \\(plan\\.name\\)`),
      );
    });
  });

  describe('"migration failed" alert', () => {
    it('counts failed steps and rollbacks per database, step, status and message every 5 minutes over 5 minutes, severity 1, through the action group', () => {
      const synth = defaultEventsSynth();
      const id = ids(synth);
      const alert = resourceNamed(synth, LOG_ALERT, 'alert-contoso-sql-migration-failed');
      expect(alert.criteria).toEqual([
        {
          query: [
            'MigrationEvents_CL | where PlanName == "contoso-sql"',
            '| where (Status == "Failed" and Phase != "rollback") or Status in ("RolledBack", "RolledBackTargetKept")',
            '| project TimeGenerated, Database, Phase, Status, Message, RunId, MigrationOperationId',
          ].join('\n'),
          time_aggregation_method: 'Count',
          operator: 'GreaterThan',
          threshold: 0,
          // The notification carries these: which database, which step, and why.
          dimension: ['Database', 'Phase', 'Status', 'Message'].map((name) => ({ name, operator: 'Include', values: ['*'] })),
        },
      ]);
      expect(alert.severity).toBe(1);
      expect(alert.evaluation_frequency).toBe('PT5M');
      expect(alert.window_duration).toBe('PT5M');
      expect(alert.scopes).toEqual([reference('azurerm_log_analytics_workspace', id.workspace)]);
      expect(alert.action).toEqual({ action_groups: [reference('azurerm_monitor_action_group', id.actionGroup)] });
      expect(alert.location).toBe('${azurerm_resource_group.rg.location}');
      expect(alert.display_name).toBe('contoso-sql: migration failed');
      expect(alert.description).toMatch(/failed for good \("Failed" in MigrationEvents_CL\), or the DAG rolled a database back/);
      expect(alert.description).toMatch(/a rollback that fails raises "rollback failed" instead/);
      // As the runbook (README, When an alert fires) says; was "a person drops it before the next run", whatever wrote to it.
      expect(alert.description).toMatch(/until a person drops it, once sure nothing wrote to it, or names another target database in the plan/);
      expect(alert.auto_mitigation_enabled).toBe(true);
      expect(alert.enabled).toBe(true);
      expect(alert.workspace_alerts_storage_enabled).toBe(false);
      // Query validation stays on: the table is created before the alert.
      expect(alert.skip_query_validation).toBe(false);
      expect(alert.depends_on).toEqual([`${TABLE}.${id.table}`]);
    });

    it('takes severity, timing, threshold, description and runbook from its options', () => {
      const { stack } = withEvents({
        migrationFailedAlert: {
          severity: 0,
          evaluationFrequencyMinutes: 10,
          windowMinutes: 15,
          threshold: 2,
          description: 'Page the DBA on call.',
          runbookUrl: 'https://wiki.contoso.example/runbooks/migration-failed',
        },
      });
      expect(Testing.synth(stack)).toHaveResourceWithProperties(MonitorScheduledQueryRulesAlertV2, {
        name: 'alert-contoso-sql-migration-failed',
        severity: 0,
        evaluation_frequency: 'PT10M',
        window_duration: 'PT15M',
        description: 'Page the DBA on call. Runbook: https://wiki.contoso.example/runbooks/migration-failed',
        criteria: [expect.objectContaining({ threshold: 2 })],
        action: expect.objectContaining({
          custom_properties: { runbookUrl: 'https://wiki.contoso.example/runbooks/migration-failed' },
        }),
      });
    });

    it('follows the facade-wide alert defaults unless its own options say otherwise', () => {
      const { stack } = withEvents(
        { migrationFailedAlert: { enabled: true } },
        { alertDefaults: { enabled: false, autoMitigate: false, runbookUrl: 'https://wiki.contoso.example/migration' } },
      );
      const synth = synthObject(stack);
      const failed = resourceNamed(synth, LOG_ALERT, 'alert-contoso-sql-migration-failed');
      const runningLong = resourceNamed(synth, LOG_ALERT, 'alert-contoso-sql-migration-running-long');
      expect(failed.enabled).toBe(true);
      expect(runningLong.enabled).toBe(false);
      expect(failed.auto_mitigation_enabled).toBe(false);
      expect(runningLong.description).toMatch(/Runbook: https:\/\/wiki\.contoso\.example\/migration$/);
    });

    it.each([
      [{ windowMinutes: 7 }, /migrationFailedAlert\.windowMinutes must be one of .* for a log alert \(got 7\)/],
      [{ evaluationFrequencyMinutes: 15, windowMinutes: 5 }, /migrationFailedAlert\.windowMinutes \(5\) must be at least migrationFailedAlert\.evaluationFrequencyMinutes \(15\)/],
      [{ severity: SEVERITY_OUT_OF_RANGE }, /migrationFailedAlert\.severity must be an integer from 0 to 4 \(got 5\)/],
      [{ threshold: -1 }, /migrationFailedAlert\.threshold must be at least 0 \(got -1\): the alert compares a count of rows/],
    ])('rejects %j with an error naming the option', (migrationFailedAlert, message) => {
      expect(() => withEvents({ migrationFailedAlert })).toThrow(message);
    });

    it.each(['severity', 'evaluationFrequencyMinutes', 'windowMinutes'])('names a number token given as %s as a token, not as the huge number cdktf encodes it as', (option) => {
      expect(() => withEvents({ migrationFailedAlert: { [option]: Token.asNumber(ref('var.minutes')) } })).toThrow(
        `migrationFailedAlert.${option} must be a number, which is read at synth, not a token (got a number token (Token.asNumber))`,
      );
    });

    it.each([
      ['a number token', Token.asNumber(ref('var.threshold'))],
      ['an IResolvable', ref('var.threshold') as unknown as number],
    ])('hands a threshold given as %s to the alert as it is (was: "must be at least 0 (got -8.1e+298)", "must be a finite number")', (_given, threshold) => {
      const { stack } = withEvents({ migrationFailedAlert: { threshold } });
      const failed = resourceNamed(synthObject(stack), LOG_ALERT, 'alert-contoso-sql-migration-failed');
      expect(failed.criteria).toEqual([expect.objectContaining({ threshold: '${var.threshold}' })]);
    });
  });

  describe('"rollback failed" alert', () => {
    it('pages at severity 0 for each rollback that failed for good, per database and message, every 5 minutes over 5 minutes', () => {
      const synth = defaultEventsSynth();
      const alert = resourceNamed(synth, LOG_ALERT, 'alert-contoso-sql-rollback-failed');
      expect(alert.criteria[0].query.split('\n').slice(1)).toEqual([
        '| where Phase == "rollback" and Status == "Failed"',
        '| project TimeGenerated, Database, Message, RunId, MigrationOperationId',
      ]);
      expect(alert.criteria[0].dimension.map((dimension: { name: string }) => dimension.name)).toEqual(['Database', 'Message']);
      expect(alert).toMatchObject({
        severity: 0,
        evaluation_frequency: 'PT5M',
        window_duration: 'PT5M',
        display_name: 'contoso-sql: rollback failed, a person must act',
        action: { action_groups: [reference('azurerm_monitor_action_group', ids(synth).actionGroup)] },
        depends_on: [`${TABLE}.${ids(synth).table}`],
      });
      expect(alert.description).toMatch(/the source may be left frozen .* A person must act: README, When an alert fires\.$/);
    });

    it('takes its options', () => {
      const alert = resourceNamed(synthObject(withEvents({ rollbackFailedAlert: { severity: 1 } }).stack), LOG_ALERT, 'alert-contoso-sql-rollback-failed');
      expect(alert.severity).toBe(1);
    });
  });

  describe('"migration running long" alert', () => {
    it('finds databases running over an hour with no end event, every 15 minutes over a day, severity 2', () => {
      const synth = defaultEventsSynth();
      const id = ids(synth);
      const alert = resourceNamed(synth, LOG_ALERT, 'alert-contoso-sql-migration-running-long');
      expect(alert.criteria).toEqual([
        {
          query: [
            ...LATEST_RUN_EVENTS_OF_CONTOSO_SQL,
            'events',
            '| join kind=leftouter (events',
            '    | summarize LastWaitAt = maxif(TimeGenerated, Phase == "await_cutover"), LastEndAt = maxif(TimeGenerated, IsEnd) by RunId, Database',
            '    ) on RunId, Database',
            '| where (isnull(LastEndAt) or TimeGenerated > LastEndAt) and (isnull(LastWaitAt) or TimeGenerated > LastWaitAt)',
            '| extend RunningSince = case(',
            '    isnotnull(LastWaitAt) and (isnull(LastEndAt) or LastWaitAt > LastEndAt), TimeGenerated,',
            '    Phase == "start_migration" and Status == "Started", TimeGenerated,',
            '    Status == "Running", TimeGenerated - DurationSeconds * 1s,',
            '    datetime(null))',
            '| summarize StartedAt = min(RunningSince), LastEventAt = max(TimeGenerated) by RunId, Database',
            '| where isnotnull(StartedAt) and StartedAt < ago(60m)',
            '| project Database, RunId, StartedAt, LastEventAt, RunningMinutes = datetime_diff("minute", now(), StartedAt)',
          ].join('\n'),
          time_aggregation_method: 'Count',
          operator: 'GreaterThan',
          threshold: 0,
          dimension: [{ name: 'Database', operator: 'Include', values: ['*'] }],
        },
      ]);
      expect(alert.severity).toBe(2);
      expect(alert.evaluation_frequency).toBe('PT15M');
      expect(alert.window_duration).toBe('P1D');
      expect(alert.scopes).toEqual([reference('azurerm_log_analytics_workspace', id.workspace)]);
      expect(alert.action).toEqual({ action_groups: [reference('azurerm_monitor_action_group', id.actionGroup)] });
      expect(alert.display_name).toBe('contoso-sql: migration running longer than 60 minutes');
      expect(alert.skip_query_validation).toBe(false);
      expect(alert.depends_on).toEqual([`${TABLE}.${id.table}`]);
    });

    it('uses longRunningMinutes in the query, the name and the description', () => {
      const { stack } = withEvents({ longRunningMinutes: 90 });
      const alert = resourceNamed(synthObject(stack), LOG_ALERT, 'alert-contoso-sql-migration-running-long');
      expect(alert.criteria[0].query).toContain('| where isnotnull(StartedAt) and StartedAt < ago(90m)');
      expect(alert.display_name).toBe('contoso-sql: migration running longer than 90 minutes');
      expect(alert.description).toMatch(/started more than 90 minutes ago/);
      // The DAG's tasks by their ids (the events' Phase), each one that waits; was "the Airflow wait sensor", which the DAG has none of.
      expect(alert.description).toMatch(/waiting task in Airflow \(start_migration, wait_for_migration, final_backup, wait_for_completion or validate\)/);
      expect(alert.description).not.toMatch(/sensor/);
      expect(alert.window_duration).toBe('P1D');
    });

    it('widens the window to two days when a day cannot hold twice longRunningMinutes', () => {
      const { stack } = withEvents({ longRunningMinutes: 1000 });
      expect(Testing.synth(stack)).toHaveResourceWithProperties(MonitorScheduledQueryRulesAlertV2, {
        name: 'alert-contoso-sql-migration-running-long',
        window_duration: 'P2D',
      });
    });

    it('accepts a shorter window that still sees one heartbeat of a running migration', () => {
      const { stack } = withEvents({ longRunningMinutes: 600, migrationRunningLongAlert: { windowMinutes: 120 } });
      expect(Testing.synth(stack)).toHaveResourceWithProperties(MonitorScheduledQueryRulesAlertV2, {
        name: 'alert-contoso-sql-migration-running-long',
        window_duration: 'PT2H',
      });
    });

    it('rejects a window that may miss every heartbeat of a running migration', () => {
      expect(() => withEvents({ migrationRunningLongAlert: { windowMinutes: 15 } })).toThrow(
        /migrationRunningLongAlert\.windowMinutes \(15\) must be at least 30: the DAG re-emits a running migration's "Running" event every 15 minutes at most/,
      );
    });

    it.each([0, 4, 2.5, 2866])('rejects longRunningMinutes %d, as the plan rule does', (longRunningMinutes) => {
      expect(() => withEvents({ longRunningMinutes })).toThrow(/longRunningMinutes must be an integer from 5 to 2865/);
    });
  });

  describe('"migration run stalled" alert', () => {
    it('is created by default (the only sign of a stopped Airflow on hosts that tell Azure Monitor nothing), and left out with false', () => {
      expect(resourceNamed(defaultEventsSynth(), LOG_ALERT, 'alert-contoso-sql-migration-stalled').severity).toBe(1);
      const { stack } = withEvents({ migrationStalledAlert: false });
      expect(() => resourceNamed(synthObject(stack), LOG_ALERT, 'alert-contoso-sql-migration-stalled')).toThrow(/found 0/);
    });

    it('by default or with {}: runs silent for 30 minutes with databases in flight, every 5 minutes over a day, severity 1, per run', () => {
      const { stack, monitoring: construct } = withEvents({ migrationStalledAlert: {} });
      const synth = synthObject(stack);
      const id = ids(synth);
      const alert = resourceNamed(synth, LOG_ALERT, 'alert-contoso-sql-migration-stalled');
      expect(alert.criteria).toEqual([
        {
          query: migrationStalledQuery('contoso-sql', 30),
          time_aggregation_method: 'Count',
          operator: 'GreaterThan',
          threshold: 0,
          dimension: ['RunId', 'DatabasesInFlight'].map((name) => ({ name, operator: 'Include', values: ['*'] })),
        },
      ]);
      expect(alert).toMatchObject({
        severity: 1,
        evaluation_frequency: 'PT5M',
        window_duration: 'P1D',
        action: { action_groups: [reference('azurerm_monitor_action_group', id.actionGroup)] },
        depends_on: [`${TABLE}.${id.table}`],
      });
      expect(construct.createdAlerts().map((created) => created.name)).toContain('alert-contoso-sql-migration-stalled');
    });

    it('takes the silence, severity and window from its options, and widens the window for a long silence', () => {
      const { stack } = withEvents({ migrationStalledAlert: { silentMinutes: 1500, severity: 0 } });
      const alert = resourceNamed(synthObject(stack), LOG_ALERT, 'alert-contoso-sql-migration-stalled');
      expect(alert.criteria[0].query).toBe(migrationStalledQuery('contoso-sql', 1500));
      expect(alert.severity).toBe(0);
      expect(alert.window_duration).toBe('P2D');
    });

    it.each<[MigrationStalledAlertOptions, RegExp]>([
      [{ silentMinutes: 10 }, /migrationStalledAlert\.silentMinutes \(10\) must be more than 15/],
      [{ silentMinutes: 60, windowMinutes: 60 }, /migrationStalledAlert\.silentMinutes \(60\) must be less than migrationStalledAlert\.windowMinutes \(60\)/],
      [{ silentMinutes: 2880 }, /silentMinutes \(2880\) must be less than migrationStalledAlert\.windowMinutes \(2880\)/],
      [{ evaluationFrequencyMinutes: 7 }, /migrationStalledAlert\.evaluationFrequencyMinutes must be one of/],
    ])('rejects %j with an error naming the option', (migrationStalledAlert, message) => {
      expect(() => withEvents({ migrationStalledAlert })).toThrow(message);
    });
  });

  it('lists its alerts in createdAlerts()', () => {
    const { monitoring: construct } = withEvents();
    expect(
      construct.createdAlerts().map(({ name, kind, severity, evaluationFrequency, window }) => ({
        name,
        kind,
        severity,
        evaluationFrequency,
        window,
      })),
    ).toEqual([
      { name: 'alert-contoso-sql-migration-failed', kind: 'log', severity: 1, evaluationFrequency: 'PT5M', window: 'PT5M' },
      { name: 'alert-contoso-sql-rollback-failed', kind: 'log', severity: 0, evaluationFrequency: 'PT5M', window: 'PT5M' },
      { name: 'alert-contoso-sql-migration-running-long', kind: 'log', severity: 2, evaluationFrequency: 'PT15M', window: 'P1D' },
      { name: 'alert-contoso-sql-migration-stalled', kind: 'log', severity: 1, evaluationFrequency: 'PT5M', window: 'P1D' },
      { name: 'alert-contoso-sql-cutover-awaiting-approval', kind: 'log', severity: 3, evaluationFrequency: 'PT5M', window: 'PT30M' },
      { name: 'alert-contoso-sql-cutover-postponed', kind: 'log', severity: 3, evaluationFrequency: 'PT5M', window: 'PT15M' },
      { name: 'alert-contoso-sql-event-ingestion-errors', kind: 'log', severity: 1, evaluationFrequency: 'PT5M', window: 'PT2H' },
    ]);
    for (const alert of construct.createdAlerts()) {
      expect(alert.resource).toBeInstanceOf(MonitorScheduledQueryRulesAlertV2);
      expect(alert.description).toBe(alert.resource.descriptionInput);
    }
  });
});
