/**
 * The app cdktf runs is a bundle (`npm run build:app`: scripts/build-app.mjs, esbuild, one file, no
 * per-module loading). It must write exactly the Terraform the library writes in-process, for every
 * example plan, and still turn a bad plan into a clear message; it starts from V8's code cache after
 * the first run. The bundle is built here with
 * package.json's own command into a folder inside the repository (the DAG is found from the bundle's
 * folder upwards), so the repository's dist/ is never touched.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdktf';
import { DatabaseMigrationStack, loadMigrationPlan } from '../../lib';

const REPO = join(__dirname, '..', '..');
const EXAMPLES = readdirSync(join(REPO, 'examples')).filter((file) => /\.(ya?ml|json)$/.test(file));

/** The `cdk.tf.json` of each stack under a cdktf output folder, by stack name. */
function stacksIn(outdir: string): Map<string, string> {
  const stacks = join(outdir, 'stacks');
  return new Map(readdirSync(stacks).map((name) => [name, readFileSync(join(stacks, name, 'cdk.tf.json'), 'utf8')]));
}

/** Stacks missing on one side or written differently, by name. */
function differences(expected: Map<string, string>, actual: Map<string, string>): string[] {
  const names = [...new Set([...expected.keys(), ...actual.keys()])].sort();
  return names.flatMap((name) => {
    if (!expected.has(name)) return [`${name}: only in the bundle's output`];
    if (!actual.has(name)) return [`${name}: missing from the bundle's output`];
    return expected.get(name) === actual.get(name) ? [] : [`${name}: cdk.tf.json differs`];
  });
}

/** What main.ts does with the default environment (local state, no kubelogin override), in-process. */
function synthInProcess(planFile: string, outdir: string): Map<string, string> {
  const plan = loadMigrationPlan(planFile);
  const app = new App({ outdir });
  new DatabaseMigrationStack(app, plan.name, { plan, stateBackend: { type: 'local' } });
  app.synth();
  return stacksIn(outdir);
}

