/**
 * The Kubernetes host's Prometheus alert rules follow the plan's alert settings like every other
 * alert (issue 13 item 3): `alertDefaults` (enabled, autoMitigate, runbook link) apply, each rule is
 * tuned from `DatabaseMigrationStackProps.monitoring` alone (`airflowTaskFailuresRule`, ...), and
 * `createdAlerts()` lists them. A bad override fails at synth, naming the construct, option and field.
 */
import { MonitorAlertPrometheusRuleGroup } from '@cdktf/provider-azurerm/lib/monitor-alert-prometheus-rule-group';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing, Token } from 'cdktf';
import { AIRFLOW_PROMETHEUS_ALERT_OPTIONS } from '../../lib/monitoring/airflow-prometheus-alerts';
import { DatabaseMigrationStack, DatabaseMigrationStackProps } from '../../lib/database-migration-stack';
import { examplePlan } from '../helpers/example-plan';
import { kubernetesHost } from '../hosts/kubernetes-test-stack';
import { AIRFLOW_OF_HOST, examplePlanWith, synthMigrationStack } from '../helpers/migration-stack';
import { onlyResource, synthesizedResource, SynthesizedStack } from '../helpers/test-stack';

const RULE_GROUP = 'azurerm_monitor_alert_prometheus_rule_group';
const RUNBOOK = 'https://wiki.contoso.example/airflow';

/** The rules of the rule group, by alert name. */
function rulesOf(group: Record<string, any>): Record<string, any> {
  return Object.fromEntries(group.rule.map((rule: any) => [rule.alert, rule]));
}

function rules(synth: SynthesizedStack): Record<string, any> {
  return rulesOf(onlyResource(synth, RULE_GROUP));
}

/** A DatabaseMigrationStack of the example plan, constructed, not synthesized. */
function constructedMigrationStack(props: Partial<DatabaseMigrationStackProps> = {}): DatabaseMigrationStack {
  const plan = examplePlan();
  return new DatabaseMigrationStack(Testing.app(), plan.name, { ...props, plan });
}

/** The rules of a constructed stack as its synthesis writes them (synthesizedResource; the first test checks it). */
function constructedRules(props: Partial<DatabaseMigrationStackProps>): Record<string, any> {
  return rulesOf(synthesizedResource(constructedMigrationStack(props), MonitorAlertPrometheusRuleGroup));
}

/** The stack without overrides, synthesized once: the built-in rules and the documented defaults read it. */
const withoutOverrides = synthMigrationStack();

