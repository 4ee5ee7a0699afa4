/**
 * `npm run rehearse` with a bad plan stops after the build, before Airflow, reported as the synth
 * reports it. In the slow suite: it builds the library and the app (`npm run build`), as the
 * app-bundle test does. The first test runs the real build; the others, which read the plan from
 * other places, run rehearse.sh with an `npm` on PATH that records the build it is asked for (from
 * the repository's folder, before the plan is read) and does nothing: the build, current after the
 * first test, is a no-op of 3-4 s of CPU that four more runs did again.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPO = join(__dirname, '..', '..');
const SCRIPT = join(REPO, 'scripts', 'rehearse.sh');
const rehearse = (...args: string[]) => spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8' });

describe('npm run rehearse with a bad plan', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'rehearse-plan-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  let built = false;

  it('prints the header and footer the synth prints around the problem lines, and no stack trace', () => {
    const plan = join(scratch, 'bad.yaml');
    const example = readFileSync(join(REPO, 'examples', 'three-databases.yaml'), 'utf8');
    writeFileSync(plan, example.replace(/emails:\n(\s+)- \S+/, 'emails:\n$1- not-an-email'));
    const result = rehearse(plan);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      new RegExp(`^Invalid migration plan ${plan} \\(1 problem\\):\n${plan}:\\d+:\\d+ notifications\\.emails\\[0\\]: must be an email address[^\n]*\nNothing was rehearsed\\.\n$`),
    );
    built = true;
  }, 120_000);

  describe('with the library built (an npm on PATH records the build rehearse.sh asks for)', () => {
    const bin = join(scratch, 'bin');
    const builds = join(scratch, 'npm-calls.txt');
    /** The environment with the recording npm first on PATH. */
    const withNpm = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ ...env, PATH: `${bin}:${env.PATH ?? ''}` });
    /** Runs rehearse.sh and checks it asked for the build, once, from the repository's folder. */
    const rehearseBuilt = (args: string[], options: { cwd?: string; env: NodeJS.ProcessEnv }) => {
      rmSync(builds, { force: true });
      const result = spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', cwd: options.cwd, env: withNpm(options.env) });
      expect(existsSync(builds) ? readFileSync(builds, 'utf8') : 'no npm call').toBe(`${REPO}\trun --silent build\n`);
      return result;
    };
    /** As `npm --prefix <repository> run rehearse -- <plan>` typed in `folder`: npm runs it in the repository, INIT_CWD names `folder`. */
    const rehearseFrom = (folder: string, ...args: string[]) => rehearseBuilt(args, { cwd: REPO, env: { ...process.env, INIT_CWD: folder } });

    beforeAll(() => {
      mkdirSync(bin);
      writeFileSync(join(bin, 'npm'), `#!/usr/bin/env bash\nprintf '%s\\t%s\\n' "$PWD" "$*" >> '${builds}'\n`);
      chmodSync(join(bin, 'npm'), 0o755);
      // Run alone (-t), the build the first test ran.
      if (!built) expect(spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO, encoding: 'utf8' }).status).toBe(0);
    }, 120_000);

    it('reads MIGRATION_PLAN as npm run synth does, its ends trimmed (was: "file not found" for a trailing line break)', () => {
      const plan = join(scratch, 'bad-by-variable.yaml');
      const example = readFileSync(join(REPO, 'examples', 'three-databases.yaml'), 'utf8');
      writeFileSync(plan, example.replace(/emails:\n(\s+)- \S+/, 'emails:\n$1- not-an-email'));
      const result = rehearseBuilt([], { env: { ...process.env, MIGRATION_PLAN: ` ${plan}\n` } });
      expect(result.stderr).toMatch(new RegExp(`^Invalid migration plan ${plan} \\(1 problem\\):\n${plan}:\\d+:\\d+ notifications\\.emails\\[0\\]`));
      expect(result.status).toBe(2);
    }, 120_000);

    it("reads a relative plan path (argument or MIGRATION_PLAN) from the caller's folder, not the repository's (a plan of an app, rehearsed with a clone)", () => {
      const example = readFileSync(join(REPO, 'examples', 'three-databases.yaml'), 'utf8');
      mkdirSync(join(scratch, 'plans'), { recursive: true });
      writeFileSync(join(scratch, 'plans', 'q3.yaml'), example.replace(/emails:\n(\s+)- \S+/, 'emails:\n$1- not-an-email'));
      const plan = join(scratch, 'plans', 'q3.yaml');
      // Run directly (bash scripts/rehearse.sh) from the app's folder: its working directory counts.
      const { INIT_CWD: _npmCaller, ...withoutInitCwd } = process.env;
      // MIGRATION_PLAN=plans/q3.yaml npm run rehearse typed there too: the same file, as npm run synth reads it.
      const byVariable = rehearseBuilt([], { cwd: REPO, env: { ...process.env, INIT_CWD: scratch, MIGRATION_PLAN: 'plans/q3.yaml' } });
      for (const result of [rehearseFrom(scratch, 'plans/q3.yaml'), rehearseBuilt(['plans/q3.yaml'], { cwd: scratch, env: withoutInitCwd }), byVariable]) {
        expect(result.stderr).toMatch(new RegExp(`^Invalid migration plan ${plan} \\(1 problem\\):\n${plan}:\\d+:\\d+ notifications\\.emails\\[0\\]`));
        expect(result.status).toBe(2);
      }
    }, 120_000);
  });
});
