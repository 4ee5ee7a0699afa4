/**
 * The cutover sections: defaults, how a database's fields replace the plan's, the approval channel
 * each host gets, and the resolved cutover every database carries in the rendered plan (valid under
 * the JSON Schema the DAG checks it with).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMigrationPlan, parseMigrationPlan, renderMigrationPlan } from '../../lib/plan';
import { cutoverWindowsInThePast } from '../../lib/plan/cutover-schema';
import { validate, validateAsDraft07, type JsonSchema } from '../docs/json-schema-checks';
import { CAPACITY_ID, ENVIRONMENT_ID, SERVICE_PRINCIPAL } from '../helpers/host-fixtures';
import { minimalPlan, planWithDatabases } from './plan-fixtures';

const REPO = join(__dirname, '..', '..');
const EXAMPLE = join(REPO, 'examples', 'cutover-windows.yaml');
const SCHEMA = JSON.parse(readFileSync(join(REPO, 'schema', 'migration-plan.schema.json'), 'utf8')) as JsonSchema;

const BERLIN_SATURDAY = { timeZone: 'Europe/Berlin', days: ['Sat'], start: '22:00', durationMinutes: 360 };
const NEW_YORK_CHRISTMAS = { timeZone: 'America/New_York', from: '2026-12-24T20:00', to: '2026-12-25T02:00' };
const NO_CUTOVER_RULES = { windows: [], expectedMinutes: 30, approval: { required: false, approvers: [], channel: 'hitl' } };

const rendered = (plan: unknown) => JSON.parse(renderMigrationPlan(parseMigrationPlan(plan)));

describe('defaults', () => {
  test('a plan without cutover sections: any time, 30 minutes, no approval, no limit', () => {
    const plan = rendered(minimalPlan());
    expect(plan.cutover).toEqual({});
    expect(plan.databases[0].cutover).toEqual(NO_CUTOVER_RULES);
  });

  test.each([
    ['kubernetes', { host: 'kubernetes' }, 'hitl'],
    ['external', { host: 'external' }, 'airflowVariable'],
    ['dataFactory', { host: 'dataFactory', dataFactory: { environmentId: ENVIRONMENT_ID, servicePrincipal: SERVICE_PRINCIPAL } }, 'airflowVariable'],
    ['fabric', { host: 'fabric', fabric: { capacityId: CAPACITY_ID, servicePrincipal: SERVICE_PRINCIPAL } }, 'airflowVariable'],
  ])('the approval channel on host %s is %s', (_, airflow, channel) => {
    const plan = minimalPlan();
    plan.airflow = airflow;
    expect(parseMigrationPlan(plan).databases[0].cutover.approval.channel).toBe(channel);
  });

  test('a host that can ask may still use the Airflow Variable', () => {
    const plan = minimalPlan();
    plan.cutover = { approval: { channel: 'airflowVariable' } };
    expect(parseMigrationPlan(plan).databases[0].cutover.approval.channel).toBe('airflowVariable');
  });

  test('hitl on the external host is the team\'s choice (its Airflow must be 3.1 or later)', () => {
    const plan = minimalPlan();
    plan.airflow = { host: 'external' };
    plan.cutover = { approval: { channel: 'hitl' } };
    expect(parseMigrationPlan(plan).databases[0].cutover.approval.channel).toBe('hitl');
  });
});

describe("a database's cutover replaces the plan's field by field", () => {
  const plan = planWithDatabases(3);
  plan.cutover = {
    windows: [BERLIN_SATURDAY, NEW_YORK_CHRISTMAS],
    expectedMinutes: 60,
    approval: { approvers: ['alice@contoso.com'], channel: 'airflowVariable' },
    maxConcurrent: 2,
  };
  plan.databases[1].cutover = { windows: [NEW_YORK_CHRISTMAS], approval: { required: true } };
  // An approver is a user name, or { id, name } with a display name shown to people: both in one list.
  const approvers = [{ id: 'bob@contoso.com', name: 'Bob Example' }, 'carol@contoso.com'];
  plan.databases[2].cutover = { windows: [], expectedMinutes: 45, approval: { required: true, approvers } };
  const [inherits, ownWindows, anyTime] = rendered(plan).databases.map((database: any) => database.cutover);

  test('a database without its own section takes the plan level', () => {
    expect(inherits).toEqual({
      windows: [BERLIN_SATURDAY, NEW_YORK_CHRISTMAS],
      expectedMinutes: 60,
      approval: { required: false, approvers: ['alice@contoso.com'], channel: 'airflowVariable' },
    });
  });

  test('windows are replaced as a whole list; approval one field at a time', () => {
    expect(ownWindows).toEqual({
      windows: [NEW_YORK_CHRISTMAS],
      expectedMinutes: 60,
      approval: { required: true, approvers: ['alice@contoso.com'], channel: 'airflowVariable' },
    });
  });

  test('an empty list means any time, and approvers given replace the plan\'s, with or without a display name', () => {
    expect(anyTime).toEqual({
      windows: [],
      expectedMinutes: 45,
      approval: { required: true, approvers, channel: 'airflowVariable' },
    });
  });

  test('the plan level keeps only maxConcurrent', () => {
    expect(rendered(plan).cutover).toEqual({ maxConcurrent: 2 });
  });

  test('rendering is a fixed point: the rendered plan renders to itself', () => {
    const once = renderMigrationPlan(parseMigrationPlan(plan));
    expect(renderMigrationPlan(parseMigrationPlan(JSON.parse(once)))).toBe(once);
  });
});

describe('the example (examples/cutover-windows.yaml)', () => {
  const plan = JSON.parse(renderMigrationPlan(loadMigrationPlan(EXAMPLE)));

  test('two weekly windows in two zones, approval on database_2, at most two cutovers at once', () => {
    expect(plan.cutover).toEqual({ maxConcurrent: 2 });
    expect(Object.fromEntries(plan.databases.map((database: any) => [database.name, database.cutover]))).toEqual({
      database_1: { windows: [BERLIN_SATURDAY], expectedMinutes: 45, approval: { required: false, approvers: [], channel: 'hitl' } },
      database_2: {
        windows: [BERLIN_SATURDAY],
        expectedMinutes: 45,
        approval: { required: true, approvers: [{ id: '5e1f0c2a-7b3d-4c5e-9f6a-1b2c3d4e5f60', name: 'Alice Example' }], channel: 'hitl' },
      },
      database_3: {
        windows: [{ timeZone: 'America/New_York', days: ['Sun'], start: '01:00', durationMinutes: 240 }],
        expectedMinutes: 45,
        approval: { required: false, approvers: [], channel: 'hitl' },
      },
    });
  });
});

describe('the rendered cutover is valid under the JSON Schema the DAG validates with', () => {
  const plans = {
    example: JSON.parse(renderMigrationPlan(loadMigrationPlan(EXAMPLE))),
    'date ranges and weekly windows': rendered({ ...minimalPlan(), cutover: { windows: [BERLIN_SATURDAY, NEW_YORK_CHRISTMAS] } }),
    defaults: rendered(minimalPlan()),
  };

  test.each(Object.entries(plans))('%s', (_, plan) => {
    expect(validate(SCHEMA, plan)).toEqual([]);
    expect(validateAsDraft07(SCHEMA, plan)).toEqual([]);
  });

  test.each([
    ['a window of both kinds', (cutover: any) => Object.assign(cutover.windows[0], { from: '2026-12-24T20:00', to: '2026-12-25T02:00' }), '/windows/0', 'oneOf'],
    ['a window of neither kind', (cutover: any) => (cutover.windows[0] = { timeZone: 'Europe/Berlin' }), '/windows/0', 'oneOf'],
    ['an unknown channel', (cutover: any) => (cutover.approval.channel = 'email'), '/approval/channel', 'enum'],
    ['a day the DAG does not know', (cutover: any) => (cutover.windows[0].days = ['Saturday']), '/windows/0/days/0', 'enum'],
    ['a start without minutes', (cutover: any) => (cutover.windows[0].start = '22'), '/windows/0/start', 'pattern'],
    ['an approver without an id', (cutover: any) => (cutover.approval.approvers = [{ name: 'Alice Example' }]), '/approval/approvers/0', 'anyOf'],
    ['an approver with an empty name', (cutover: any) => (cutover.approval.approvers = [{ id: 'alice', name: '' }]), '/approval/approvers/0', 'anyOf'],
  ])('a planted bad cutover fails: %s', (_, plant, path, keyword) => {
    const plan = JSON.parse(JSON.stringify(plans.example));
    plant(plan.databases[0].cutover);
    for (const errors of [validate(SCHEMA, plan), validateAsDraft07(SCHEMA, plan)]) {
      expect(errors).toContainEqual(expect.objectContaining({ path: `/databases/0/cutover${path}`, keyword }));
    }
  });
});

describe('cutoverWindowsInThePast', () => {
  // NEW_YORK_CHRISTMAS closes 2026-12-25T07:00Z; with a 60-minute cutover the last start is 06:00Z.
  const plan = planWithDatabases(4);
  plan.cutover = { expectedMinutes: 60 };
  plan.databases[0].cutover = { windows: [NEW_YORK_CHRISTMAS] };
  plan.databases[1].cutover = { windows: [NEW_YORK_CHRISTMAS, BERLIN_SATURDAY] };
  plan.databases[2].cutover = { windows: [NEW_YORK_CHRISTMAS, { ...NEW_YORK_CHRISTMAS, from: '2026-12-31T20:00', to: '2027-01-01T02:00' }] };
  const parsed = parseMigrationPlan(plan);
  const passed = (now: string) => cutoverWindowsInThePast(parsed, new Date(now)).map(({ database }) => database);

  test('a database whose date windows can no longer start a cutover of its expectedMinutes', () => {
    expect(cutoverWindowsInThePast(parsed, new Date('2026-12-25T06:00:01Z'))).toEqual([
      { database: 'db_0', windows: [NEW_YORK_CHRISTMAS] },
    ]);
  });

  test('a window whose last start is now still holds the cutover (as the DAG judges it)', () => {
    expect(passed('2026-12-25T06:00:00Z')).toEqual([]);
  });

  test('a weekly window never passes, a later date window holds it, no windows is any time', () => {
    expect(passed('2027-06-01T00:00:00Z')).toEqual(['db_0', 'db_2']);
    expect(passed('2026-12-31T12:00:00Z')).toEqual(['db_0']);
  });
});
