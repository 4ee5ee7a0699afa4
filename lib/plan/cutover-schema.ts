/**
 * The plan's `cutover` sections: in which maintenance windows, after whose approval and how many at
 * once databases are cut over. The plan-level section gives every database its defaults (and alone
 * holds `maxConcurrent`); a database's own section replaces them field by field: `windows` and
 * `expectedMinutes` as given, `approval` one field at a time. Each database's resolved cutover goes
 * into the rendered plan, where the DAG reads it. Windows are checked with the DAG's rules: local wall
 * times in an IANA zone, resolved as Python's zoneinfo does with fold=0.
 */
import { z } from 'zod';
import { AIRFLOW_VERSION_OF_HOST, airflowAtLeast } from '../private/airflow-versions';
import type { AirflowSettings } from './airflow-schema';
import { formatFieldPath, quote } from './field-path';
import { DEFAULT_TIMEOUT_MINUTES, GUID_PATTERN, integerBetween, matching, TIMEOUT_MINUTES, type Named } from './rules';
import { asArray, asRecord, reportTo, type Loose, type ReportProblem } from './semantic-checks';
import { closestMatch, listBriefly } from './suggest';

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
const WEEKLY_FIELDS = ['days', 'start', 'durationMinutes'] as const;
const DATED_FIELDS = ['from', 'to'] as const;
const APPROVAL_CHANNELS = ['hitl', 'airflowVariable'] as const;
const DEFAULT_EXPECTED_MINUTES = 30;

/**
 * The Airflow of a host that cannot ask a person: human-in-the-loop operators came with Airflow 3.1
 * (airflow.apache.org/docs/apache-airflow/stable/tutorial/hitl.html, "Added in version 3.1").
 * An external Airflow is 3.1 or later, 2.10.5 or 2.6.3: the DAG refuses hitl at import where it cannot ask.
 */
function airflowWithoutHitl(host: unknown): string | undefined {
  // An unknown host (even one named like an Object.prototype member) is the host field's own problem.
  if (typeof host !== 'string' || !Object.hasOwn(AIRFLOW_VERSION_OF_HOST, host)) return undefined;
  const version: string = AIRFLOW_VERSION_OF_HOST[host as keyof typeof AIRFLOW_VERSION_OF_HOST];
  return airflowAtLeast(version, 3, 1) ? undefined : version;
}

const LOCAL_TIME = '(?:[01][0-9]|2[0-3]):[0-5][0-9]';
const LOCAL_DATE_TIME = new RegExp(`^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T${LOCAL_TIME}$`);
const DURATION_MINUTES = integerBetween(1, 10080);
const EXPECTED_MINUTES = integerBetween(1, 1440);
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

const TIME_ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+\/-]{0,63}$/;
// Not `abort`: an aborting issue anywhere would skip every cross-field check of the plan.
const timeZoneName = matching(TIME_ZONE_NAME, 'must be an IANA time zone name such as Europe/Berlin').refine(
  (name) => !TIME_ZONE_NAME.test(name) || timeZoneProblem(name) === undefined,
  { error: (issue) => timeZoneProblem(issue.input as string) },
);

const localDateTime = matching(LOCAL_DATE_TIME, 'must be a local date and time YYYY-MM-DDTHH:MM, such as 2026-12-24T20:00')
  // Date.UTC rolls 2026-02-30 over into March: only a real date comes back unchanged.
  .refine((text) => !LOCAL_DATE_TIME.test(text) || new Date(wallClock(text)).toISOString().startsWith(text), {
    error: 'is not a date of the calendar',
  });

