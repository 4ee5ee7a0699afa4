/**
 * Every role action the stacks grant is one `docs/permissions.md` names with what needs it, every
 * action named there is granted, and every DAG call named there is still in the DAG (and every
 * Azure call of the DAG is named there). The expected values come from that file and the DAG's
 * source only: the constructs are synthesized, never read for their action lists.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMigrationPlan } from '../../lib/plan';
import { tableRows } from '../docs/readme-table';
import { synthMigrationStack } from '../helpers/migration-stack';
import { SynthesizedStack } from '../helpers/test-stack';

const ROOT = join(__dirname, '..', '..');
const DAG_LIB = join(ROOT, 'dags', 'migration_orchestration_lib');
const PERMISSIONS = readFileSync(join(ROOT, 'docs', 'permissions.md'), 'utf8');

/** The DAG modules that hold an Azure client; any other module importing one is a call the table does not know. */
const AZURE_CLIENT_MODULES = ['dms_transport_rest.py', 'dms_transport_sdk.py', 'entra_sign_in.py', 'events.py', 'sql_access_data_factory.py'];

interface DagCall {
  readonly file: string;
  readonly qualname: string;
  readonly text: string;
}

interface Need {
  readonly role: string;
  /** Keys of the sources the row cites (`[dms-mi]`); none for a built-in role. */
  readonly sources: readonly string[];
  /** A custom role's action, or the built-in role's name. */
  readonly action: string;
  readonly neededBy: string;
  readonly calls: readonly DagCall[];
  readonly row: string;
}

function cells(row: string): string[] {
  return row.slice(1, -1).split('|').map((cell) => cell.trim());
}

function backticked(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]);
}

function dagCalls(cell: string, row: string): DagCall[] {
  if (cell === '—') return [];
  return backticked(cell).map((item) => {
    const match = /^([\w/]+\.py)#([\w.]+): (.+)$/.exec(item);
    if (!match) throw new Error(`docs/permissions.md: "${item}" is not <file>#<function>: <call> (row ${row})`);
    return { file: match[1], qualname: match[2], text: match[3] };
  });
}

const CUSTOM: Need[] = tableRows(PERMISSIONS, '| role | action | granted | needed by | DAG calls | source |', 'custom role table').map((row) => {
  const [role, action, , neededBy, calls, sources] = cells(row);
  return { role, action: backticked(action)[0], neededBy, calls: dagCalls(calls, row), sources: [...sources.matchAll(/\[([\w-]+)\]/g)].map((m) => m[1]), row };
});

const BUILT_IN: Need[] = tableRows(PERMISSIONS, '| role | principal | scope | needed by | DAG calls |', 'built-in role table').map((row) => {
  const [role, , , neededBy, calls] = cells(row);
  return { role: backticked(role)[0], action: backticked(role)[0], neededBy, calls: dagCalls(calls, row), sources: [], row };
});

/** Plans that together hold every kind of target, every host and both SQL accesses. */
const PLANS = ['three-databases.yaml', 'sql-database.json', 'external-host.yaml', 'data-factory-host.yaml', 'fabric-host.yaml'];

const STACKS: ReadonlyArray<{ plan: string; synth: SynthesizedStack }> = PLANS.map((plan) => ({
  plan,
  synth: synthMigrationStack({ plan: loadMigrationPlan(join(ROOT, 'examples', plan)) }).synth,
}));

/** `<role name without the plan name> <action>` of every custom role of every stack. */
function grantedActions(): Map<string, string[]> {
  const granted = new Map<string, string[]>();
  for (const { plan, synth } of STACKS) {
    for (const definition of Object.values(synth.resource.azurerm_role_definition ?? {})) {
      const role = String(definition.name).replace(/ \([^)]*\)$/, '');
      for (const permission of definition.permissions as Array<Record<string, string[] | undefined>>) {
        for (const action of [...(permission.actions ?? []), ...(permission.data_actions ?? [])]) {
          const key = `${role} ${action}`;
          granted.set(key, [...(granted.get(key) ?? []), plan]);
        }
      }
    }
  }
  return granted;
}