describe("the Kubernetes host's Prometheus alert rules, from the stack", () => {
  it('are read from a constructed stack as its synthesis writes them', () => {
    expect(synthesizedResource(constructedMigrationStack(), MonitorAlertPrometheusRuleGroup)).toEqual(onlyResource(withoutOverrides.synth, RULE_GROUP));
  });

  it('follow alertDefaults: enabled, autoMitigate (auto_resolved) and the runbook (annotation and description)', () => {
    const alerts = constructedRules({ monitoring: { alertDefaults: { enabled: false, autoMitigate: false, runbookUrl: RUNBOOK } } });
    for (const rule of Object.values(alerts)) {
      expect(rule).toMatchObject({
        enabled: false,
        alert_resolution: { auto_resolved: false, time_to_resolve: 'PT10M' },
        annotations: { runbook_url: RUNBOOK, description: expect.stringMatching(/ Runbook: https:\/\/wiki\.contoso\.example\/airflow$/) },
      });
    }
  });

  it('keep their built-in settings without overrides: enabled, resolved by Azure, no runbook annotation', () => {
    const { synth } = withoutOverrides;
    for (const rule of Object.values(rules(synth))) {
      expect(rule).toMatchObject({ enabled: true, alert_resolution: { auto_resolved: true, time_to_resolve: 'PT10M' } });
      expect(Object.keys(rule.annotations)).toEqual(['description']);
    }
  });

  // Read once for the two tests below: look-backs of 30 and 10 minutes, not the defaults 15 and 5,
  // and no description or runbook of their own on those two rules.
  const overridden = constructedRules({
    monitoring: {
      alertDefaults: { enabled: false },
      airflowTaskFailuresRule: { severity: 0, forMinutes: 5, windowMinutes: 30, threshold: 2, enabled: true },
      airflowDagImportErrorsRule: { forMinutes: 20, threshold: 1, description: 'Import errors.', runbookUrl: RUNBOOK },
      airflowSchedulerHeartbeatMissingRule: { severity: 0, windowMinutes: 10, autoMitigate: false },
    },
  });

  it("take each rule's overrides (severity, for, look-back, threshold, enabled, description), over alertDefaults", () => {
    const { AirflowTaskFailures, AirflowDagImportErrors, AirflowSchedulerHeartbeatMissing } = overridden;
    expect(AirflowTaskFailures).toMatchObject({
      severity: 0,
      for: 'PT5M',
      enabled: true,
      expression: '(sum(increase(airflow_ti_failures[30m])) or sum(increase(airflow_ti_failures_total[30m]))) > 2',
    });
    expect(AirflowDagImportErrors).toMatchObject({
      severity: 1,
      for: 'PT20M',
      enabled: false,
      expression: 'max(airflow_dag_processing_import_errors) > 1',
      annotations: { description: `Import errors. Runbook: ${RUNBOOK}`, runbook_url: RUNBOOK },
    });
    expect(AirflowSchedulerHeartbeatMissing).toMatchObject({
      severity: 0,
      for: 'PT5M',
      expression: '((sum(rate(airflow_scheduler_heartbeat[10m])) or sum(rate(airflow_scheduler_heartbeat_total[10m]))) or vector(0)) == 0',
      alert_resolution: { auto_resolved: false },
    });
  });

  it('say in their built-in description the look-back they were given, not the default one', () => {
    const { AirflowTaskFailures, AirflowSchedulerHeartbeatMissing } = overridden;
    expect(AirflowTaskFailures.annotations.description).toBe('Airflow task instances failed in the last 30 minutes (migration DAG on the Kubernetes host)');
    expect(AirflowSchedulerHeartbeatMissing.annotations.description).toBe('No Airflow scheduler heartbeat for 10 minutes: no task of the migration is being scheduled');
  });

  it('are listed by createdAlerts(), with their final settings and their rule group', () => {
    // createdAlerts() lists what the constructors made: no synthesis needed.
    const stack = constructedMigrationStack({ monitoring: { airflowTaskFailuresRule: { severity: 3, windowMinutes: 60 } } });
    const prometheus = stack.monitoring.createdAlerts().filter((alert) => alert.kind === 'prometheus');
    expect(prometheus.map(({ name, severity, evaluationFrequency, window }) => ({ name, severity, evaluationFrequency, window }))).toEqual([
      { name: 'AirflowTaskFailures', severity: 3, evaluationFrequency: 'PT1M', window: 'PT60M' },
      { name: 'AirflowDagImportErrors', severity: 1, evaluationFrequency: 'PT1M', window: 'PT10M' },
      { name: 'AirflowSchedulerHeartbeatMissing', severity: 1, evaluationFrequency: 'PT1M', window: 'PT5M' },
    ]);
    const [{ resource: group }] = prometheus;
    expect(group.terraformResourceType).toBe(RULE_GROUP);
    for (const alert of prometheus) expect(alert.resource).toBe(group);
  });
});

// The API reference's `@default` of each option is the rule a user gets without it.
describe("each rule option's documented default", () => {
  const source = readFileSync(join(__dirname, '..', '..', 'lib', 'monitoring', 'airflow-prometheus-alerts.ts'), 'utf8');
  const created = withoutOverrides.stack.monitoring.createdAlerts().filter((alert) => alert.kind === 'prometheus');

  it.each(AIRFLOW_PROMETHEUS_ALERT_OPTIONS.map((option, index) => [option, index] as const))('%s', (option, index) => {
    const text = new RegExp(`@default - ([^\\n]*)\\n\\s*\\*/\\n\\s*readonly ${option}\\?`).exec(source)?.[1] ?? '';
    const minutes = (pattern: RegExp) => pattern.exec(text)?.[1];
    const forMinutes = minutes(/for (\d+) minutes?/);
    const lookBack = minutes(/over (\d+) minutes/);
    const alert = created[index];
    expect({ severity: Number(minutes(/severity (\d)/)), for: `PT${forMinutes}M`, window: `PT${lookBack ?? forMinutes}M` }).toEqual({
      severity: alert.severity,
      for: alert.kind === 'prometheus' ? alert.for : undefined,
      window: alert.window,
    });
  });
});