const windowSchema = z
  .strictObject({
    timeZone: timeZoneName.describe(
      'IANA time zone of the local times, such as Europe/Berlin (daylight saving time included).',
    ),
    days: z
      .array(z.enum(WEEKDAYS))
      .min(1, { error: 'needs at least one day' })
      .refine((days) => new Set(days).size === days.length, { error: 'names a day twice' })
      .optional()
      .describe('Weekly window: the days it opens on (Mon Tue Wed Thu Fri Sat Sun), with start and durationMinutes.'),
    start: matching(new RegExp(`^${LOCAL_TIME}$`), 'must be a local time HH:MM (24-hour clock), such as 22:00')
      .optional()
      .describe(
        'Weekly window: the local wall time it opens at, HH:MM. A time skipped by a daylight-saving change opens as late as the skip (02:30 in a 02:00-03:00 gap opens at 03:30); a time that occurs twice opens at its first occurrence.',
      ),
    durationMinutes: DURATION_MINUTES.optional()
      .describe('Weekly window: how long it stays open, in elapsed minutes (1-10080).'),
    from: localDateTime.optional().describe('Date range: the local date and time it opens, YYYY-MM-DDTHH:MM, with to.'),
    to: localDateTime.optional().describe('Date range: the local date and time it closes, after from.'),
  })
  // Exactly one kind, for editors; the checks below say which fields are missing or too many.
  .meta({ oneOf: [{ required: [...WEEKLY_FIELDS] }, { required: [...DATED_FIELDS] }] })
  .describe(
    'A maintenance window: weekly (days, start, durationMinutes) or a date range (from, to), in timeZone.',
  )
  .superRefine((window, context) => checkWindow(window, reportTo(context)), {
    when: (payload) => asRecord(payload.value) !== undefined,
  });

const ONE_LINE = /^[^\s\u0000-\u001f](?:[^\u0000-\u001f]{0,254}[^\s\u0000-\u001f])?$/;
const airflowUserName = matching(ONE_LINE, 'must be an Airflow user name: 1-256 characters without surrounding spaces');

const approverSchema = z.union([
  airflowUserName,
  z
    .strictObject({
      id: airflowUserName.describe(
        'The Airflow user name, matched and assigned as the approver (with airflow.kubernetes.signIn, their Entra object id).',
      ),
      name: matching(ONE_LINE, 'must be a display name: 1-256 characters without surrounding spaces').describe(
        'A name people know them by, such as Alice Example: only shown in the notification, the approval request and the report.',
      ),
    })
    .describe('An approver with a display name.'),
]);

const approvalSchema = z
  .strictObject({
    required: z
      .boolean()
      .optional()
      .describe('Whether a person must approve before the source is frozen for the cutover. Default false.'),
    approvers: z
      .array(approverSchema)
      .optional()
      .describe(
        "Airflow user names who may approve (the HITL respondents; named in the notification), each a name or { id, name } with a display name shown to people. At least one when approval is required. With airflow.kubernetes.signIn (Entra ID), a user's name is their Entra object id (az ad user show --id <sign-in name> --query id -o tsv).",
      ),
    channel: z
      .enum(APPROVAL_CHANNELS)
      .optional()
      .describe(
        "How approval is asked: hitl (Airflow's human-in-the-loop operators, Airflow 3.1 or later) or airflowVariable (the approver sets an Airflow Variable). Default: hitl on host kubernetes, airflowVariable on every other host; dataFactory and fabric refuse hitl.",
      ),
  })
  .describe('Whether, and by whom, each cutover must be approved.');

const cutoverFields = {
  windows: z.array(windowSchema).optional().describe('When the cutover may happen. Default []: at any time.'),
  expectedMinutes: EXPECTED_MINUTES.optional().describe(
    'How long the freeze, final backup and cutover take (1-1440 minutes). Default 30. Every window must be at least this long: a cutover starts only where it fits.',
  ),
  approval: approvalSchema.optional(),
};

export const planCutoverSchema = z
  .strictObject({
    ...cutoverFields,
    maxConcurrent: integerBetween(1, 1000)
      .optional()
      .describe('The most cutovers in progress at once across the plan. Default: no limit.'),
  })
  .describe(
    "When databases are cut over: maintenance windows, approval and the most at once. Every database's defaults; a database's own cutover replaces them field by field.",
  );

export const databaseCutoverSchema = z
  .strictObject({
    ...cutoverFields,
    // Accepted by the shape, refused here, so the message says where it belongs instead of "unknown field".
    maxConcurrent: z
      .unknown()
      .refine(() => false, {
        error: 'applies to the whole plan only: set cutover.maxConcurrent at the top of the plan',
      })
      .optional()
      .describe('Not here: the most cutovers at once is set for the whole plan, as cutover.maxConcurrent.'),
  })
  .describe(
    "This database's cutover: each field given replaces the plan-level one (windows as a whole list, approval field by field).",
  );

type WindowFields = z.output<typeof windowSchema>;

