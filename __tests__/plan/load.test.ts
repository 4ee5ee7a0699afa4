import * as fs from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { loadMigrationPlan, MigrationPlanError, type PlanProblem } from '../../lib/plan';
import { EXAMPLE_PLAN, minimalPlan, planError, planFiles } from './plan-fixtures';

const files = planFiles();

/** The repeated-key problems among a plan's problems (the plan is checked too, and its problems reported with them). */
const duplicateKeys = (problems: readonly PlanProblem[]) => problems.filter(({ message }) => message.startsWith('duplicate key '));

describe('loadMigrationPlan: reading the file', () => {
  test('a missing file is named in the message', () => {
    const missing = join(files.dir(), 'nowhere', 'plan.yaml');
    const error = planError(() => loadMigrationPlan(missing));
    expect(error.file).toBe(missing);
    expect(error.problems).toEqual([{ path: '', message: 'file not found' }]);
    expect(error.message).toBe(`${missing}: file not found`);
    expect(error.message).not.toMatch(/\n\s+at /);
  });

  test('a relative path not found names where it was looked for: npm runs scripts in the package folder, not the one it was typed in', () => {
    const relative = join('plans', 'no-such-plan.yaml');
    expect(planError(() => loadMigrationPlan(relative)).message).toBe(
      `${relative}: file not found (looked for ${join(process.cwd(), relative)})`,
    );
  });

  test.each([undefined, null, 42])('called from plain JavaScript with %p for the path: what it needs', (path) => {
    expect(() => loadMigrationPlan(path as unknown as string)).toThrow(
      new TypeError(`loadMigrationPlan needs the plan file's path, such as 'plan.yaml' (got ${path === null ? 'null' : typeof path})`),
    );
  });

  test('a directory is not a plan', () => {
    const directory = join(files.dir(), 'plans.yaml');
    fs.mkdirSync(directory);
    expect(planError(() => loadMigrationPlan(directory)).message).toBe(`${directory}: is a directory, not a plan file`);
  });

  test('a symbolic link that leads back to itself is named as such (was: "ELOOP: too many symbolic links encountered, stat ...")', () => {
    const looped = join(files.dir(), 'looped.yaml');
    fs.symlinkSync('looped.yaml', looped);
    expect(planError(() => loadMigrationPlan(looped)).message).toBe(`${looped}: cannot read file: its symbolic links lead round in a loop`);
  });

  // A device or a pipe reports size 0, so the size check above cannot bound what it gives.
  (fs.existsSync('/dev/zero') ? test : test.skip)('a device that never ends is refused after the size limit, not read forever', () => {
    const endless = join(files.dir(), 'endless.yaml');
    fs.symlinkSync('/dev/zero', endless);
    expect(planError(() => loadMigrationPlan(endless)).message).toBe(
      `${endless}: is not a regular file and gave more than 16777216 bytes; a plan must be at most 16777216`,
    );
  });

  (fs.existsSync('/dev/null') ? test : test.skip)('a device that gives nothing reads as an empty plan', () => {
    const empty = join(files.dir(), 'empty.yaml');
    fs.symlinkSync('/dev/null', empty);
    expect(planError(() => loadMigrationPlan(empty)).problems[0].message).toMatch(/empty/);
  });

  test('an unreadable file', () => {
    const path = files.write('secret.yaml', 'name: x\n');
    const denied = Object.assign(new Error(`EACCES: permission denied, open '${path}'`), { code: 'EACCES' });
    jest.isolateModules(() => {
      jest.doMock('node:fs', () => ({
        ...jest.requireActual('node:fs'),
        readFileSync: () => {
          throw denied;
        },
      }));
      const isolated = require('../../lib/plan') as typeof import('../../lib/plan');
      expect(() => isolated.loadMigrationPlan(path)).toThrow(
        expect.objectContaining({
          name: 'MigrationPlanError',
          message: `${path}: cannot read file: permission denied`,
        }),
      );
    });
    jest.dontMock('node:fs');
  });

  test.each(['yaml', 'json'])('a %s plan in Latin-1 is refused where its first byte is not UTF-8, not read with U+FFFD', (kind) => {
    const text = fs.readFileSync(EXAMPLE_PLAN, 'utf8').replace('database: Sales', 'database: Salés');
    const plan = kind === 'yaml' ? text : JSON.stringify(require('yaml').parse(text), null, 2);
    const path = join(files.dir(), `latin1.${kind}`);
    fs.writeFileSync(path, Buffer.from(plan, 'latin1'));
    const before = plan.slice(0, plan.indexOf('é')).split('\n');
    const error = planError(() => loadMigrationPlan(path));
    expect(error.problems).toEqual([
      {
        path: '',
        message: 'not valid UTF-8 (another encoding, such as Latin-1 or Windows-1252?): save the plan as UTF-8',
        line: before.length,
        column: before[before.length - 1].length + 1,
      },
    ]);
    // The same text as UTF-8 loads, with the accent intact.
    fs.writeFileSync(path, plan, 'utf8');
    expect(JSON.stringify(loadMigrationPlan(path))).toContain('"Salés"');
  });

  test.each([
    ['UTF-16', 'utf16le', [0xff, 0xfe]],
    ['UTF-32', 'utf16le', [0xff, 0xfe, 0x00, 0x00]],
  ] as const)('a %s plan (by its byte order mark) is told to be saved as UTF-8', (encoding, bodyEncoding, mark) => {
    const path = join(files.dir(), 'wide.yaml');
    fs.writeFileSync(path, Buffer.concat([Buffer.from(mark), Buffer.from('name: x\n', bodyEncoding)]));
    expect(planError(() => loadMigrationPlan(path)).message).toBe(`${path}: is ${encoding}-encoded: save the plan as UTF-8`);
  });

  test.each(['plan.txt', 'plan', 'plan.yaml.bak', 'plan.toml'])('unsupported extension: %s', (name) => {
    const path = files.write(name, '{}');
    const error = planError(() => loadMigrationPlan(path));
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0].message).toMatch(
      /^unsupported plan file \((extension "\.\w+"|no extension)\): use \.yaml, \.yml or \.json$/,
    );
  });

  test('a folder without a plan extension is named as a folder, and a name typed without its extension with the plan file beside it', () => {
    const folder = join(files.dir(), 'plans');
    fs.mkdirSync(folder);
    expect(planError(() => loadMigrationPlan(folder)).message).toBe(`${folder}: is a directory, not a plan file`);
    const typed = join(folder, 'q3');
    fs.writeFileSync(`${typed}.yaml`, '{}');
    expect(planError(() => loadMigrationPlan(typed)).message).toBe(
      `${typed}: unsupported plan file (no extension): use .yaml, .yml or .json (did you mean ${typed}.yaml?)`,
    );
  });

  test('.yml, upper-case extensions and JSON load the same plan as YAML', () => {
    const yaml = fs.readFileSync(EXAMPLE_PLAN, 'utf8');
    const expected = loadMigrationPlan(EXAMPLE_PLAN);
    expect(loadMigrationPlan(files.write('same.yml', yaml))).toEqual(expected);
    expect(loadMigrationPlan(files.write('same.YAML', yaml))).toEqual(expected);
    const json = JSON.stringify(require('yaml').parse(yaml), null, 2);
    expect(loadMigrationPlan(files.write('same.json', json))).toEqual(expected);
    expect(loadMigrationPlan(files.write('bom.json', `\ufeff${json}`))).toEqual(expected);
  });
});

