/**
 * The cutover rules, each shown failing on a plan file broken in one place: the error names the
 * file, line, column and field path, and says what is wrong (with both figures where two disagree).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMigrationPlan } from '../../lib/plan';
import { CAPACITY_ID, ENVIRONMENT_ID, SERVICE_PRINCIPAL as SP } from '../helpers/host-fixtures';
import { planError, planFiles } from './plan-fixtures';
import { AIRFLOW_VERSION_OF_HOST, airflowAtLeast } from '../../lib/private/airflow-versions';

const EXAMPLE = readFileSync(join(__dirname, '..', '..', 'examples', 'cutover-windows.yaml'), 'utf8');
const SERVICE_PRINCIPAL = `servicePrincipal: { clientId: ${SP.clientId}, objectId: ${SP.objectId} }`;

const PLAN_WINDOW = `    - timeZone: Europe/Berlin     # local wall time, daylight saving time included
      days: [Sat]
      start: "22:00"
      durationMinutes: 360        # Saturday 22:00 to Sunday 04:00
`;
const DATABASE_2_APPROVAL = `      approval:
        required: true
        approvers: [{ id: 5e1f0c2a-7b3d-4c5e-9f6a-1b2c3d4e5f60, name: Alice Example }]`;
/** The example's Airflow section: the Kubernetes host's sign-in, which its approval through hitl needs. */
const EXAMPLE_AIRFLOW = /^airflow:\n(?: .*\n)+/m;
const DATABASE_3_WINDOWS = '      windows:                  # replaces';

/** The example with `replace` applied (each pair must match once). */
function exampleWith(...replace: [string | RegExp, string][]): string {
  return replace.reduce((text, [from, to]) => {
    if (text.split(from).length !== 2) throw new Error(`not exactly once in the example: ${from}`);
    return text.replace(from, to);
  }, EXAMPLE);
}

/** `line:column` of the first `marker` (after the line holding `after`, when given): a field's key, or a list item. */
function positionOf(text: string, marker: string, after?: string): string {
  const lines = text.split('\n');
  const from = after === undefined ? 0 : lines.findIndex((line) => line.includes(after));
  const index = lines.findIndex((line, i) => i >= from && line.includes(marker));
  if (index < 0) throw new Error(`no ${marker} in the plan`);
  return `${index + 1}:${lines[index].indexOf(marker) + 1}`;
}

const files = planFiles();

/** The `file:line:column path: message` lines of loading `text`. */
function errorLines(text: string): string[] {
  const path = files.write('cutover.yaml', text);
  return planError(() => loadMigrationPlan(path)).message.split('\n').map((line) => line.replace(path, 'plan'));
}

test('the example loads', () => {
  expect(() => loadMigrationPlan(files.write('cutover.yaml', EXAMPLE))).not.toThrow();
});