/**
 * A window that opens every week on `days` at the local wall time `start` and stays open
 * `durationMinutes` of elapsed time.
 * @displayType \{ timeZone: string; days: ("Mon" | "Tue" | "Wed" | "Thu" | "Fri" | "Sat" | "Sun")[]; start: string; durationMinutes: number \}
 */
export type WeeklyCutoverWindow = Named<Required<Pick<WindowFields, 'timeZone' | 'days' | 'start' | 'durationMinutes'>>>;
/**
 * A window from one local date and time to another.
 * @displayType \{ timeZone: string; from: string; to: string \}
 */
export type DatedCutoverWindow = Named<Required<Pick<WindowFields, 'timeZone' | 'from' | 'to'>>>;
/** A maintenance window a cutover must fit in. */
export type CutoverWindow = WeeklyCutoverWindow | DatedCutoverWindow;
/**
 * Whether, and by whom, a cutover must be approved, with its channel.
 * @displayType MigrationPlan["databases"][number]["cutover"]["approval"]
 */
export type CutoverApproval = Named<Required<z.output<typeof approvalSchema>>>;
/**
 * A database's cutover with the plan's defaults merged in: its windows (none: any time), how long
 * the cutover takes, and its approval.
 * @displayType MigrationPlan["databases"][number]["cutover"]
 */
export type CutoverSettings = Named<
  Required<Pick<z.output<typeof databaseCutoverSchema>, 'expectedMinutes'>> & {
    windows: CutoverWindow[];
    approval: CutoverApproval;
  }
>;

type PlanCutover = z.output<typeof planCutoverSchema>;
type DatabaseCutover = z.output<typeof databaseCutoverSchema>;

/** The plan level of the rendered plan: only what applies to the plan as a whole. */
export function planLevelCutover({ maxConcurrent }: PlanCutover): { maxConcurrent?: number } {
  return maxConcurrent === undefined ? {} : { maxConcurrent };
}

/** A database's cutover: its own fields, else the plan's, else the defaults. */
export function resolveCutover(
  plan: PlanCutover,
  database: DatabaseCutover | undefined,
  host: AirflowSettings['host'],
): CutoverSettings {
  return {
    windows: (database?.windows ?? plan.windows ?? []) as CutoverWindow[],
    expectedMinutes: database?.expectedMinutes ?? plan.expectedMinutes ?? DEFAULT_EXPECTED_MINUTES,
    approval: {
      required: database?.approval?.required ?? plan.approval?.required ?? false,
      approvers: database?.approval?.approvers ?? plan.approval?.approvers ?? [],
      channel: database?.approval?.channel ?? plan.approval?.channel ?? (host === 'kubernetes' ? 'hitl' : 'airflowVariable'),
    },
  };
}

/** Whether the DAG gates any cutover of the plan (a window, an approval, or a plan-wide limit). */
export function gatesCutovers(plan: {
  readonly cutover: { readonly maxConcurrent?: number };
  readonly databases: readonly { readonly cutover: CutoverSettings }[];
}): boolean {
  return (
    plan.cutover.maxConcurrent !== undefined ||
    plan.databases.some(({ cutover }) => cutover.windows.length > 0 || cutover.approval.required)
  );
}

/**
 * The databases whose cutover windows have all passed at `now`, as the DAG's preflight judges them: each a date
 * range in which a cutover of the database's `expectedMinutes` can no longer start (its `to` minus `expectedMinutes`
 * is before `now`). A weekly window never passes; a database without windows has none to pass.
 */
export function cutoverWindowsInThePast(
  plan: { readonly databases: readonly { readonly name: string; readonly cutover: CutoverSettings }[] },
  now: Date,
): { database: string; windows: DatedCutoverWindow[] }[] {
  const passed = (window: CutoverWindow, expectedMinutes: number): window is DatedCutoverWindow =>
    'to' in window && zonedInstant(window.to, window.timeZone) - expectedMinutes * MINUTE < now.getTime();
  return plan.databases
    .filter(({ cutover }) => cutover.windows.length > 0 && cutover.windows.every((window) => passed(window, cutover.expectedMinutes)))
    .map(({ name, cutover }) => ({ database: name, windows: cutover.windows as DatedCutoverWindow[] }));
}

type Path = readonly (string | number)[];
/** A field in effect for a database, and where it was written. */
type Given = { readonly value: unknown; readonly path: Path };

