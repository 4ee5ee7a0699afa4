/**
 * Cutover windows across time zones and daylight-saving changes: which zone names a plan may use,
 * and how a local wall time becomes an instant (as the DAG's zoneinfo does with fold=0). The
 * expected instants are what Python's zoneinfo gives for the same wall times.
 */
import { parseMigrationPlan } from '../../lib/plan';
import { zonedInstant } from '../../lib/plan/cutover-schema';
import { minimalPlan, problemsOf } from './plan-fixtures';

function planWithWindows(windows: unknown[], expectedMinutes?: number): any {
  const plan = minimalPlan();
  plan.cutover = { windows, ...(expectedMinutes === undefined ? {} : { expectedMinutes }) };
  return plan;
}

const weekly = (timeZone: string) => ({ timeZone, days: ['Sat'], start: '02:30', durationMinutes: 120 });

function problemLines(plan: unknown): string[] {
  return problemsOf(() => parseMigrationPlan(plan)).map((p) => `${p.path}: ${p.message}`);
}

describe('time zone names', () => {
  test.each([
    'Europe/Berlin',
    'America/New_York',
    'America/Sao_Paulo', // daylight saving time abolished in 2019
    'Asia/Kolkata', // +05:30, an alias Intl knows as Asia/Calcutta
    'Australia/Lord_Howe', // a 30-minute daylight-saving shift
    'Asia/Kathmandu',
    'UTC',
  ])('accepts %s', (timeZone) => {
    const plan = parseMigrationPlan(planWithWindows([weekly(timeZone)]));
    expect(plan.databases[0].cutover.windows).toEqual([weekly(timeZone)]);
  });

  test.each([
    ['Europe/Berln', 'unknown time zone "Europe/Berln": must be an IANA time zone name such as Europe/Berlin; did you mean Europe/Berlin?'],
    // Intl would take it, but the DAG's zoneinfo looks names up case-sensitively.
    ['europe/berlin', 'unknown time zone "europe/berlin": must be an IANA time zone name such as Europe/Berlin; did you mean Europe/Berlin?'],
    ['Mars/Olympus_Mons', 'unknown time zone "Mars/Olympus_Mons": must be an IANA time zone name such as Europe/Berlin'],
    ['+01:00', 'must be an IANA time zone name such as Europe/Berlin'],
    ['CET ', 'must be an IANA time zone name such as Europe/Berlin'],
  ])('refuses %j', (timeZone, message) => {
    expect(problemLines(planWithWindows([weekly(timeZone)]))).toEqual([`cutover.windows[0].timeZone: ${message}`]);
  });

  test('a name of the wrong form does not hide the problems of other fields', () => {
    const plan = planWithWindows([{ ...weekly('Europe Berlin'), durationMinutes: undefined }]);
    plan.databases[0].dependsOn = ['nowhere'];
    expect(problemLines(plan)).toEqual([
      'databases[0].dependsOn[0]: unknown database "nowhere" (known: database_1)',
      'cutover.windows[0].timeZone: must be an IANA time zone name such as Europe/Berlin',
      'cutover.windows[0].durationMinutes: missing: a weekly window needs days, start, durationMinutes',
    ]);
  });
});

describe('local wall times to instants (zoneinfo, fold=0)', () => {
  test.each([
    ['Europe/Berlin', '2026-07-04T22:00', '2026-07-04T20:00:00.000Z', 'summer time (+02:00)'],
    ['Europe/Berlin', '2026-03-29T02:30', '2026-03-29T01:30:00.000Z', 'spring-forward gap: opens at 03:30 CEST'],
    ['Europe/Berlin', '2026-10-25T02:30', '2026-10-25T00:30:00.000Z', 'fall-back: the first 02:30 (CEST)'],
    ['America/New_York', '2026-03-08T02:30', '2026-03-08T07:30:00.000Z', 'spring-forward gap: opens at 03:30 EDT'],
    ['America/New_York', '2026-11-01T01:30', '2026-11-01T05:30:00.000Z', 'fall-back: the first 01:30 (EDT)'],
    ['Australia/Lord_Howe', '2026-10-04T02:15', '2026-10-03T15:45:00.000Z', 'a 30-minute gap: opens at 02:45'],
    ['Australia/Lord_Howe', '2026-04-05T01:45', '2026-04-04T14:45:00.000Z', 'a 30-minute fall-back: the first 01:45'],
    ['America/Sao_Paulo', '2018-11-04T00:30', '2018-11-04T03:30:00.000Z', 'the midnight gap of its last daylight saving time'],
    ['America/Sao_Paulo', '2026-11-01T00:30', '2026-11-01T03:30:00.000Z', 'no daylight saving time since 2019'],
    ['Asia/Kolkata', '2026-03-29T02:30', '2026-03-28T21:00:00.000Z', '+05:30 all year'],
  ])('%s %s is %s (%s)', (timeZone, local, utc) => {
    expect(new Date(zonedInstant(local, timeZone)).toISOString()).toBe(utc);
  });
});

describe('date ranges count elapsed minutes across daylight-saving changes', () => {
  test('a night that loses an hour is shorter than its wall times say', () => {
    const window = { timeZone: 'America/New_York', from: '2026-03-08T00:00', to: '2026-03-08T04:00' };
    expect(problemLines(planWithWindows([window], 200))).toEqual([
      "cutover.windows[0]: is open 180 minutes, shorter than the cutover's 200 minutes (expectedMinutes): the freeze, final backup and cutover must fit in one window; make it longer or expectedMinutes shorter",
    ]);
    expect(() => parseMigrationPlan(planWithWindows([window], 180))).not.toThrow();
  });

  test('a night that gains an hour is longer than its wall times say', () => {
    const window = { timeZone: 'Europe/Berlin', from: '2026-10-25T00:00', to: '2026-10-25T04:00' };
    expect(() => parseMigrationPlan(planWithWindows([window], 300))).not.toThrow();
    expect(problemLines(planWithWindows([window], 301))[0]).toMatch(/^cutover\.windows\[0\]: is open 300 minutes, shorter than the cutover's 301 minutes/);
  });

  test('Lord Howe: half an hour less on the night its clocks go forward', () => {
    const window = { timeZone: 'Australia/Lord_Howe', from: '2026-10-04T01:00', to: '2026-10-04T04:00' };
    expect(problemLines(planWithWindows([window], 151))[0]).toMatch(/is open 150 minutes, shorter than the cutover's 151 minutes/);
  });

  test('an end inside the spring-forward gap can fall before a start that is later on the wall clock', () => {
    // 02:30 opens at 03:30 CEST (01:30 UTC); 03:15 CEST is 01:15 UTC.
    const window = { timeZone: 'Europe/Berlin', from: '2026-03-29T02:30', to: '2026-03-29T03:15' };
    expect(problemLines(planWithWindows([window]))).toEqual([
      'cutover.windows[0].to: 2026-03-29T03:15 is not after from (2026-03-29T02:30) in Europe/Berlin: a date range must end after it starts',
    ]);
  });
});