describe('windows', () => {
  test('both kinds in one window', () => {
    const text = exampleWith([PLAN_WINDOW, `${PLAN_WINDOW}      from: "2026-12-24T20:00"\n      to: "2026-12-25T02:00"\n`]);
    expect(errorLines(text)).toEqual([
      `plan:${positionOf(text, 'from:')} cutover.windows[0].from: a window is weekly (days, start, durationMinutes) or a date range (from, to), not both: this one has days, start, durationMinutes, from, to; write two windows for both`,
    ]);
  });

  test('neither kind', () => {
    const text = exampleWith([PLAN_WINDOW, '    - timeZone: Europe/Berlin\n']);
    expect(errorLines(text)).toEqual([
      `plan:${positionOf(text, 'timeZone: Europe/Berlin')} cutover.windows[0]: missing: a weekly window needs days, start, durationMinutes; a date range needs from, to`,
    ]);
  });

  test('a weekly window without its duration', () => {
    const text = exampleWith(['      durationMinutes: 360        # Saturday 22:00 to Sunday 04:00\n', '']);
    expect(errorLines(text)).toEqual([
      `plan:${positionOf(text, 'timeZone: Europe/Berlin')} cutover.windows[0].durationMinutes: missing: a weekly window needs days, start, durationMinutes`,
    ]);
  });

  test('a date range that does not end after it starts', () => {
    const text = exampleWith([PLAN_WINDOW, '    - { timeZone: Europe/Berlin, from: "2026-12-26T02:00", to: "2026-12-25T22:00" }\n']);
    expect(errorLines(text)).toEqual([
      `plan:${positionOf(text, 'to: "2026-12-25T22:00"')} cutover.windows[0].to: 2026-12-25T22:00 is not after from (2026-12-26T02:00) in Europe/Berlin: a date range must end after it starts`,
    ]);
  });

  test('a window shorter than the cutover, naming both figures', () => {
    const text = exampleWith(['durationMinutes: 360 ', 'durationMinutes: 40  ']);
    expect(errorLines(text)).toEqual([
      `plan:${positionOf(text, 'timeZone: Europe/Berlin')} cutover.windows[0]: is open 40 minutes, shorter than the cutover's 45 minutes (expectedMinutes): the freeze, final backup and cutover must fit in one window; make it longer or expectedMinutes shorter`,
    ]);
  });

  test("a plan window shorter than one database's own expectedMinutes names that field", () => {
    const text = exampleWith([DATABASE_2_APPROVAL, `      expectedMinutes: 400\n${DATABASE_2_APPROVAL}`]);
    expect(errorLines(text)).toEqual([
      `plan:${positionOf(text, 'timeZone: Europe/Berlin')} cutover.windows[0]: is open 360 minutes, shorter than the cutover's 400 minutes (databases[1].cutover.expectedMinutes): the freeze, final backup and cutover must fit in one window; make it longer or expectedMinutes shorter`,
    ]);
  });

  test('a timeoutMinutes too short for the cutover, on a gated database', () => {
    const text = exampleWith([DATABASE_2_APPROVAL, `${DATABASE_2_APPROVAL}\n    timeoutMinutes: 40`]);
    expect(errorLines(text)).toEqual([
      `plan:${positionOf(text, 'timeoutMinutes: 40')} databases[1].timeoutMinutes: is 40 minutes, shorter than the cutover's 45 minutes (cutover.expectedMinutes): after await_cutover lets the database go, the freeze, final backup and cutover must end within its timeoutMinutes, so the DAG would never freeze it; make timeoutMinutes longer or expectedMinutes shorter`,
    ]);
    const ungated = exampleWith(
      ['  maxConcurrent: 2                # plan level only: cutovers in progress at once across the plan\n', ''],
      [PLAN_WINDOW, ''],
      ['  windows:\n', ''],
      [DATABASE_2_APPROVAL, '      expectedMinutes: 45\n    timeoutMinutes: 40'],
    );
    expect(() => loadMigrationPlan(files.write('cutover.yaml', ungated))).not.toThrow(); // no gate: no deadline to fit
  });

  test('an expectedMinutes longer than the default timeoutMinutes, for each database it applies to', () => {
    const text = exampleWith(['durationMinutes: 360 ', 'durationMinutes: 900 '], ['expectedMinutes: 45 ', 'expectedMinutes: 800'], ['durationMinutes: 240', 'durationMinutes: 900']);
    const why = "720 minutes, shorter than the cutover's 800 minutes (cutover.expectedMinutes): after await_cutover lets the database go, the freeze, final backup and cutover must end within its timeoutMinutes, so the DAG would never freeze it; make timeoutMinutes longer or expectedMinutes shorter";
    expect(errorLines(text)).toEqual([0, 1, 2].map((index) => `plan:${positionOf(text, `name: database_${index + 1}`)} databases[${index}].timeoutMinutes: is ${why}`));
  });

  test('an unknown time zone', () => {
    const text = exampleWith(['timeZone: America/New_York', 'timeZone: America/New_Yrok']);
    expect(errorLines(text)).toEqual([
      `plan:${positionOf(text, 'timeZone: America/New_Yrok')} databases[2].cutover.windows[0].timeZone: unknown time zone "America/New_Yrok": must be an IANA time zone name such as Europe/Berlin; did you mean America/New_York?`,
    ]);
  });

  test.each([
    ['days: [Sun]', 'days: [Sun, Sunday]', 'days[1]', 'Sunday', 'must be one of Mon, Tue, Wed, Thu, Fri, Sat, Sun (got "Sunday")'],
    ['days: [Sun]', 'days: [Sun, Sun]', 'days', 'days:', 'names a day twice'],
    ['days: [Sun]', 'days: []', 'days', 'days:', 'needs at least one day'],
    ['start: "01:00"', 'start: "25:00"', 'start', 'start:', 'must be a local time HH:MM (24-hour clock), such as 22:00'],
    ['durationMinutes: 240', 'durationMinutes: 20000', 'durationMinutes', 'durationMinutes:', 'must be an integer from 1 to 10080'],
  ])('a weekly field out of range: %s -> %s', (from, to, field, marker, message) => {
    const text = exampleWith([from, to]);
    expect(errorLines(text)).toEqual([
      `plan:${positionOf(text, marker, 'America/New_York')} databases[2].cutover.windows[0].${field}: ${message}`,
    ]);
  });

  test('a date that is not in the calendar', () => {
    const text = exampleWith([PLAN_WINDOW, '    - { timeZone: Europe/Berlin, from: "2026-02-28T22:00", to: "2026-02-30T04:00" }\n']);
    expect(errorLines(text)).toEqual([
      `plan:${positionOf(text, 'to: "2026-02-30T04:00"')} cutover.windows[0].to: is not a date of the calendar`,
    ]);
  });
});