/**
 * Rules across the cutover sections, on the plan as written: `hitl` where Airflow cannot ask, and,
 * per database with the plan's defaults merged in, windows shorter than the cutover and approval
 * without approvers.
 */
export function checkCutover(value: unknown, report: ReportProblem): void {
  const plan = asRecord(value);
  if (plan === undefined) return;
  const host = asRecord(plan.airflow)?.host ?? 'kubernetes';
  const planSection = asRecord(plan.cutover);
  const databases = asArray(plan.databases).map((item, index) => {
    const database = asRecord(item);
    return { database, name: database?.name, section: asRecord(database?.cutover), at: ['databases', index, 'cutover'] };
  });
  const version = airflowWithoutHitl(host);
  for (const { section, at } of [{ section: planSection, at: ['cutover'] }, ...databases]) {
    if (version !== undefined && asRecord(section?.approval)?.channel === 'hitl') {
      report(
        [...at, 'approval', 'channel'],
        `hitl cannot work on host ${String(host)}: its Airflow ${version} cannot ask (human-in-the-loop operators need Airflow 3.1 or later); use channel: airflowVariable (the default there), where the approver records the decision as an Airflow Variable`,
      );
    }
  }

  const withoutApprovers = new Map<string, { path: Path; names: string[] }>();
  const signIn = host === 'kubernetes' && asRecord(asRecord(asRecord(plan.airflow)?.kubernetes)?.signIn) !== undefined;
  const targetKinds = new Map(asArray(plan.targetServers).map((item) => [asRecord(item)?.name, asRecord(item)?.kind]));
  const levels = (section: Loose | undefined, at: Path) => [{ section, at }, { section: planSection, at: ['cutover'] }];
  for (const { database, name, section, at } of databases) {
    const given = givenIn(levels(section, at));
    const windows = given('windows');
    const expected = given('expectedMinutes');
    const required = given('approval', 'required');
    checkWindowLengths(windows, expected, report);
    // As the DAG's is_gated: a window, an approval, or the plan's maxConcurrent for a database that freezes its source.
    const freezesSource =
      targetKinds.get(asRecord(database?.target)?.server) !== 'SqlDb' || database?.allowSourceWritesDuringCopy !== true;
    const gated =
      (Array.isArray(windows?.value) && windows.value.length > 0) ||
      required?.value === true ||
      (planSection?.maxConcurrent !== undefined && freezesSource);
    if (gated) checkTimeoutFitsCutover(database, at.slice(0, 2), expected, report);

    const approvers = given('approval', 'approvers');
    // As resolveCutover: the database's channel, else the plan's, else hitl on this host.
    // Plan-level approvers several databases inherit are reported once: the report keeps one problem a path and message.
    if (signIn && (given('approval', 'channel')?.value ?? 'hitl') === 'hitl' && approvers !== undefined) {
      checkSignInApprovers(approvers.value, approvers.path, report);
    }
    if (required?.value !== true || (Array.isArray(approvers?.value) && approvers.value.length > 0)) continue;
    if (approvers !== undefined && !Array.isArray(approvers.value)) continue; // the shape's problem
    const path = approvers?.path ?? [...required.path.slice(0, -1), 'approvers'];
    const key = formatFieldPath(path);
    const entry = withoutApprovers.get(key) ?? withoutApprovers.set(key, { path, names: [] }).get(key)!;
    entry.names.push(typeof name === 'string' ? name : formatFieldPath(at.slice(0, 2)));
  }
  for (const { path, names } of withoutApprovers.values()) {
    const whose = path[0] === 'cutover' ? ` (for ${listBriefly(names)})` : '';
    report(
      path,
      `missing: approval is required${whose} but no approver is named; list the Airflow users who may approve, e.g. approvers: [alice@contoso.com]`,
    );
  }
}

/**
 * With Entra ID sign-in, FAB names a user by the ID token's `oid` claim, and Airflow finds a HITL
 * respondent by that name (dags/migration_orchestration_lib/entra_sign_in.py): an approver written
 * otherwise (an email, a UPN) could never answer.
 */