/** The body of `qualname` (`Class.method` or `function`) in a DAG module: its lines up to the next at its indentation or less. */
function functionBody(file: string, qualname: string): string | undefined {
  const lines = readFileSync(join(DAG_LIB, file), 'utf8').split('\n');
  let from = 0;
  let indent = '';
  const names = qualname.split('.');
  for (const [index, name] of names.entries()) {
    const last = index === names.length - 1;
    const header = new RegExp(`^${indent}${last ? 'def' : 'class'} ${name}\\b`);
    const at = lines.findIndex((line, n) => n >= from && header.test(line));
    if (at < 0) return undefined;
    from = at;
    indent = `${indent}    `;
  }
  const depth = indent.length - 4;
  const end = lines.findIndex((line, n) => n > from && line.trim() !== '' && line.search(/\S/) <= depth && !/^\s*\)/.test(line));
  return lines.slice(from, end < 0 ? undefined : end).join('\n');
}

/** The DMS transports: the DAG reaches them only through the gateway (`dms_gateway.py`, class `DmsGateway`). */
const GATEWAY_FILE = 'dms_gateway.py';
const TRANSPORT_FILES = ['dms_transport_rest.py', 'dms_transport_sdk.py'];

/** `def <name>` at the first level of `className` in `source`, with each one's body. */
function methodBodies(source: string, className: string): Map<string, string> {
  const lines = source.split('\n');
  const start = lines.findIndex((line) => new RegExp(`^class ${className}\\b`).test(line));
  const bodies = new Map<string, string>();
  if (start < 0) return bodies;
  let current: string | undefined;
  for (const line of lines.slice(start + 1)) {
    if (/^\S/.test(line)) break;
    const def = /^ {4}def (\w+)/.exec(line);
    if (def) current = def[1];
    if (current) bodies.set(current, `${bodies.get(current) ?? ''}${line}\n`);
  }
  return bodies;
}

/** `names` and every method of `bodies` they call through `self.` (directly or via a helper returning another transport, `self._require_rest().`), transitively. */
function closure(names: Iterable<string>, bodies: Map<string, string>, called: (body: string) => string[]): Set<string> {
  const reached = new Set<string>();
  const pending = [...names];
  while (pending.length > 0) {
    const name = pending.pop() as string;
    if (reached.has(name) || !bodies.has(name)) continue;
    reached.add(name);
    pending.push(...called(bodies.get(name) as string));
  }
  return reached;
}

