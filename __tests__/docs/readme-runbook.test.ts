/**
 * README "When an alert fires" is the runbook of the person on call: one row per alert a stack can
 * create and, for the alerts on the DAG's events, per kind of event that raises them. The table is
 * read from the README and checked against the alerts every host synthesizes (names and default
 * severities) and against the events contract (which phase and status raise which alert), so a new
 * alert, a changed severity or an event that raises another alert cannot leave it stale.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { DatabaseMigrationStack } from '../../lib/database-migration-stack';
import { MigrationPlan } from '../../lib/plan';
import { loadMigrationEventsContract, MigrationEventsContract } from '../../lib/monitoring/migration-events-contract';
import { AIRFLOW_OF_HOST, examplePlanWith, synthMigrationStack } from '../helpers/migration-stack';
import { onlyResource, prepareStacks, resourcesOfType, SynthesizedStack, synthObject } from '../helpers/test-stack';
import { anchorOf, tableRows } from './readme-table';

const README = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
const CONTRACT = loadMigrationEventsContract();
const HEADER = '| alert (severity) | event (`Phase` / `Status`) | what happened, and what the DAG did | what you do |';
const QUIET = 'No alert, on purpose:';

type Host = keyof typeof AIRFLOW_OF_HOST;

/** The plan of each host with cutover gates on, and its stack synthesized: the alerts and the cutover-postponed test read the same one. */
const gatedStacks = new Map<Host, { plan: MigrationPlan; synth: SynthesizedStack }>();
function gatedStack(host: Host): { plan: MigrationPlan; synth: SynthesizedStack } {
  if (!gatedStacks.has(host)) {
    const plan = examplePlanWith(AIRFLOW_OF_HOST[host], { cutover: { maxConcurrent: 1 } });
    gatedStacks.set(host, { plan, synth: synthMigrationStack({ plan }).synth });
  }
  return gatedStacks.get(host)!;
}

/** Every alert a stack of any host creates (cutover gates on), by short name (`alert-<plan>-` cut off), with its severity. */
function alertsOfEveryHost(): Map<string, number> {
  const alerts = new Map<string, number>();
  for (const host of Object.keys(AIRFLOW_OF_HOST) as Host[]) {
    const { plan, synth } = gatedStack(host);
    for (const type of ['azurerm_monitor_scheduled_query_rules_alert_v2', 'azurerm_monitor_metric_alert']) {
      for (const alert of Object.values(resourcesOfType(synth, type))) alerts.set(String(alert.name).replace(`alert-${plan.name}-`, ''), Number(alert.severity));
    }
    for (const group of Object.values(resourcesOfType(synth, 'azurerm_monitor_alert_prometheus_rule_group'))) {
      for (const rule of group.rule as { alert: string; severity: number }[]) alerts.set(rule.alert, rule.severity);
    }
  }
  return alerts;
}

/** The alert an event raises: its status's, unless the status names another for the event's phase. */
function alertOf(contract: MigrationEventsContract, phase: string, status: string): string | undefined {
  const entry = contract.statuses.find((candidate) => candidate.name === status);
  return entry?.alertInPhase?.[phase] ?? entry?.alert;
}

interface RunbookRow {
  /** Short alert names with the severity the row gives each. */
  readonly alerts: Map<string, number>;
  /** The events of the row: phases (`any`: every phase) and statuses; none for an alert on another signal. */
  readonly phases: string[] | 'any';
  readonly statuses: string[];
}