function checkSignInApprovers(approvers: unknown, at: Path, report: ReportProblem): void {
  asArray(approvers).forEach((item, index) => {
    const named = typeof item !== 'string';
    const approver = named ? asRecord(item)?.id : item;
    if (typeof approver !== 'string' || GUID_PATTERN.test(approver)) return;
    report(
      named ? [...at, index, 'id'] : [...at, index],
      `${quote(approver)} can never answer: with airflow.kubernetes.signIn an Airflow user is named by their Entra object id (FAB takes the ID token's oid claim), ` +
        "so an approver is that GUID; find a person's with: az ad user show --id <their sign-in name> --query id -o tsv",
    );
  });
}

/**
 * A database's cutover field from the first level (its own section, then the plan's) that gives it,
 * and where it was written.
 */
function givenIn(levels: readonly { section: Loose | undefined; at: Path }[]) {
  return (...field: string[]): Given | undefined => {
    for (const { section, at } of levels) {
      let value: unknown = section;
      for (const key of field) value = asRecord(value)?.[key];
      if (value !== undefined) return { value, path: [...at, ...field] };
    }
    return undefined;
  };
}

function checkWindowLengths(windows: Given | undefined, expected: Given | undefined, report: ReportProblem): void {
  // (Most databases have none: nothing to measure, and no message to prepare.)
  if (windows === undefined || !Array.isArray(windows.value) || windows.value.length === 0) return;
  // An expectedMinutes out of range is its own problem: no window is measured against it.
  if (expected !== undefined && !EXPECTED_MINUTES.safeParse(expected.value).success) return;
  const minutes = (expected?.value as number | undefined) ?? DEFAULT_EXPECTED_MINUTES;
  const sameLevel = expected !== undefined && formatFieldPath(expected.path.slice(0, -1)) === formatFieldPath(windows.path.slice(0, -1));
  const source =
    expected === undefined ? 'the default' : sameLevel ? 'expectedMinutes' : formatFieldPath(expected.path);
  windows.value.forEach((item, index) => {
    const length = windowMinutes(asRecord(item));
    // A range that does not end after it starts is its own problem.
    if (length === undefined || length <= 0 || length >= minutes) return;
    report(
      [...windows.path, index],
      `is open ${length} minutes, shorter than the cutover's ${minutes} minutes (${source}): the freeze, final backup and cutover must fit in one window; make it longer or expectedMinutes shorter`,
    );
  });
}

/**
 * A gated database's steps after `await_cutover` get `timeoutMinutes` from its end, and the DAG freezes only
 * while that deadline leaves the cutover its `expectedMinutes`: a shorter `timeoutMinutes` never cuts over.
 */
function checkTimeoutFitsCutover(database: Loose | undefined, at: Path, expected: Given | undefined, report: ReportProblem): void {
  const timeout = database?.timeoutMinutes ?? DEFAULT_TIMEOUT_MINUTES; // (the schema's default is in by now)
  const minutes = expected?.value ?? DEFAULT_EXPECTED_MINUTES;
  // Values out of range are their own problems.
  if (!TIMEOUT_MINUTES.safeParse(timeout).success || !EXPECTED_MINUTES.safeParse(minutes).success) return;
  if ((timeout as number) >= (minutes as number)) return;
  report(
    [...at, 'timeoutMinutes'],
    `is ${String(timeout)} minutes, shorter than the cutover's ${String(minutes)} minutes (${expected === undefined ? 'the default' : formatFieldPath(expected.path)}): after await_cutover lets the database go, the freeze, final backup and cutover must end within its timeoutMinutes, so the DAG would never freeze it; make timeoutMinutes longer or expectedMinutes shorter`,
  );
}

/** Exactly one kind of window, each complete; a date range that ends after it starts. */
function checkWindow(window: Loose, report: ReportProblem): void {
  const weekly = WEEKLY_FIELDS.filter((field) => window[field] !== undefined);
  const dated = DATED_FIELDS.filter((field) => window[field] !== undefined);
  if (weekly.length > 0 && dated.length > 0) {
    report(
      [dated[0]],
      `a window is weekly (${WEEKLY_FIELDS.join(', ')}) or a date range (${DATED_FIELDS.join(', ')}), not both: this one has ${[...weekly, ...dated].join(', ')}; write two windows for both`,
    );
    return;
  }
  if (weekly.length === 0 && dated.length === 0) {
    report(
      [],
      `missing: a weekly window needs ${WEEKLY_FIELDS.join(', ')}; a date range needs ${DATED_FIELDS.join(', ')}`,
    );
    return;
  }
  const [kind, fields] = weekly.length > 0 ? ['a weekly window', WEEKLY_FIELDS] : ['a date range', DATED_FIELDS];
  for (const field of fields) {
    if (window[field] === undefined) report([field], `missing: ${kind} needs ${fields.join(', ')}`);
  }
  const length = windowMinutes(window);
  if (length !== undefined && length <= 0 && dated.length === 2) {
    report(
      ['to'],
      `${String(window.to)} is not after from (${String(window.from)}) in ${String(window.timeZone)}: a date range must end after it starts`,
    );
  }
}