function selfCalls(body: string): string[] {
  return [...body.matchAll(/\bself\.(\w+)\(/g)].map((m) => m[1]);
}

/**
 * Methods of a transport class that a DAG step reaches: the DAG holds its gateway as `dms` (`Services.dms`,
 * `dms_for`), so the gateway methods reached are those the DAG's modules call as `dms.<method>(` (and what those
 * call on `self`); the transport methods reached are those these call on their transport (`lambda t: t.<method>(`),
 * and what those call on `self`. A gateway method only tests call reaches nothing.
 */
function reachedTransportMethods(gatewaySource: string, dagModules: readonly string[], transportSource: string, transportClass: string): Set<string> {
  const gateway = methodBodies(gatewaySource, 'DmsGateway');
  const roots = dagModules.flatMap((source) => [...source.matchAll(/\bdms\.(\w+)\(/g)].map((m) => m[1]));
  const gatewayReached = closure(roots, gateway, selfCalls);
  const transportRoots = [...gatewayReached].flatMap((name) => [...(gateway.get(name) as string).matchAll(/\bt\.(\w+)\(/g)].map((m) => m[1]));
  const transport = methodBodies(transportSource, transportClass);
  return closure(transportRoots, transport, (body) => [...selfCalls(body), ...[...body.matchAll(/\bself\.\w+\(\)\.(\w+)\(/g)].map((m) => m[1])]);
}

/** The DAG's own modules (not the gateway, which is reached through them, and not the tests). */
function dagSources(): string[] {
  const modules = readdirSync(DAG_LIB).filter((file) => file.endsWith('.py') && file !== GATEWAY_FILE).map((file) => join(DAG_LIB, file));
  return [...modules, join(ROOT, 'dags', 'migration_orchestration.py')].map((path) => readFileSync(path, 'utf8'));
}

/** Functions of a module that call its Azure client (`self._client.`), or a transport's public methods. */
function azureCallers(file: string): string[] {
  const source = readFileSync(join(DAG_LIB, file), 'utf8');
  const transport = /^class (\w+Transport):/m.exec(source)?.[1];
  if (transport) {
    return [...source.matchAll(/^ {4}def ([a-z]\w*)\(/gm)].map((m) => m[1]).filter((name) => name !== 'connect').map((name) => `${transport}.${name}`);
  }
  const callers: string[] = [];
  let current: string | undefined;
  let owner: string | undefined;
  for (const line of source.split('\n')) {
    owner = /^class (\w+)/.exec(line)?.[1] ?? (/^\S/.test(line) ? undefined : owner);
    const def = /^( {4})?def (\w+)/.exec(line);
    if (def) current = def[1] && owner ? `${owner}.${def[2]}` : def[2];
    if (current && /self\._client\.\w/.test(line) && !callers.includes(current)) callers.push(current);
  }
  return callers;
}

describe('docs/permissions.md', () => {
  it('names every action of every custom role the stacks create, and only those', () => {
    const granted = grantedActions();
    const named = new Set(CUSTOM.map((need) => `${need.role} ${need.action}`));
    expect([...granted.keys()].filter((key) => !named.has(key))).toEqual([]);
    expect([...named].filter((key) => !granted.has(key))).toEqual([]);
    expect(CUSTOM).toHaveLength(named.size);
  });

  it('names every built-in role the stacks assign, and only those', () => {
    const assigned = new Set(
      STACKS.flatMap(({ synth }) => Object.values(synth.resource.azurerm_role_assignment ?? {}).map((a) => a.role_definition_name)).filter(
        (name): name is string => typeof name === 'string',
      ),
    );
    expect(new Set(BUILT_IN.map((need) => need.role))).toEqual(assigned);
  });

  it.each([...CUSTOM, ...BUILT_IN].map((need) => [`${need.role}: ${need.action}`, need] as const))('says what needs %s', (_, need) => {
    const kind = /^(DAG|polling|DMS|deployment):/.exec(need.neededBy)?.[1];
    expect([need.row, kind]).toEqual([need.row, expect.any(String)]);
    if (kind === 'DAG' || kind === 'polling') {
      expect([need.row, need.calls.length > 0]).toEqual([need.row, true]);
    } else {
      expect([need.row, need.calls]).toEqual([need.row, []]);
    }
  });

  it('cites for each custom action a listed source, for what DMS needs one of Microsoft\'s custom roles for DMS', () => {
    const listed = new Set([...PERMISSIONS.matchAll(/^- \[([\w-]+)\]: /gm)].map((m) => m[1]));
    const uncited = CUSTOM.filter(
      (need) => need.sources.length === 0 || need.sources.some((key) => !listed.has(key)) || (need.neededBy.startsWith('DMS:') && !need.sources.some((key) => key.startsWith('dms-'))),
    );
    expect(uncited.map((need) => need.row)).toEqual([]);
  });

  it.each(
    [...CUSTOM, ...BUILT_IN].flatMap((need) => need.calls.map((call) => [`${call.file}#${call.qualname}: ${call.text}`, call] as const)),
  )('names a DAG call that is still there: %s', (_, call) => {
    const body = functionBody(call.file, call.qualname);
    expect(body === undefined ? `no ${call.qualname} in ${call.file}` : body.includes(call.text) ? 'found' : `${call.qualname} no longer has ${call.text}`).toBe('found');
  });

  it('names as evidence only transport calls a DAG step reaches through the gateway, not ones only tests call', () => {
    const gateway = readFileSync(join(DAG_LIB, GATEWAY_FILE), 'utf8');
    const sources = dagSources();
    const unreached = [...CUSTOM, ...BUILT_IN]
      .flatMap((need) => need.calls)
      .filter((call) => TRANSPORT_FILES.includes(call.file))
      .filter((call) => {
        const [transportClass, method] = call.qualname.split('.');
        return !reachedTransportMethods(gateway, sources, readFileSync(join(DAG_LIB, call.file), 'utf8'), transportClass).has(method);
      });
    expect(unreached.map((call) => `${call.file}#${call.qualname}`)).toEqual([]);
  });

  it('names every function of the DAG that calls Azure', () => {
    const named = new Set([...CUSTOM, ...BUILT_IN].flatMap((need) => need.calls.map((call) => `${call.file}#${call.qualname}`)));
    const callers = AZURE_CLIENT_MODULES.flatMap((file) => azureCallers(file).map((qualname) => `${file}#${qualname}`));
    expect(callers.length).toBeGreaterThan(AZURE_CLIENT_MODULES.length);
    expect(callers.filter((caller) => !named.has(caller))).toEqual([]);
  });

  it('knows every DAG module that holds an Azure client', () => {
    const holders = readdirSync(DAG_LIB)
      .filter((file) => file.endsWith('.py'))
      .filter((file) => /^\s*from azure\.[\w.]+ import [^\n]*\b\w+Client\b/m.test(readFileSync(join(DAG_LIB, file), 'utf8')));
    expect(holders.sort()).toEqual(AZURE_CLIENT_MODULES);
  });
});

describe('reachedTransportMethods', () => {
  const gateway = [
    'class DmsGateway:',
    '    def cancel(self, target, operation_id):',
    '        self._await(target, lambda t: t.begin_cancel(target, operation_id))',
    '    def delete(self, target, force=False):',
    '        self._await(target, lambda t: t.begin_delete(target, force))',
    '    def _await(self, target, begin):',
    '        return begin(self._transport(target))',
    '',
  ].join('\n');
  const transport = [
    'class RestTransport:',
    '    def begin_cancel(self, target, operation_id):',
    '        return self._begin("POST", target)',
    '    def begin_delete(self, target, force=False):',
    '        return self._begin("DELETE", target)',
    '    def _begin(self, method, target):',
    '        return stoppable_polling(1)',
    '',
  ].join('\n');

  it("does not take a gateway method only tests call as a step's: the operator role's old `databaseMigrations/delete` evidence", () => {
    // Only tests called `dms.delete(` (dags/tests, which `dagSources` leaves out); a `delete` of something else is no gateway call.
    const dag = ['def rollback(ctx):', '    ctx.services.dms.cancel(target, operation_id)', '    records.delete(key)', ''].join('\n');
    expect([...reachedTransportMethods(gateway, [dag], transport, 'RestTransport')].sort()).toEqual(['_begin', 'begin_cancel']);
  });

  it('reaches through the gateway once a step calls it as `dms.<method>(`', () => {
    const dag = 'dms = ctx.services.dms\nif dms.delete(target):\n    pass\n';
    expect([...reachedTransportMethods(gateway, [dag], transport, 'RestTransport')].sort()).toEqual(['_begin', 'begin_delete']);
  });
});

/**
 * docs/security.md sums up the operator role's rights on DMS migrations in words ("start, read and cancel
 * migrations, and cut them over ..."): each verb there stands for one `databaseMigrations` action, which
 * docs/permissions.md (held to the role above) must grant.
 */
const MIGRATION_VERB_ACTIONS: Readonly<Record<string, string>> = {
  start: 'Microsoft.DataMigration/databaseMigrations/write',
  read: 'Microsoft.DataMigration/databaseMigrations/read',
  cancel: 'Microsoft.DataMigration/databaseMigrations/cancel/action',
  delete: 'Microsoft.DataMigration/databaseMigrations/delete',
  'cut them over': 'Microsoft.DataMigration/databaseMigrations/cutover/action',
};

/** The actions the summary's verbs stand for that the operator role is not granted. */
function summarizedButNotGranted(securityPage: string, granted: ReadonlySet<string>): string[] {
  const summary = /minimal DMS actions \(([^;]*?)migrations, and (cut them over)/.exec(securityPage.replace(/\s+/g, ' '));
  if (!summary) throw new Error('docs/security.md: no summary "minimal DMS actions (... migrations, and cut them over"');
  const verbs = [...summary[1].split(/,|\band\b/).map((verb) => verb.trim()).filter(Boolean), summary[2]];
  return verbs.filter((verb) => !granted.has(MIGRATION_VERB_ACTIONS[verb] ?? `an unknown verb "${verb}"`));
}

describe("docs/security.md's summary of the operator role", () => {
  const operatorActions = new Set(CUSTOM.filter((need) => need.role === 'Database Migration Operator').map((need) => need.action));

  it('names only migration rights docs/permissions.md grants', () => {
    expect(summarizedButNotGranted(readFileSync(join(ROOT, 'docs', 'security.md'), 'utf8'), operatorActions)).toEqual([]);
  });

  it('a right the role no longer holds is seen (databaseMigrations/delete, removed from the role)', () => {
    const page = 'The operator role holds Microsoft\'s documented minimal DMS actions (start, read, cancel and delete\nmigrations, and cut them over when ...)';
    expect(summarizedButNotGranted(page, operatorActions)).toEqual(['delete']);
  });
});