describe('a Prometheus rule override the stack refuses', () => {
  it.each<[string, DatabaseMigrationStackProps['monitoring'], string | RegExp]>([
    ['a look-back on the gauge', { airflowDagImportErrorsRule: { windowMinutes: 5 } }, 'contoso-sql/Monitoring: airflowDagImportErrorsRule.windowMinutes: AirflowDagImportErrors reads a gauge'],
    ['a threshold on the heartbeat', { airflowSchedulerHeartbeatMissingRule: { threshold: 1 } }, 'contoso-sql/Monitoring: airflowSchedulerHeartbeatMissingRule.threshold: AirflowSchedulerHeartbeatMissing fires when there is no heartbeat'],
    ['a severity out of range', { airflowTaskFailuresRule: { severity: 7 } } as never, 'contoso-sql/Monitoring: airflowTaskFailuresRule.severity must be an integer from 0 to 4 (got 7)'],
    ['a for of no minutes', { airflowTaskFailuresRule: { forMinutes: 0 } }, 'contoso-sql/Monitoring: airflowTaskFailuresRule.forMinutes must be a whole number of minutes, at least 1 (got 0)'],
    ['a look-back of one minute (two 30 s scrapes: rate() may find one sample, and the heartbeat rule fire on a healthy scheduler)', { airflowSchedulerHeartbeatMissingRule: { windowMinutes: 1 } }, "contoso-sql/Monitoring: airflowSchedulerHeartbeatMissingRule.windowMinutes must be a whole number of minutes, at least 2 (got 1): the exporter is scraped every 30 s, and AirflowSchedulerHeartbeatMissing's look-back needs two samples even when a scrape fails or arrives late"],
    ['a look-back of one minute on task failures', { airflowTaskFailuresRule: { windowMinutes: 1 } }, 'contoso-sql/Monitoring: airflowTaskFailuresRule.windowMinutes must be a whole number of minutes, at least 2 (got 1)'],
    ['a negative threshold', { airflowTaskFailuresRule: { threshold: -1 } }, 'contoso-sql/Monitoring: airflowTaskFailuresRule.threshold must be a finite number, at least 0 (got -1)'],
    ['a threshold token (written into the PromQL at synth)', { airflowTaskFailuresRule: { threshold: Token.asNumber('${var.threshold}') } }, /monitoring\.airflowTaskFailuresRule\.threshold.*token/],
    ['an unknown field', { airflowTaskFailuresRule: { sevrity: 1 } } as never, /monitoring\.airflowTaskFailuresRule\.sevrity is an unknown field/],
  ])('%s', (_, monitoring, message) => {
    expect(() => synthMigrationStack({ monitoring })).toThrow(message);
  });

  it.each(['dataFactory', 'fabric', 'external'] as const)('on a %s plan, which has no Prometheus rules', (host) => {
    expect(() => synthMigrationStack({ plan: examplePlanWith(AIRFLOW_OF_HOST[host]), monitoring: { airflowSchedulerHeartbeatMissingRule: { severity: 0 } } })).toThrow(
      `contoso-sql: monitoring.airflowSchedulerHeartbeatMissingRule: the plan's Airflow host is ${host}, which has no such alert`,
    );
  });
});

describe('the Kubernetes host used alone', () => {
  it("takes each rule's overrides from its own props, without alert defaults", () => {
    const { stack } = kubernetesHost({ airflowTaskFailuresRule: { severity: 1, threshold: 3 }, airflowSchedulerHeartbeatMissingRule: { enabled: false } });
    const made = Object.fromEntries(synthesizedResource(stack, MonitorAlertPrometheusRuleGroup).rule.map((rule: any) => [rule.alert, rule]));
    expect(made.AirflowTaskFailures).toMatchObject({ severity: 1, expression: expect.stringMatching(/ > 3$/), enabled: true });
    expect(made.AirflowSchedulerHeartbeatMissing).toMatchObject({ enabled: false });
  });

  it('names itself and the option when a value is refused', () => {
    expect(() => kubernetesHost({ airflowDagImportErrorsRule: { forMinutes: 1.5 } })).toThrow(
      'test/airflow: airflowDagImportErrorsRule.forMinutes must be a whole number of minutes, at least 1 (got 1.5)',
    );
  });
});