/** How long a well-formed window stays open, in elapsed minutes; undefined when its fields are not valid. */
function windowMinutes(window: Loose | undefined): number | undefined {
  if (window === undefined) return undefined;
  const { timeZone, durationMinutes, from, to } = window;
  if (from === undefined && to === undefined) {
    return DURATION_MINUTES.safeParse(durationMinutes).success ? (durationMinutes as number) : undefined;
  }
  if (typeof timeZone !== 'string' || timeZoneProblem(timeZone) !== undefined) return undefined;
  if (typeof from !== 'string' || typeof to !== 'string' || !LOCAL_DATE_TIME.test(from) || !LOCAL_DATE_TIME.test(to)) {
    return undefined;
  }
  return (zonedInstant(to, timeZone) - zonedInstant(from, timeZone)) / MINUTE;
}

const zoneFormats = new Map<string, Intl.DateTimeFormat | undefined>();

/** A formatter of wall-clock fields in `timeZone`, or undefined when Intl does not know the zone. */
function zoneFormat(timeZone: string): Intl.DateTimeFormat | undefined {
  if (!zoneFormats.has(timeZone)) {
    let format: Intl.DateTimeFormat | undefined;
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        ...{ year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' },
      });
    } catch {
      format = undefined;
    }
    zoneFormats.set(timeZone, format);
  }
  return zoneFormats.get(timeZone);
}

/**
 * Why `name` is not a time zone the DAG can use. Intl knows the IANA zones; the DAG's zoneinfo
 * looks names up case-sensitively, so a name Intl knows only in another letter case is refused too.
 */
function timeZoneProblem(name: string): string | undefined {
  const canonical = zoneFormat(name)?.resolvedOptions().timeZone;
  if (canonical !== undefined && (canonical === name || canonical.toLowerCase() !== name.toLowerCase())) return undefined;
  const suggestion = canonical ?? closestMatch(name, Intl.supportedValuesOf('timeZone'));
  const hint = suggestion === undefined ? '' : `; did you mean ${suggestion}?`;
  return `unknown time zone ${quote(name)}: must be an IANA time zone name such as Europe/Berlin${hint}`;
}

/** `YYYY-MM-DDTHH:MM` read as if it were UTC, in milliseconds. */
function wallClock(text: string): number {
  const [year, month, day, hour, minute] = text.split(/[-T:]/).map(Number);
  return Date.UTC(year, month - 1, day, hour, minute);
}

/** Milliseconds `timeZone` is ahead of UTC at `instant`. */
function offsetAt(format: Intl.DateTimeFormat, instant: number): number {
  const field = Object.fromEntries(format.formatToParts(instant).map(({ type, value }) => [type, Number(value)]));
  const wall = Date.UTC(field.year, field.month - 1, field.day, field.hour, field.minute, field.second);
  return wall - Math.floor(instant / 1000) * 1000;
}

/**
 * The instant of a local wall time, as Python's zoneinfo resolves it with fold=0: the offset in
 * force before a nearby transition wins, so a time that occurs twice is its first occurrence and a
 * time skipped by spring-forward lands as late after the gap as it was into it.
 */
export function zonedInstant(localDateTime: string, timeZone: string): number {
  const format = zoneFormat(timeZone);
  if (format === undefined) throw new Error(`unknown time zone ${quote(timeZone)}`);
  const wall = wallClock(localDateTime);
  const before = offsetAt(format, wall - DAY);
  const after = offsetAt(format, wall + DAY);
  const valid = (offset: number) => offsetAt(format, wall - offset) === offset;
  return valid(before) || !valid(after) ? wall - before : wall - after;
}