describe('approval', () => {
  test('required without approvers, on the database', () => {
    const text = exampleWith(['        approvers: [{ id: 5e1f0c2a-7b3d-4c5e-9f6a-1b2c3d4e5f60, name: Alice Example }]', '        approvers: []']);
    expect(errorLines(text)).toEqual([
      `plan:${positionOf(text, 'approvers: []')} databases[1].cutover.approval.approvers: missing: approval is required but no approver is named; list the Airflow users who may approve, e.g. approvers: [alice@contoso.com]`,
    ]);
  });

  test.each([
    ['without its id', '{ name: Alice Example }', 'approvers[0].id: missing required field', '{ name'],
    ['with an empty name', '{ id: 5e1f0c2a-7b3d-4c5e-9f6a-1b2c3d4e5f60, name: "" }', 'approvers[0].name: must be a display name: 1-256 characters without surrounding spaces', 'name: ""'],
    ['with a field of its own', '{ id: 5e1f0c2a-7b3d-4c5e-9f6a-1b2c3d4e5f60, name: Alice, email: alice@contoso.com }', 'approvers[0].email: unknown field (allowed: id, name)', 'email:'],
    ['neither a name nor a mapping', '4711', 'approvers[0]: expected a string or a mapping, got a number (4711); quote it if it is text: "4711"', '4711'],
    ['named by email with sign-in', '{ id: alice@contoso.com, name: Alice Example }', 'approvers[0].id: "alice@contoso.com" can never answer: with airflow.kubernetes.signIn', 'id: alice'],
  ])('an approver %s', (_, approver, problem, marker) => {
    const text = exampleWith(['{ id: 5e1f0c2a-7b3d-4c5e-9f6a-1b2c3d4e5f60, name: Alice Example }', approver]);
    const lines = errorLines(text);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`plan:${positionOf(text, marker, 'approvers:')} databases[1].cutover.approval.${problem}`);
  });

  test('required by the plan for databases that name no approvers, once, naming them', () => {
    const text = exampleWith([
      '  expectedMinutes: 45 ',
      '  approval: { required: true }\n  expectedMinutes: 45 ',
    ]);
    expect(errorLines(text)).toEqual([
      `plan:${positionOf(text, 'approval: { required: true }')} cutover.approval.approvers: missing: approval is required (for database_1, database_3) but no approver is named; list the Airflow users who may approve, e.g. approvers: [alice@contoso.com]`,
    ]);
  });

  test.each([
    ['dataFactory', `airflow:\n  host: dataFactory\n  dataFactory:\n    environmentId: ${ENVIRONMENT_ID}\n    ${SERVICE_PRINCIPAL}\n`, '2.6.3'],
    ['fabric', `airflow:\n  host: fabric\n  fabric:\n    capacityId: ${CAPACITY_ID}\n    ${SERVICE_PRINCIPAL}\n`, '2.10.5'],
  ])('hitl on host %s, whose Airflow cannot ask', (host, airflow, version) => {
    const text = exampleWith(
      [EXAMPLE_AIRFLOW, airflow],
      [DATABASE_2_APPROVAL, `${DATABASE_2_APPROVAL}\n        channel: hitl`],
    );
    expect(errorLines(text)).toEqual([
      `plan:${positionOf(text, 'channel: hitl')} databases[1].cutover.approval.channel: hitl cannot work on host ${host}: its Airflow ${version} cannot ask (human-in-the-loop operators need Airflow 3.1 or later); use channel: airflowVariable (the default there), where the approver records the decision as an Airflow Variable`,
    ]);
  });

  test('an unknown host named like an Object.prototype member is only the host problem (the hitl rule used to throw on it)', () => {
    const text = exampleWith(
      [EXAMPLE_AIRFLOW, 'airflow:\n  host: toString\n'],
      [DATABASE_2_APPROVAL, `${DATABASE_2_APPROVAL}\n        channel: hitl`],
    );
    expect(errorLines(text)).toEqual([
      `plan:${positionOf(text, 'host: toString')} airflow.host: must be one of kubernetes, dataFactory, fabric, external (got "toString")`,
    ]);
  });

  test('which Airflow can ask comes from the versions the hosts run (3.1 or later)', () => {
    expect(AIRFLOW_VERSION_OF_HOST).toEqual({ kubernetes: '3.3.2', dataFactory: '2.6.3', fabric: '2.10.5' });
    expect(['3.1.0', '3.3.2', '4.0', '2.10.5', '3.0.6', '2.6.3'].map((version) => airflowAtLeast(version, 3, 1))).toEqual([
      true, true, true, false, false, false,
    ]);
  });

  test('an unknown channel', () => {
    const text = exampleWith([DATABASE_2_APPROVAL, `${DATABASE_2_APPROVAL}\n        channel: email`]);
    expect(errorLines(text)).toEqual([
      `plan:${positionOf(text, 'channel: email')} databases[1].cutover.approval.channel: must be one of hitl, airflowVariable (got "email")`,
    ]);
  });
});

describe('maxConcurrent', () => {
  test('is refused under a database, saying where it belongs', () => {
    const text = exampleWith([DATABASE_3_WINDOWS, `      maxConcurrent: 1\n${DATABASE_3_WINDOWS}`]);
    expect(errorLines(text)).toEqual([
      `plan:${positionOf(text, 'maxConcurrent: 1')} databases[2].cutover.maxConcurrent: applies to the whole plan only: set cutover.maxConcurrent at the top of the plan`,
    ]);
  });

  test('must be a positive integer', () => {
    const text = exampleWith(['maxConcurrent: 2 ', 'maxConcurrent: 0 ']);
    expect(errorLines(text)).toEqual([
      `plan:${positionOf(text, 'maxConcurrent: 0')} cutover.maxConcurrent: must be an integer from 1 to 1000`,
    ]);
  });
});

test('an expectedMinutes out of range is one problem, not one per window', () => {
  const text = exampleWith(['  expectedMinutes: 45 ', '  expectedMinutes: 5000 ']);
  expect(errorLines(text)).toEqual([`plan:${positionOf(text, 'expectedMinutes: 5000')} cutover.expectedMinutes: must be an integer from 1 to 1440`]);
});