function runbookRows(readme: string): RunbookRow[] {
  return tableRows(readme, HEADER, 'runbook table').map((line) => {
    const [alertCell, eventCell] = line.split(' | ').map((cell) => cell.replace(/^\| /, ''));
    const alerts = new Map([...alertCell.matchAll(/`(?:alert-<name>-)?([A-Za-z-]+)` \((\d)\)/g)].map((match) => [match[1], Number(match[2])]));
    const [phaseText, statusText] = eventCell.includes(' / ') ? eventCell.split(' / ') : ['', ''];
    const backticked = (text: string) => [...text.matchAll(/`([^`]+)`/g)].map((match) => match[1]);
    return { alerts, phases: phaseText.trim() === 'any' ? 'any' : backticked(phaseText), statuses: backticked(statusText) };
  });
}

/** The statuses the README names as raising no alert, in the sentence after the table. */
function quietStatuses(readme: string): string[] {
  const start = readme.indexOf(QUIET, readme.indexOf(HEADER));
  return start < 0 ? [] : [...readme.slice(start, readme.indexOf('\n\n', start)).matchAll(/`([A-Za-z]+)`/g)].map((match) => match[1]);
}

/** What the runbook gets wrong against the synthesized alerts and the events contract. */
function runbookProblems(readme: string, alerts: Map<string, number>, contract: MigrationEventsContract) {
  const rows = runbookRows(readme);
  const documented = new Map(rows.flatMap((row) => [...row.alerts]));
  const phases = contract.phases.map((phase) => phase.name);
  const covers = (row: RunbookRow, phase: string, status: string) => row.statuses.includes(status) && (row.phases === 'any' || row.phases.includes(phase));
  const wrongAlertOfEvent = rows.flatMap((row) =>
    row.statuses.flatMap((status) =>
      (row.phases === 'any' ? phases : row.phases)
        .filter((phase) => !row.alerts.has(alertOf(contract, phase, status) ?? '(none)'))
        .map((phase) => `${phase} / ${status}: README ${[...row.alerts.keys()].join(', ')}, contract ${alertOf(contract, phase, status) ?? 'none'}`),
    ),
  );
  // A status whose alert depends on the phase is told for every phase; any other once.
  const uncoveredEvents = contract.statuses
    .filter((status) => status.alert !== undefined)
    .flatMap((status) => (status.alertInPhase ? phases : [undefined]).map((phase) => ({ status: status.name, phase })))
    .filter(({ status, phase }) => !rows.some((row) => (phase === undefined ? row.statuses.includes(status) : covers(row, phase, status))))
    .map(({ status, phase }) => (phase === undefined ? status : `${phase} / ${status}`));
  const quiet = quietStatuses(readme);
  return {
    unknownAlerts: [...documented.keys()].filter((name) => !alerts.has(name)),
    undocumentedAlerts: [...alerts.keys()].filter((name) => !documented.has(name)),
    wrongSeverities: [...documented].filter(([name, severity]) => alerts.has(name) && alerts.get(name) !== severity).map(([name, severity]) => `${name}: README ${severity}, stack ${alerts.get(name)}`),
    wrongAlertOfEvent,
    uncoveredEvents,
    unexplainedQuietStatuses: contract.statuses.filter((status) => status.alert === undefined && !quiet.includes(status.name)).map((status) => status.name),
  };
}

const NO_PROBLEMS = { unknownAlerts: [], undocumentedAlerts: [], wrongSeverities: [], wrongAlertOfEvent: [], uncoveredEvents: [], unexplainedQuietStatuses: [] };

describe("the README's runbook (When an alert fires)", () => {
  const alerts = alertsOfEveryHost();

  it('has a row for every alert of every host, with its severity, and tells every event that raises one', () => {
    expect(alerts.size).toBeGreaterThanOrEqual(12);
    expect(runbookProblems(README, alerts, CONTRACT)).toEqual(NO_PROBLEMS);
  });

  it('sees an alert left out, a wrong severity, an event given the wrong alert, an event left out and a quiet status unexplained', () => {
    const drifted = README.replace(/^\| `alert-<name>-shir-offline` \(1\) .*\n/m, '')
      .replace('| `alert-<name>-rollback-failed` (0) | `rollback` / `Failed` |', '| `alert-<name>-rollback-failed` (1) | `rollback` / `Failed` |')
      .replace('| `alert-<name>-migration-failed` (1) | `preflight` / `Failed` |', '| `alert-<name>-migration-failed` (1) | `preflight`, `rollback` / `Failed` |')
      .replace(/^\| `alert-<name>-migration-failed` \(1\) \| `freeze_source`, `final_backup` .*\n/m, '')
      .replace('`Retrying` (Airflow runs', 'Retrying (Airflow runs');
    expect(runbookProblems(drifted, alerts, CONTRACT)).toEqual({
      ...NO_PROBLEMS,
      undocumentedAlerts: ['shir-offline'],
      wrongSeverities: ['rollback-failed: README 1, stack 0'],
      wrongAlertOfEvent: ['rollback / Failed: README migration-failed, contract rollback-failed'],
      uncoveredEvents: ['freeze_source / Failed', 'final_backup / Failed'],
      unexplainedQuietStatuses: ['Retrying'],
    });
  });

  it('sees an alert no stack creates', () => {
    const drifted = README.replace('| `AirflowSchedulerHeartbeatMissing` (1) |', '| `AirflowSchedulerHeartbeatMissing` (1), `alert-<name>-dms-offline` (1) |');
    expect(runbookProblems(drifted, alerts, CONTRACT).unknownAlerts).toEqual(['dms-offline']);
  });

  it("has the cutover-postponed alert tell what follows for every step the README's row names (a SqlDb copy: start_migration)", () => {
    const { plan, synth } = gatedStack('kubernetes');
    const postponed = Object.values(resourcesOfType(synth, 'azurerm_monitor_scheduled_query_rules_alert_v2')).find(
      (alert) => alert.name === `alert-${plan.name}-cutover-postponed`,
    );
    const row = README.split('\n').find((line) => line.startsWith('| `alert-<name>-cutover-postponed` (3)'));
    const phases = CONTRACT.phases.map((phase) => phase.name).filter((phase) => row?.includes(`\`${phase}\``));
    expect(phases).toContain('start_migration');
    for (const phase of phases) expect(String(postponed?.description)).toMatch(new RegExp(`\\b${phase}\\b`));
  });
});