describe('loadMigrationPlan: syntax errors carry line and column', () => {
  test('YAML syntax error', () => {
    const path = files.write('broken.yaml', 'name: contoso\nlocation: westeurope\ntags: [a, b\nnotifications: {}\n');
    const error = planError(() => loadMigrationPlan(path));
    expect(error.problems.length).toBeGreaterThan(0);
    expect(error.problems[0]).toMatchObject({ path: '', line: 4 });
    expect(error.problems[0].message).toMatch(/^YAML syntax error: /);
    expect(error.message.split('\n')[0]).toMatch(new RegExp(`^${escape(path)}:4:\\d+: YAML syntax error: `));
  });

  test('a YAML error that quotes text across a line break still takes one line', () => {
    // `\U` takes the next eight characters as its code, the line break among them.
    const path = files.write('escape.yaml', 'name: "contoso\\U\n    x"\nlocation: westeurope\n');
    const error = planError(() => loadMigrationPlan(path));
    expect(error.message.split('\n')).toHaveLength(error.problems.length);
    expect(error.problems[0]).toMatchObject({
      line: 1,
      message: expect.stringMatching(/^YAML syntax error: Invalid escape sequence \\U\\n    x" \(/),
    });
  });

  test('a Windows path in double quotes, whose backslashes start escapes, is told to go in single quotes', () => {
    const path = files.write('share.yaml', 'name: contoso\nsourceServers:\n  - backupFileShare: { path: "\\\\files01\\sqlbackups" }\n');
    expect(planError(() => loadMigrationPlan(path)).problems).toEqual([
      {
        path: '',
        message:
          "YAML syntax error: Invalid escape sequence \\s (in double quotes a backslash starts an escape: write a Windows path or host\\instance in single quotes, such as '\\\\fileserver01\\sqlbackups')",
        line: 3,
        column: 40,
      },
    ]);
  });

  test('YAML with a tab as indentation', () => {
    const path = files.write('tabs.yaml', 'name: contoso\nsourceServers:\n\t- name: sql01\n');
    expect(planError(() => loadMigrationPlan(path)).problems[0]).toMatchObject({ line: 3, column: 1 });
  });

  test('YAML duplicate keys are rejected, not silently overwritten', () => {
    const path = files.write(
      'dup.yaml',
      toYaml(minimalPlan()).replace('location: westeurope\n', 'location: westeurope\nlocation: northeurope\n'),
    );
    expect(planError(() => loadMigrationPlan(path)).problems).toEqual([
      { path: 'location', message: 'duplicate key "location"', line: 3, column: 1 },
    ]);
  });

  test('a YAML file with several documents', () => {
    const text = `${toYaml(minimalPlan())}---\nname: other\n`;
    const path = files.write('multi.yaml', text);
    // The position of the second document's ---, and advice for the plan's author, not for a caller of the yaml library.
    expect(planError(() => loadMigrationPlan(path)).problems).toEqual([
      {
        path: '',
        message: 'YAML syntax error: a second document starts here (---): a plan is one document; remove the rest or split it into files',
        line: text.split('\n').indexOf('---') + 1,
        column: 1,
      },
    ]);
  });

  test('a YAML merge key is named as such, not as an unknown field "<<"', () => {
    const path = files.write('merge.yaml', `${toYaml(minimalPlan())}tags: { <<: { owner: dba } }\n`);
    expect(planError(() => loadMigrationPlan(path)).problems).toEqual([
      expect.objectContaining({ path: 'tags["<<"]', message: expect.stringMatching(/^YAML merge keys \(<<\) are not supported: write the fields out/) }),
    ]);
  });

  test.each([
    ['empty', ''],
    ['only a comment', '# nothing here\n'],
  ])('an %s YAML file', (_, text) => {
    const path = files.write('empty.yaml', text);
    expect(planError(() => loadMigrationPlan(path)).problems).toEqual([
      { path: '', message: 'the file is empty; expected a migration plan', line: 1, column: 1 },
    ]);
  });

  test.each([
    ['missing value', '{\n  "name": "contoso",\n  "location": \n}\n', 4, 1, "unexpected token '}'"],
    [
      'missing comma',
      '{\n  "name": "contoso"\n  "location": "westeurope"\n}',
      3,
      3,
      "expected ',' or '}' after property value",
    ],
    ['unclosed string', '{\n  "name": "contoso\n}', 2, 19, 'bad control character in string literal'],
    ['single quotes', "{\n  'name': 'contoso'\n}", 2, 3, "expected property name or '}'"],
    ['bad escape', '{"name": "a\\qb"}', 1, 13, 'bad escaped character'],
    ['truncated', '{"databases": [1, 2', 1, 20, "expected ',' or ']' after array element"],
    ['text after the document', '{}\n{}', 2, 1, 'unexpected non-whitespace character after JSON'],
    ['empty file', '  \n', 1, 1, 'the file is empty'],
  ])('JSON syntax error: %s', (_, text, line, column, message) => {
    const path = files.write('broken.json', text);
    const error = planError(() => loadMigrationPlan(path));
    expect(error.problems).toEqual([{ path: '', message: `JSON syntax error: ${message}`, line, column }]);
    expect(error.message).toBe(`${path}:${line}:${column}: JSON syntax error: ${message}`);
  });

  test.each([
    // V8 names the bracket after the comma ("expected double-quoted property name", "unexpected token ']'").
    ['of the plan', '{\n  "name": "contoso",\n}\n', '', 2, 20, 'field'],
    ['of a database', '{\n  "databases": [\n    { "name": "a", "mode": "online", },\n    {}\n  ]\n}', 'databases[0]', 3, 36, 'field'],
    ['of a list, before a line break', '{ "databases": [{}, { "dependsOn": ["a", "b",\n  ] }] }', 'databases[1].dependsOn', 1, 45, 'element'],
    ['of a list whose strings hold brackets, commas and colons', '{ "tags": { "a[,": "}:,\\"" }, "x": [1,] }', 'x', 1, 38, 'element'],
  ])('JSON syntax error: a trailing comma %s is named at the comma, with the field path of its object or list', (_, text, path, line, column, last) => {
    const file = files.write('comma.json', text);
    const message = `JSON syntax error: a comma after the last ${last} (JSON allows none): remove it`;
    const error = planError(() => loadMigrationPlan(file));
    expect(error.problems).toEqual([{ path, message, line, column }]);
    expect(error.message).toBe(`${file}:${line}:${column}${path === '' ? ':' : ` ${path}:`} ${message}`);
  });

  test('JSON duplicate keys are reported with their field path, all of them', () => {
    const text = '{\n  "name": "a",\n  "databases": [\n    { "name": "x", "name": "y" }\n  ],\n  "name": "b"\n}';
    // The plan's other problems (missing fields) are reported with them: see 'a repeated key hides no other problem'.
    expect(duplicateKeys(planError(() => loadMigrationPlan(files.write('dup.json', text))).problems)).toEqual([
      { path: 'databases[0].name', message: 'duplicate key "name"', line: 4, column: 20 },
      { path: 'name', message: 'duplicate key "name"', line: 6, column: 3 },
    ]);
  });

  test('brackets, colons and escaped quotes inside JSON strings are text, not structure or keys', () => {
    const tags = { '[{"a": 1}': 'x\\":{', '{{{': ']]] "b": [' };
    const text = JSON.stringify({ ...minimalPlan(), tags }, null, 2);
    expect(loadMigrationPlan(files.write('brackets.json', text)).tags).toEqual(tags);
  });

  test('a JSON string ending in an escaped backslash ends at its quote: the keys and colons after it count as written', () => {
    const text = '{\n  "tags": { "share": "\\\\\\\\files\\\\", "b": "x:", "b": "y" }\n}';
    expect(JSON.parse(text).tags.share).toBe('\\\\files\\');
    expect(duplicateKeys(planError(() => loadMigrationPlan(files.write('backslash.json', text))).problems)).toEqual([
      { path: 'tags.b', message: 'duplicate key "b"', line: 2, column: 48 },
    ]);
  });

  test('JSON duplicate keys are found with a key added to Object.prototype', () => {
    // One object of two keys, one of them repeated: counted with the inherited key, it would look complete.
    Object.defineProperty(Object.prototype, 'inherited', { value: 1, enumerable: true, configurable: true });
    try {
      const path = files.write('dup-inherited.json', '{"name": "a", "name": "b"}');
      expect(duplicateKeys(planError(() => loadMigrationPlan(path)).problems)).toEqual([
        { path: 'name', message: 'duplicate key "name"', line: 1, column: 15 },
      ]);
    } finally {
      delete (Object.prototype as Record<string, unknown>).inherited;
    }
  });

  test('JSON nested absurdly deep is a problem, not a stack overflow', () => {
    const text = `{"tags": ${'['.repeat(10000)}${']'.repeat(10000)}}`;
    expect(planError(() => loadMigrationPlan(files.write('deep.json', text))).problems[0].message).toBe(
      'JSON syntax error: nested more than 64 levels deep',
    );
  });
});

describe('loadMigrationPlan: problems after parsing point at the line of the field', () => {
  const yaml = [
    'name: contoso-sql', //                                   1
    'location: westeurope', //                               2
    'notifications:', //                                     3
    '  emails: [dba@contoso.com, not-an-email]', //         4
    'airflow:', //                                           5
    '  host: kubernetes', //                                 6
    '  kubernetes:', //                                      7
    '    maxNodes: 4', //                                    8
    'sourceServers:', //                                     9
    '  - name: sql01', //                                   10
    '    host: sql01.corp', //                              11
    'targetServers:', //                                    12
    '  - name: sqldb-prod', //                              13
    '    kind: SqlDb', //                                   14
    `    resourceId: ${'/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Sql/servers/one'}`,
    'databases:', //                                        16
    '  - name: database_1', //                              17
    '    source: { server: sql01, database: Sales }', //    18
    '    target: { server: sqldb-prod }', //                19
    '  - name: database_2', //                              20
    '    source:', //                                       21
    '      server: sql01', //                               22
    '    target: { server: sqldb-prod }', //                23
    '    dependson: [database_1]', //                       24
    '    dependsOn: [database_1, database_9]', //           25
    '',
  ].join('\n');

  test('YAML: semantic, shape and unknown-field problems, sorted by line', () => {
    const path = files.write('positions.yaml', yaml);
    const error = planError(() => loadMigrationPlan(path));
    expect(error.problems).toEqual([
      {
        path: 'notifications.emails[1]',
        message: 'must be an email address like name@example.com',
        line: 4,
        column: 29,
      },
      // a missing field points at its nearest parent that exists
      { path: 'databases[1].source.database', message: 'missing required field', line: 21, column: 5 },
      { path: 'databases[1].dependson', message: 'unknown field (did you mean dependsOn?)', line: 24, column: 5 },
      {
        path: 'databases[1].dependsOn[1]',
        message: 'unknown database "database_9" (known: database_1, database_2)',
        line: 25,
        column: 29,
      },
    ]);
    expect(error.message.split('\n')).toEqual([
      `${path}:4:29 notifications.emails[1]: must be an email address like name@example.com`,
      `${path}:21:5 databases[1].source.database: missing required field`,
      `${path}:24:5 databases[1].dependson: unknown field (did you mean dependsOn?)`,
      `${path}:25:29 databases[1].dependsOn[1]: unknown database "database_9" (known: database_1, database_2)`,
    ]);
  });

  test('report(): the file and how many problems, then the message (what the app prints; one problem says "problem")', () => {
    const path = files.write('report.yaml', yaml);
    const error = planError(() => loadMigrationPlan(path));
    expect(error.report()).toBe(`Invalid migration plan ${path} (4 problems):\n${error.message}`);
    const one = planError(() => loadMigrationPlan(files.write('one-problem.yaml', toYaml({ ...minimalPlan(), name: 'X' }))));
    expect(one.report().split('\n')[0]).toBe(`Invalid migration plan ${one.file} (1 problem):`);
  });

  test('JSON: the same problems point at the JSON lines', () => {
    const value = require('yaml').parse(yaml);
    const path = files.write('positions.json', JSON.stringify(value, null, 2));
    const lines = fs.readFileSync(path, 'utf8').split('\n');
    const lineOf = (text: string, from = 0) => lines.findIndex((line, i) => i >= from && line.includes(text)) + 1;
    const problems = planError(() => loadMigrationPlan(path)).problems;
    expect(problems.map((p) => [p.path, p.line])).toEqual([
      ['notifications.emails[1]', lineOf('"not-an-email"')],
      ['databases[1].source.database', lineOf('"source"', lineOf('"database_2"'))],
      ['databases[1].dependson', lineOf('"dependson"')],
      ['databases[1].dependsOn[1]', lineOf('"database_9"')],
    ]);
  });

  test('a missing top-level field has no line rather than a misleading line 1', () => {
    const plan = minimalPlan();
    delete plan.databases;
    const problems = planError(() => loadMigrationPlan(files.write('no-databases.yaml', toYaml(plan)))).problems;
    expect(problems).toEqual([{ path: 'databases', message: 'missing required field' }]);
  });

  test('the error is a MigrationPlanError for the file', () => {
    const path = files.write('bad-name.yaml', toYaml({ ...minimalPlan(), name: 'X' }));
    const error = planError(() => loadMigrationPlan(path));
    expect(error).toBeInstanceOf(MigrationPlanError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('MigrationPlanError');
    expect(error.file).toBe(path);
    expect(error.problems).toEqual([expect.objectContaining({ path: 'name', line: 1, column: 1 })]);
  });
});

describe('loadMigrationPlan: CR, LF and CRLF line endings read alike', () => {
  // YAML 1.2 and JSON both break lines at CR, LF and CRLF; classic Mac editors save CR alone.
  const endings = [
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ] as const;
  const broken = (plan: object) => `# the plan\n${toYaml({ ...plan, location: 42 })}`;
  const lineOf = (text: string, found: string) => text.split('\n').findIndex((line) => line.includes(found)) + 1;

  test.each(endings)('YAML with %s: the plan loads, and a problem has its line and column', (_, lineBreak) => {
    const plan = minimalPlan();
    const text = `# the plan\n${toYaml(plan)}`;
    expect(loadMigrationPlan(files.write('endings.yaml', text.replace(/\n/g, lineBreak)))).toEqual(loadMigrationPlan(files.write('lf.yaml', text)));
    const error = planError(() => loadMigrationPlan(files.write('endings.yaml', broken(plan).replace(/\n/g, lineBreak))));
    expect(error.problems).toEqual([expect.objectContaining({ path: 'location', line: lineOf(broken(plan), 'location'), column: 1 })]);
  });

  test.each(endings)('JSON with %s: a problem has its line and column', (_, lineBreak) => {
    const text = JSON.stringify({ ...minimalPlan(), location: 42 }, null, 2);
    const error = planError(() => loadMigrationPlan(files.write('endings.json', text.replace(/\n/g, lineBreak))));
    expect(error.problems).toEqual([expect.objectContaining({ path: 'location', line: lineOf(text, '"location"'), column: 3 })]);
  });

  test.each(endings)('syntax errors with %s: the line and column of the mistake', (_, lineBreak) => {
    const yamlText = 'name: contoso\nlocation: westeurope\ntags: [a, b\nnotifications: {}\n'.replace(/\n/g, lineBreak);
    expect(planError(() => loadMigrationPlan(files.write('broken.yaml', yamlText))).problems[0]).toMatchObject({ line: 4 });
    const jsonText = '{\n  "name": "contoso"\n  "location": "westeurope"\n}'.replace(/\n/g, lineBreak);
    expect(planError(() => loadMigrationPlan(files.write('broken.json', jsonText))).problems).toEqual([
      { path: '', message: "JSON syntax error: expected ',' or '}' after property value", line: 3, column: 3 },
    ]);
    const latin1 = join(files.dir(), 'latin1-endings.yaml');
    fs.writeFileSync(latin1, Buffer.from('name: contoso\ntags: { owner: Salés }\n'.replace(/\n/g, lineBreak), 'latin1'));
    expect(planError(() => loadMigrationPlan(latin1)).problems).toEqual([expect.objectContaining({ line: 2, column: 19 })]);
  });
});

describe('loadMigrationPlan: YAML that only the library can read', () => {
  test.each([
    ['a list', 'name: x\n? [a, b]\n: 1\n', '', 'list', 2, 3],
    ['a mapping', 'name: x\n{a: 1}: 2\n', '', 'mapping', 2, 1],
    ['a list, in tags', 'tags:\n  owner: dba\n  ? [a, b]\n  : x\n', 'tags', 'list', 3, 5],
    ['an alias of a mapping, in a database', 'x: &key {a: 1}\ndatabases:\n  - *key : 1\n', 'databases[0]', 'mapping', 3, 5],
  ])('a key that is %s is refused at its line, not read as text such as "[ a, b ]"', (_, text, path, what, line, column) => {
    const { name, databases, ...rest } = minimalPlan();
    const file = files.write('collection-key.yaml', `${text}${toYaml(rest)}`);
    expect(planError(() => loadMigrationPlan(file)).problems).toEqual([{ path, message: `a key must be a name, not a ${what}`, line, column }]);
  });

  test('YAML nested too deeply: at the bracket past 64 levels, not where the stack ran out (which moves with its depth)', () => {
    const path = files.write('deep.yaml', `name: x\ntags: ${'['.repeat(5000)}${']'.repeat(5000)}\n`);
    const fromDepth = (frames: number): readonly object[] => (frames === 0 ? planError(() => loadMigrationPlan(path)).problems : fromDepth(frames - 1));
    const expected = [{ path: '', message: 'YAML syntax error: nested too deeply: a plan is a few levels deep', line: 2, column: 'tags: '.length + 65 }];
    expect(fromDepth(0)).toEqual(expected);
    expect(fromDepth(500)).toEqual(expected);
  });

  test('aliases that expand too far ("billion laughs") are refused at the alias that passed the limit, in plain words', () => {
    const laughs = ['a: &a [x, x, x, x, x, x, x, x, x, x]', `b: &b [${'*a, '.repeat(9)}*a]`, `c: [${'*b, '.repeat(9)}*b]`, ''].join('\n');
    const error = planError(() => loadMigrationPlan(files.write('laughs.yaml', laughs)));
    expect(error.problems).toEqual([
      {
        path: '',
        message:
          'YAML aliases expand too far: here the copies of an anchored value (&name ... *name) pass 100, the limit that guards against "billion laughs" files; write the values out, or use fewer aliases',
        line: 3,
        column: 5 + 4 * 8, // the ninth *b: each copies the 11 of a (its anchor and ten aliases)
      },
    ]);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('loadMigrationPlan: a repeated key hides no other problem', () => {
  // A first user's plan reported its duplicate key alone, and four more problems once it was removed.
  const plan = minimalPlan();
  plan.databases[0].mode = 'offline';
  plan.databases.push({ name: 'database_2', source: { server: 'sql09', database: 'Orders' }, target: { server: 'sqldb-prod' }, dependsOn: ['database_9'] });
  const yaml = toYaml(plan).replace('    mode: offline\n', '    mode: offline\n    mode: offline\n');

  /** Line and column where `needle` is written last in `text` (a repeated key's second, on its line or after). */
  const at = (text: string, needle: string) => {
    const lines = text.split('\n');
    const line = lines.length - 1 - [...lines].reverse().findIndex((written) => written.includes(needle));
    return { line: line + 1, column: lines[line].lastIndexOf(needle) + 1 };
  };

  test("YAML: the repeated key and the plan's other problems, all in one error, in file order", () => {
    const path = files.write('dup.yaml', yaml);
    const error = planError(() => loadMigrationPlan(path));
    expect(error.problems).toEqual([
      { path: 'databases[0].mode', message: 'duplicate key "mode"', ...at(yaml, 'mode: offline') },
      { path: 'databases[1].source.server', message: expect.stringMatching(/^unknown source server "sql09"/), ...at(yaml, 'server: sql09') },
      { path: 'databases[1].dependsOn[0]', message: expect.stringMatching(/^unknown database "database_9"/), ...at(yaml, 'database_9') },
    ]);
    expect(error.report()).toMatch(/^Invalid migration plan .*dup\.yaml \(3 problems\):\n/);
  });

  test("JSON: the repeated key and the plan's other problems, all in one error, in file order", () => {
    const text = JSON.stringify(plan, null, 2).replace('"mode": "offline"', '"mode": "offline", "mode": "offline"');
    expect(planError(() => loadMigrationPlan(files.write('dup.json', text))).problems).toEqual([
      { path: 'databases[0].mode', message: 'duplicate key "mode"', ...at(text, '"mode"') },
      { path: 'databases[1].source.server', message: expect.stringMatching(/^unknown source server "sql09"/), ...at(text, '"server": "sql09"') },
      { path: 'databases[1].dependsOn[0]', message: expect.stringMatching(/^unknown database "database_9"/), ...at(text, '"database_9"') },
    ]);
  });

  test.each([
    ['YAML', 'dup.yaml', toYaml(minimalPlan()).replace('location: westeurope\n', 'location: westeurope\nlocation: West Europe\n'), 3, 1],
    [
      'JSON',
      'dup.json',
      JSON.stringify(minimalPlan(), null, 2).replace('"location": "westeurope",', '"location": "westeurope",\n  "location": "West Europe",'),
      4,
      3,
    ],
  ])('%s: the last value written is the one checked (as JSON.parse reads it), and its problem points at it', (_, name, text, line, column) => {
    expect(text).toContain('West Europe');
    expect(planError(() => loadMigrationPlan(files.write(name, text))).problems).toEqual([
      { path: 'location', message: 'duplicate key "location"', line, column },
      { path: 'location', message: expect.stringMatching(/Azure region/), line, column },
    ]);
  });

  test.each([
    ['YAML', 'nested.yaml', `${toYaml(minimalPlan())}tags: { a: x }\ntags: { b: y, b: z }\n`],
    ['JSON', 'nested.json', JSON.stringify(minimalPlan()).replace(/}$/, ', "tags": { "a": "x" }, "tags": { "b": "y", "b": "z" } }')],
  ])('%s: a repeated key whose value repeats a key of its own: both named', (_, name, text) => {
    expect(planError(() => loadMigrationPlan(files.write(name, text))).problems).toEqual([
      { path: 'tags', message: 'duplicate key "tags"', ...at(text, name.endsWith('json') ? '"tags": { "b"' : 'tags: { b') },
      { path: 'tags.b', message: 'duplicate key "b"', ...at(text, name.endsWith('json') ? '"b"' : 'b: z') },
    ]);
  });

  test('YAML: a syntax error still stops the reader: reported alone, without the plan\'s problems', () => {
    const broken = yaml.replace('    dependsOn:\n', '    dependsOn: [\n');
    const problems = planError(() => loadMigrationPlan(files.write('broken.yaml', broken))).problems;
    expect(problems.filter(({ message }) => message.startsWith('YAML syntax error: '))).not.toEqual([]);
    expect(problems.filter(({ message }) => !message.startsWith('YAML syntax error: '))).toEqual(
      // The repeated key is among the parser's errors, as it was; the unknown server and database are not checked.
      [{ path: 'databases[0].mode', message: 'duplicate key "mode"', ...at(yaml, 'mode: offline') }],
    );
  });

  test('YAML: a syntax error alone is the only problem reported', () => {
    const broken = `${toYaml({ ...minimalPlan(), name: 'Not A Valid Name' })}tags: [unclosed\n`;
    expect(planError(() => loadMigrationPlan(files.write('broken.yaml', broken))).problems).toEqual([
      expect.objectContaining({ path: '', message: expect.stringMatching(/^YAML syntax error: /) }),
    ]);
  });
});