describe('the bundled app (dist/app.js)', () => {
  let folder: string;
  let bundle: string;
  let scratch: string;

  const runBundle = (planFile: string, outdir: string, args: string[] = [], app = bundle, env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['--max-semi-space-size=2', app, ...args], {
      cwd: REPO,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: process.env.HOME, MIGRATION_PLAN: planFile, CDKTF_OUTDIR: outdir, ...env },
    });

  beforeAll(() => {
    folder = mkdtempSync(join(REPO, '.app-bundle-'));
    bundle = join(folder, 'app.js');
    scratch = mkdtempSync(join(tmpdir(), 'adm-bundle-'));
    const command: string = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).scripts['build:app'];
    expect(command).toBe('node scripts/build-app.mjs');
    build(REPO, bundle);
  });

  /** package.json's build:app, run in `cwd` (where it finds main.ts), into `outfile`'s folder. */
  const build = (cwd: string, outfile: string) =>
    execFileSync(process.execPath, [join(REPO, 'scripts', 'build-app.mjs'), `--outfile=${outfile}`], { cwd, stdio: 'pipe' });

  afterAll(() => {
    rmSync(folder, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  it.each(EXAMPLES)('writes the same Terraform as the library for examples/%s', (example) => {
    const planFile = join(REPO, 'examples', example);
    const bundled = join(scratch, `bundle-${example}`);
    const result = runBundle(planFile, bundled);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.status).toBe(0);
    const library = synthInProcess(planFile, join(scratch, `library-${example}`));
    expect(library.size).toBeGreaterThan(0);
    expect(differences(library, stacksIn(bundled))).toEqual([]);
  });

  it('does not load the zip library cdktf requires at startup for archive assets, which the app never makes', () => {
    const hook = join(folder, 'record-requires.js');
    writeFileSync(
      hook,
      "const Module = require('node:module'); const seen = new Set(); const original = Module.prototype.require;\n" +
        'Module.prototype.require = function (id) { seen.add(id); return original.apply(this, arguments); };\n' +
        "process.on('exit', () => process.stderr.write(`REQUIRED ${[...seen].join(' ')}\\n`));\n",
    );
    const result = spawnSync(process.execPath, ['-r', hook, '--max-semi-space-size=2', bundle], {
      cwd: REPO,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: process.env.HOME, CDKTF_OUTDIR: join(scratch, 'requires-out') },
    });
    expect(result.status).toBe(0);
    const required = /^REQUIRED (.*)$/m.exec(result.stderr)?.[1].split(' ');
    expect(required).toContain('crypto');
    // archiver zips with zlib through streams; nothing the app does needs either.
    expect(required).not.toContain('zlib');
    expect(required).not.toContain('node:stream');
  });

  describe("V8's code cache (app-bundle.cache beside the bundle)", () => {
    const cacheFile = () => join(folder, 'app-bundle.cache');
    const cacheKey = () => JSON.parse(readFileSync(cacheFile()).toString('latin1').split('\n')[0]);
    const synth = (name: string) => {
      const outdir = join(scratch, name);
      const result = runBundle(join(REPO, 'examples', 'sql-database.json'), outdir);
      // The example's own plan warning (its crm_audit keeps its source writable), the Kubernetes host's without sign-in, and nothing else.
      const expected = [/^Warning: contoso-crm: .* crm_audit \(databases\[1\]\.allowSourceWritesDuringCopy\): /, /^Warning: contoso-crm\/AirflowHost: no signIn: .*\[ack: migration:kubernetes:no-sign-in\]$/];
      expect(result.stderr.split('\n').filter((line) => line !== '' && !expected.some((warning) => warning.test(line)))).toEqual([]);
      expect(result.status).toBe(0);
      return stacksIn(outdir);
    };

    it('is written by a run without one and read by the next, which writes the same Terraform', () => {
      rmSync(cacheFile(), { force: true });
      const first = synth('cache-first');
      const [nodeVersion, , size] = cacheKey();
      expect([nodeVersion, size]).toEqual([process.version, readFileSync(join(folder, 'app-bundle.js')).length]);
      expect(differences(first, synth('cache-second'))).toEqual([]);
    });

    it('is not used for a bundle changed since (its time), and is written again', () => {
      synth('cache-fill');
      const before = cacheKey();
      const later = new Date(Date.now() + 5000);
      utimesSync(join(folder, 'app-bundle.js'), later, later);
      synth('cache-stale');
      expect(cacheKey()[3]).not.toBe(before[3]);
      // The file system keeps the time to a fraction of a millisecond (1796415678530.999 for ...531).
      expect(Math.abs(Number(cacheKey()[3]) - later.getTime())).toBeLessThan(1);
    });

    it('survives a build of the same source, which keeps the bundle as it was (its time): the next run starts from it', () => {
      synth('rebuild-fill');
      const bundleFile = join(folder, 'app-bundle.js');
      const [bundleTime, cache, cacheTime] = [statSync(bundleFile).mtimeMs, readFileSync(cacheFile()), statSync(cacheFile()).mtimeMs];
      build(REPO, bundle);
      expect(statSync(bundleFile).mtimeMs).toBe(bundleTime);
      expect(readFileSync(cacheFile()).equals(cache)).toBe(true);
      synth('rebuild-run');
      // A run writes the cache only where it had none or V8 refused it.
      expect(statSync(cacheFile()).mtimeMs).toBe(cacheTime);
    });

    it('is dropped by a build of a changed source, which rewrites the bundle; the next run writes it again', () => {
      // An entry of its own, in a folder of its own inside the repository: the app and one statement, changed between builds.
      const own = mkdtempSync(join(REPO, '.app-bundle-'));
      try {
        const [app, ownBundle, ownCache] = ['app.js', 'app-bundle.js', 'app-bundle.cache'].map((name) => join(own, name));
        const run = (name: string) => expect(runBundle(join(REPO, 'examples', 'sql-database.json'), join(scratch, name), [], app).status).toBe(0);
        writeFileSync(join(own, 'main.ts'), "import '../main';\nexport const build = 1;\n");
        build(own, app);
        run('changed-first');
        const before = readFileSync(ownBundle);
        expect(readFileSync(ownCache).length).toBeGreaterThan(0);
        writeFileSync(join(own, 'main.ts'), "import '../main';\nexport const build = 2;\n");
        build(own, app);
        expect(readFileSync(ownBundle).equals(before)).toBe(false);
        expect(() => statSync(ownCache)).toThrow();
        run('changed-second');
        expect(JSON.parse(readFileSync(ownCache).toString('latin1').split('\n')[0])[3]).toBe(statSync(ownBundle).mtimeMs);
      } finally {
        rmSync(own, { recursive: true, force: true });
      }
    });

    it('refused by V8 (damaged), is compiled around and written again', () => {
      synth('cache-fill-again');
      const data = readFileSync(cacheFile());
      const keyLength = data.indexOf(10) + 1;
      writeFileSync(cacheFile(), Buffer.concat([data.subarray(0, keyLength), Buffer.alloc(data.length - keyLength, 7)]));
      expect(differences(synth('cache-damaged-first'), synth('cache-damaged-second'))).toEqual([]);
      const rewritten = readFileSync(cacheFile());
      expect(rewritten.subarray(0, keyLength).toString()).toBe(data.subarray(0, keyLength).toString());
      expect(rewritten.subarray(keyLength).some((byte) => byte !== 7)).toBe(true);
    });
  });

  it('tells a stack written differently or missing from a matching one (planted)', () => {
    const expected = new Map([
      ['sql', '{"a":1}'],
      ['sql-airflow', '{}'],
    ]);
    expect(differences(expected, new Map([['sql', '{"a":2}']]))).toEqual([
      'sql: cdk.tf.json differs',
      'sql-airflow: missing from the bundle\'s output',
    ]);
  });

  it('stops on a bad plan with the file, the field and the problem, no stack trace, and writes nothing', () => {
    const planFile = join(scratch, 'bad.yaml');
    writeFileSync(planFile, readFileSync(join(REPO, 'examples', 'three-databases.yaml'), 'utf8').replace(/emails:\n(\s+)- \S+/, 'emails:\n$1- not-an-email'));
    const outdir = join(scratch, 'bad-out');
    const result = runBundle(planFile, outdir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`Invalid migration plan ${planFile}`);
    expect(result.stderr).toMatch(/notifications\.emails\[0\]: must be an email address/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(() => readdirSync(outdir)).toThrow();
  });

  it('prints the synth warnings run by plain node, each after its construct path, and leaves them to the cdktf CLI run by it (which prints the manifest\'s)', () => {
    const planFile = join(REPO, 'examples', 'three-databases.yaml');
    const warning = /^Warning: contoso-sql: .*\/examples\/three-databases\.yaml airflow\.sqlAccess is direct /m;
    const plain = runBundle(planFile, join(scratch, 'plain-out'));
    expect(plain.status).toBe(0);
    expect(plain.stderr).toMatch(warning);
    // cdktf-cli's synth-stack.js runs the app with this variable, then prints each stack's warn annotations (synth.js).
    const outdir = join(scratch, 'cli-out');
    const underCli = runBundle(planFile, outdir, [], bundle, { CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS: 'true' });
    expect(underCli.status).toBe(0);
    expect(underCli.stderr).toBe('');
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8'));
    const annotations: { level: string; constructPath: string; message: string }[] = manifest.stacks['contoso-sql'].annotations;
    // As cdktf-cli's synth.js prints them.
    expect(annotations.filter((annotation) => annotation.level === '@cdktf/warn').map(({ constructPath, message }) => `WARN [${constructPath}]: ${message}`)).toEqual([
      expect.stringMatching(/^WARN \[contoso-sql\]: .*\/examples\/three-databases\.yaml airflow\.sqlAccess is direct /),
      expect.stringMatching(/^WARN \[contoso-sql\/AirflowHost\]: no signIn: .*\[ack: migration:kubernetes:no-sign-in\]$/),
    ]);
  });

  it('names the construct a warning is on once, run by plain node and by the cdktf CLI (was: "WARN [contoso-sql]: contoso-sql: its local state is ...")', () => {
    const planFile = join(REPO, 'examples', 'three-databases.yaml');
    // A local state left in the stack's folder by an earlier version draws a warning on the stack.
    const stale = (outdir: string) => {
      mkdirSync(join(outdir, 'stacks', 'contoso-sql'), { recursive: true });
      writeFileSync(join(outdir, 'stacks', 'contoso-sql', 'terraform.contoso-sql.tfstate'), '{}');
      return outdir;
    };
    const plain = runBundle(planFile, stale(join(scratch, 'stale-plain-out')));
    expect(plain.status).toBe(0);
    expect(plain.stderr).toMatch(/^Warning: contoso-sql: its local state is \S+, in the build output/m);
    const outdir = stale(join(scratch, 'stale-cli-out'));
    expect(runBundle(planFile, outdir, [], bundle, { CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS: 'true' }).status).toBe(0);
    const annotations: { constructPath: string; message: string }[] = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')).stacks['contoso-sql'].annotations;
    expect(annotations.map(({ constructPath, message }) => `WARN [${constructPath}]: ${message}`)).toContainEqual(
      expect.stringMatching(/^WARN \[contoso-sql\]: its local state is \S+, in the build output/),
    );
  });

  it('refuses a plan given as an argument (npm run synth -- plans/q3.yaml) instead of synthesizing the default plan', () => {
    const outdir = join(scratch, 'argument-out');
    const result = runBundle('', outdir, ['plans/q3.yaml']);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'The app takes no arguments (got plans/q3.yaml): select the plan with MIGRATION_PLAN=plans/q3.yaml npm run synth\nNothing was synthesized.\n',
    );
    expect(() => readdirSync(outdir)).toThrow();
  });

  it('stops on a valid plan a construct refuses (too large for the config maps) with its message, no stack trace, and writes nothing', () => {
    const plan = JSON.parse(readFileSync(join(REPO, 'examples', 'sql-database.json'), 'utf8'));
    plan.databases = Array.from({ length: 1500 }, (_, i) => ({ name: `db_${i}`, source: { server: 'sql02', database: `Db${i}` }, target: { server: 'sqldb-crm' } }));
    const planFile = join(scratch, 'large.json');
    writeFileSync(planFile, JSON.stringify(plan));
    const outdir = join(scratch, 'large-out');
    const result = runBundle(planFile, outdir);
    expect(result.stderr).toMatch(/^Cannot synthesize the migration plan: .*Dags: DAG file migration_plan\.json is \d+ bytes; a config map holds at most/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.status).toBe(1);
    // new App() makes the output folder and its stacks/: the app removes them again (was: an empty stacks/ left).
    expect(() => readdirSync(outdir)).toThrow();
    // An output folder there before keeps what it holds, the stacks/ it had and the one it lacked alike.
    const earlier = join(scratch, 'earlier-out');
    mkdirSync(join(earlier, 'stacks', 'contoso-sql'), { recursive: true });
    writeFileSync(join(earlier, 'manifest.json'), '{}');
    expect(runBundle(planFile, earlier).status).toBe(1);
    expect(readdirSync(earlier, { recursive: true }).sort()).toEqual(['manifest.json', 'stacks', join('stacks', 'contoso-sql')]);
    const withoutStacks = join(scratch, 'without-stacks-out');
    mkdirSync(withoutStacks);
    expect(runBundle(planFile, withoutStacks).status).toBe(1);
    expect(readdirSync(withoutStacks)).toEqual([]);
  });

  it('reads MIGRATION_PLAN as it reads every variable: ends trimmed, blank as unset (was: "Invalid migration plan <path> " ... "file not found" for a trailing line break)', () => {
    const planFile = join(REPO, 'examples', 'sql-database.json');
    const trailing = runBundle(`${planFile}\n`, join(scratch, 'trailing-out'));
    expect(trailing.stderr).not.toMatch(/Invalid migration plan/);
    expect(trailing.status).toBe(0);
    expect(trailing.stdout).toMatch(/^Synthesized stack contoso-crm /);
    const blank = runBundle(' ', join(scratch, 'blank-out'));
    expect(blank.status).toBe(0);
    expect(blank.stdout).toMatch(/^Synthesized stack contoso-sql /);
  });

  it("reads a relative MIGRATION_PLAN from where the command was typed (INIT_CWD), as npm run rehearse does (was: from the repository's folder, another file)", () => {
    // As MIGRATION_PLAN=plans/q3.yaml npm run synth typed in `typed`: npm runs the app in the repository, INIT_CWD names `typed`.
    const typed = join(scratch, 'typed-here');
    mkdirSync(join(typed, 'plans'), { recursive: true });
    writeFileSync(join(typed, 'plans', 'q3.json'), readFileSync(join(REPO, 'examples', 'sql-database.json')));
    const outdir = join(scratch, 'init-cwd-out');
    const result = runBundle('plans/q3.json', outdir, [], bundle, { INIT_CWD: typed });
    expect(result.stderr).not.toMatch(/Invalid migration plan/);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Synthesized stack contoso-crm /);
    expect(stacksIn(outdir).has('contoso-crm')).toBe(true);
    // A plan not found says where it was looked for: the caller's folder.
    const missing = runBundle('plans/q4.yaml', join(scratch, 'init-cwd-missing-out'), [], bundle, { INIT_CWD: typed });
    expect(missing.stderr).toMatch(new RegExp(`^Invalid migration plan ${join(typed, 'plans', 'q4.yaml')} .*\n${join(typed, 'plans', 'q4.yaml')}: file not found\n`));
    expect(missing.status).toBe(1);
    // Typed in the repository (INIT_CWD its folder), the path is named as typed, and where it was looked for.
    const atRoot = runBundle('plans/q4.yaml', join(scratch, 'root-missing-out'), [], bundle, { INIT_CWD: REPO });
    expect(atRoot.stderr).toContain(`plans/q4.yaml: file not found (looked for ${join(REPO, 'plans', 'q4.yaml')})\n`);
    // The default plan is the repository's, wherever the command was typed.
    const byDefault = runBundle('', join(scratch, 'init-cwd-default-out'), [], bundle, { INIT_CWD: typed });
    expect(byDefault.status).toBe(0);
    expect(byDefault.stdout).toMatch(/^Synthesized stack contoso-sql /);
  });

  it('stops on an output folder it cannot write with Node\'s words for it and no stack trace (was: the trace of mkdirSync)', () => {
    const planFile = join(REPO, 'examples', 'sql-database.json');
    const file = join(scratch, 'a-file-out');
    writeFileSync(file, '');
    const result = runBundle(planFile, file);
    expect(result.stderr).toMatch(new RegExp(`^Cannot write the output folder ${file}: ENOTDIR: not a directory, mkdtemp '${join(file, '.synth-')}XXXXXX'\nNothing was synthesized.\n$`));
    expect(result.status).toBe(1);
    // A file where the synth writes a stack's folder: found before anything moved, so the folder is as it was
    // (was: "What it holds may be part of this synth", the stacks before it written).
    const blocked = join(scratch, 'blocked-out');
    mkdirSync(join(blocked, 'stacks'), { recursive: true });
    writeFileSync(join(blocked, 'stacks', 'contoso-crm'), '');
    const partWay = runBundle(planFile, blocked);
    expect(partWay.stderr).toBe(
      `Cannot write the output folder ${blocked}: ${join(blocked, 'stacks', 'contoso-crm')} is a file where the synth writes a folder\nNothing was synthesized.\n`,
    );
    expect(partWay.status).toBe(1);
    expect(readdirSync(blocked, { recursive: true })).toEqual(['stacks', join('stacks', 'contoso-crm')]);
  });

  describe('a synth stopped part way, after an earlier one wrote the output folder', () => {
    /** Every file under `folder` with its bytes, by path. */
    const snapshot = (folder: string) =>
      Object.fromEntries(
        readdirSync(folder, { recursive: true, encoding: 'utf8' })
          .filter((file) => statSync(join(folder, file)).isFile())
          .sort()
          .map((file) => [file, readFileSync(join(folder, file)).toString('base64')]),
      );
    /** A preload that makes the second stack's write throw `error` (source text), as a full disk or a failing validation of the second stack would. */
    const failSecondStack = (name: string, error: string) => {
      const hook = join(folder, `${name}.js`);
      writeFileSync(
        hook,
        "const fs = require('node:fs'); const write = fs.writeFileSync; let stacks = 0;\n" +
          `fs.writeFileSync = function (file, ...rest) { if (String(file).endsWith('cdk.tf.json') && ++stacks === 2) throw ${error}; return write.call(this, file, ...rest); };\n`,
      );
      return hook;
    };
    const earlierSynth = (name: string) => {
      const outdir = join(scratch, name);
      expect(runBundle(join(REPO, 'examples', 'three-databases.yaml'), outdir).status).toBe(0);
      // What Terraform and an earlier version leave there.
      writeFileSync(join(outdir, 'stacks', 'contoso-sql', '.terraform.lock.hcl'), 'lock');
      return outdir;
    };
    // Another plan of the same name and host, so both of its stacks are written differently.
    const changedPlan = () => {
      const planFile = join(scratch, 'changed.yaml');
      writeFileSync(planFile, readFileSync(join(REPO, 'examples', 'three-databases.yaml'), 'utf8').replace('cost-center: "4711"', 'cost-center: "4712"'));
      return planFile;
    };
    const runFailing = (planFile: string, outdir: string, hook: string) =>
      spawnSync(process.execPath, ['-r', hook, '--max-semi-space-size=2', bundle], {
        cwd: REPO,
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: process.env.HOME, MIGRATION_PLAN: planFile, CDKTF_OUTDIR: outdir },
      });

    it('by a write the system refuses leaves it byte for byte as it was, with Node\'s words, and no staging folder (was: the first stack of the new synth beside the second of the old)', () => {
      const outdir = earlierSynth('part-way-disk-out');
      const before = snapshot(outdir);
      const planFile = changedPlan();
      const result = runFailing(planFile, outdir, failSecondStack('disk-full', "Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' })"));
      expect(result.stderr).toBe(`Cannot write the output folder ${outdir}: ENOSPC: no space left on device, write\nNothing was synthesized.\n`);
      expect(result.status).toBe(1);
      expect(snapshot(outdir)).toEqual(before);
      expect(readdirSync(outdir).sort()).toEqual(['manifest.json', 'stacks']);
      // The plan itself synthesizes: the test's change reached both stacks.
      expect(runBundle(planFile, outdir).status).toBe(0);
      expect(snapshot(outdir)['stacks/contoso-sql/cdk.tf.json']).not.toBe(before['stacks/contoso-sql/cdk.tf.json']);
      expect(snapshot(outdir)['stacks/contoso-sql/.terraform.lock.hcl']).toBe(before['stacks/contoso-sql/.terraform.lock.hcl']);
    });

    it('by an error of cdktf or a construct (a validation) leaves it as it was, with the message and no stack trace, and no staging folder', () => {
      const outdir = earlierSynth('part-way-validation-out');
      const before = snapshot(outdir);
      const result = runFailing(changedPlan(), outdir, failSecondStack('validation', "new Error('Validation failed with the following errors: planted')"));
      expect(result.stderr).toBe('Cannot synthesize the migration plan: Validation failed with the following errors: planted\nNothing was synthesized.\n');
      expect(result.status).toBe(1);
      expect(snapshot(outdir)).toEqual(before);
      expect(readdirSync(outdir).sort()).toEqual(['manifest.json', 'stacks']);
    });

    it.each([
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ])('by %s (Ctrl-C, the cdktf CLI\'s abort) exits %i, leaving it as it was and no staging folder (was: the signal waited for the synth, which completed, published and exited 0)', (signal, status) => {
      const outdir = earlierSynth(`part-way-${signal}-out`);
      const before = snapshot(outdir);
      // The signal arrives while app.synth() writes the second stack, which runs without yielding to the event loop.
      const hook = join(folder, `signal-${signal}.js`);
      writeFileSync(
        hook,
        "const fs = require('node:fs'); const write = fs.writeFileSync; let stacks = 0;\n" +
          `fs.writeFileSync = function (file, ...rest) { if (String(file).endsWith('cdk.tf.json') && ++stacks === 2) process.kill(process.pid, '${signal}'); return write.call(this, file, ...rest); };\n`,
      );
      const result = runFailing(changedPlan(), outdir, hook);
      expect(result.status).toBe(status);
      expect(result.stdout).not.toContain('Synthesized stack');
      expect(snapshot(outdir)).toEqual(before);
      expect(readdirSync(outdir).sort()).toEqual(['manifest.json', 'stacks']);
    });
  });

  it('stops on an AIRFLOW_KUBELOGIN_MODE not among kubelogin\'s modes, naming the variable, and writes nothing', () => {
    const outdir = join(scratch, 'kubelogin-out');
    const result = runBundle(join(REPO, 'examples', 'three-databases.yaml'), outdir, [], bundle, { AIRFLOW_KUBELOGIN_MODE: ' SPN ' });
    expect(result.stderr).toBe('Invalid AIRFLOW_KUBELOGIN_MODE "SPN": one of azurecli, workloadidentity, spn, msi, azd\nNothing was synthesized.\n');
    expect(result.status).toBe(1);
    expect(() => readdirSync(outdir)).toThrow();
  });

  describe('MIGRATION_DEPLOYER_PRINCIPAL_ID (the stack\'s deployerPrincipalId; was: not settable by npm run synth)', () => {
    const DEPLOYER = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
    /** principal_id of each role assignment named for the deployer, by resource name, in the stack's Terraform. */
    const deployerAssignments = (stack: string) =>
      Object.fromEntries(
        Object.entries(JSON.parse(stack).resource.azurerm_role_assignment as Record<string, { principal_id: string }>)
          .filter(([name]) => name.includes('Deployer'))
          .map(([name, assignment]) => [name, assignment.principal_id]),
      );

    /** The output folder of a synth of `planFile` that succeeded. */
    const runToFolder = (planFile: string, name: string, env: Record<string, string>) => {
      const outdir = join(scratch, name);
      const result = runBundle(planFile, outdir, [], bundle, env);
      expect(result.stderr).not.toMatch(/Invalid|Cannot/);
      expect(result.status).toBe(0);
      return outdir;
    };

    it.each([
      ['three-databases.yaml', 'contoso-sql', 2],
      ['data-factory-host.yaml', 'contoso-adf', 1],
    ])('gives the deployer roles of examples/%s to that object id, its ends trimmed, instead of whoever applies (azurerm_client_config)', (example, stack, roles) => {
      const planFile = join(REPO, 'examples', example);
      const pinned = deployerAssignments(stacksIn(runToFolder(planFile, `deployer-${example}`, { MIGRATION_DEPLOYER_PRINCIPAL_ID: ` ${DEPLOYER}\n` })).get(stack)!);
      expect(Object.values(pinned)).toEqual(Array(roles).fill(DEPLOYER));
      // Unset or blank: the identity running Terraform, as before.
      for (const [name, value] of [['unset', undefined], ['blank', ' ']] as const) {
        const unpinned = deployerAssignments(stacksIn(runToFolder(planFile, `deployer-${name}-${example}`, value === undefined ? {} : { MIGRATION_DEPLOYER_PRINCIPAL_ID: value })).get(stack)!);
        expect(Object.keys(unpinned)).toEqual(Object.keys(pinned));
        expect(Object.values(unpinned)).toEqual(Array(roles).fill(expect.stringMatching(/^\$\{data\.azurerm_client_config\.\w+\.object_id\}$/)));
      }
    });

    it('stops on a value that is not a GUID, naming the variable, and writes nothing', () => {
      const outdir = join(scratch, 'deployer-bad-out');
      const result = runBundle(join(REPO, 'examples', 'three-databases.yaml'), outdir, [], bundle, { MIGRATION_DEPLOYER_PRINCIPAL_ID: 'deploy-sp ' });
      expect(result.stderr).toBe(
        'Invalid MIGRATION_DEPLOYER_PRINCIPAL_ID "deploy-sp": the object id of the identity that applies the stacks, a GUID such as ' +
          "00000000-0000-0000-0000-000000000000 (yours: az ad signed-in-user show --query id -o tsv; a service principal's, not its client id: " +
          'az ad sp show --id <client id> --query id -o tsv)\nNothing was synthesized.\n',
      );
      expect(result.status).toBe(1);
      expect(() => readdirSync(outdir)).toThrow();
    });
  });
});