const STEPS_HEADING = "### Running the runbook's Airflow steps";
const STEPS_HEADER = '| host | commands | UI actions |';
/**
 * The main container of the chart's scheduler pod (apache/airflow `chart/templates/scheduler/scheduler-deployment.yaml`:
 * `containers: - name: scheduler`; the deployment is `{{ include "airflow.fullname" . }}-scheduler`, the release's name
 * where it holds the chart's, `airflow`).
 */
const CHART_SCHEDULER_CONTAINER = 'scheduler';

/** The part of the README from `heading` to the next heading of any level. */
function section(readme: string, heading: string): string {
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) return '';
  const next = readme.slice(start + heading.length + 2).search(/^#{1,6} /m);
  return next < 0 ? readme.slice(start) : readme.slice(start, start + heading.length + 2 + next);
}

/**
 * The Kubernetes host's Helm release as synthesized: its name, the chart, and the namespace it is installed into. The
 * stacks are prepared as `synthMigrationStack` prepares them, and only the release stack is synthesized (the test reads no other).
 */
function kubernetesRelease(): { name: string; chart: string; namespace: string } {
  const plan = examplePlanWith(AIRFLOW_OF_HOST.kubernetes);
  const stack = new DatabaseMigrationStack(Testing.app(), plan.name, { plan });
  prepareStacks([stack, ...stack.releaseStacks]);
  const release = synthObject(stack.releaseStacks[0]);
  const helm = onlyResource(release, 'helm_release') as { name: string; chart: string; namespace: string };
  const namespaces = Object.values(resourcesOfType(release, 'kubernetes_namespace_v1')) as { metadata: { name: string } }[];
  expect(namespaces).toHaveLength(1);
  expect(helm.namespace).toMatch(/^\$\{kubernetes_namespace_v1\.[^}]+\.metadata\[0\]\.name\}$/);
  return { name: helm.name, chart: helm.chart, namespace: namespaces[0].metadata.name };
}

describe("the README's runbook, run on each host", () => {
  const steps = section(README, STEPS_HEADING);

  it('points from the runbook to one part that says where its Airflow steps run, for every host', () => {
    const intro = README.slice(README.indexOf('### When an alert fires'), README.indexOf(HEADER));
    expect(intro).toContain(`(#${anchorOf(STEPS_HEADING)})`);
    expect(steps).not.toBe('');
    const hosts = tableRows(steps, STEPS_HEADER, "table of the runbook's Airflow steps per host").map((row) => row.split(' | ')[0].replace(/^\| `|`$/g, ''));
    expect(hosts).toEqual(Object.keys(AIRFLOW_OF_HOST));
  });

  it("execs the Kubernetes host's commands in the scheduler container of the release the stack installs, in its namespace", () => {
    const release = kubernetesRelease();
    expect(release.chart).toBe('airflow');
    expect(release.name).toContain(release.chart); // the chart's fullname is then the release name
    const exec = `kubectl -n ${release.namespace} exec deploy/${release.name}-scheduler -c ${CHART_SCHEDULER_CONTAINER} -- `;
    const kubernetesRow = tableRows(steps, STEPS_HEADER, "table of the runbook's Airflow steps per host").find((row) => row.startsWith('| `kubernetes` |'));
    expect(kubernetesRow).toContain(exec);
    // every kubectl command of the README names that namespace and, where it execs, that deployment and container
    const kubectl = [...README.matchAll(/kubectl -n ([^\s`]+) (exec|logs|get) ([^\s`]+)(?: -c ([^\s`]+))?/g)];
    expect(kubectl.length).toBeGreaterThanOrEqual(3);
    for (const [command, namespace, verb, target, container] of kubectl) {
      expect({ command, namespace }).toEqual({ command, namespace: release.namespace });
      if (verb !== 'get') expect({ command, target, container }).toEqual({ command, target: `deploy/${release.name}-scheduler`, container: CHART_SCHEDULER_CONTAINER });
    }
  });

  it('tells, wherever it says to name another target database, that a SqlDb one must first exist with the source\'s schema', () => {
    const rows = tableRows(README, HEADER, 'runbook table').filter((row) => row.includes('name another target database'));
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const row of rows) expect(row.split(' | ')[3]).toMatch(/SqlDb: [^|]*source's schema/);
  });

  it('tells that a SqlDb target the rollback "kept" after a copy DMS ended Failed takes the next copy, without another name', () => {
    const rolledBack = tableRows(README, HEADER, 'runbook table').find((row) => row.startsWith('| `alert-<name>-migration-failed` (1) | `rollback` / `RolledBack` |'));
    expect(rolledBack?.split(' | ')[3]).toMatch(/A SqlDb target is "kept" every time \("existed before the migration"\): after a copy DMS ended `Failed` or `Canceled`[^|]*trigger the DAG again as it is/);
  });
});
