/**
 * `npm run rehearse` with a bad plan stops after the build, before Airflow, reported as the synth
 * reports it. In the slow suite: it builds the library and the app (`npm run build`), as the
 * app-bundle test does.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = join(__dirname, '..', '..', 'scripts', 'rehearse.sh');
const rehearse = (...args: string[]) => spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8' });
/** As `npm --prefix <repository> run rehearse -- <plan>` typed in `folder`: npm runs it in the repository, INIT_CWD names `folder`. */
const rehearseFrom = (folder: string, ...args: string[]) =>
  spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', cwd: join(__dirname, '..', '..'), env: { ...process.env, INIT_CWD: folder } });

describe('npm run rehearse with a bad plan', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'rehearse-plan-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('prints the header and footer the synth prints around the problem lines, and no stack trace', () => {
    const plan = join(scratch, 'bad.yaml');
    const example = readFileSync(join(__dirname, '..', '..', 'examples', 'three-databases.yaml'), 'utf8');
    writeFileSync(plan, example.replace(/emails:\n(\s+)- \S+/, 'emails:\n$1- not-an-email'));
    const result = rehearse(plan);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      new RegExp(`^Invalid migration plan ${plan} \\(1 problem\\):\n${plan}:\\d+:\\d+ notifications\\.emails\\[0\\]: must be an email address[^\n]*\nNothing was rehearsed\\.\n$`),
    );
  }, 120_000);

  it('reads MIGRATION_PLAN as npm run synth does, its ends trimmed (was: "file not found" for a trailing line break)', () => {
    const plan = join(scratch, 'bad-by-variable.yaml');
    const example = readFileSync(join(__dirname, '..', '..', 'examples', 'three-databases.yaml'), 'utf8');
    writeFileSync(plan, example.replace(/emails:\n(\s+)- \S+/, 'emails:\n$1- not-an-email'));
    const result = spawnSync('bash', [SCRIPT], { encoding: 'utf8', env: { ...process.env, MIGRATION_PLAN: ` ${plan}\n` } });
    expect(result.stderr).toMatch(new RegExp(`^Invalid migration plan ${plan} \\(1 problem\\):\n${plan}:\\d+:\\d+ notifications\\.emails\\[0\\]`));
    expect(result.status).toBe(2);
  }, 120_000);

  it("reads a relative plan path (argument or MIGRATION_PLAN) from the caller's folder, not the repository's (a plan of an app, rehearsed with a clone)", () => {
    const example = readFileSync(join(__dirname, '..', '..', 'examples', 'three-databases.yaml'), 'utf8');
    mkdirSync(join(scratch, 'plans'), { recursive: true });
    writeFileSync(join(scratch, 'plans', 'q3.yaml'), example.replace(/emails:\n(\s+)- \S+/, 'emails:\n$1- not-an-email'));
    const plan = join(scratch, 'plans', 'q3.yaml');
    // Run directly (bash scripts/rehearse.sh) from the app's folder: its working directory counts.
    const { INIT_CWD: _npmCaller, ...withoutInitCwd } = process.env;
    // MIGRATION_PLAN=plans/q3.yaml npm run rehearse typed there too: the same file, as npm run synth reads it.
    const byVariable = spawnSync('bash', [SCRIPT], { encoding: 'utf8', cwd: join(__dirname, '..', '..'), env: { ...process.env, INIT_CWD: scratch, MIGRATION_PLAN: 'plans/q3.yaml' } });
    for (const result of [rehearseFrom(scratch, 'plans/q3.yaml'), spawnSync('bash', [SCRIPT, 'plans/q3.yaml'], { encoding: 'utf8', cwd: scratch, env: withoutInitCwd }), byVariable]) {
      expect(result.stderr).toMatch(new RegExp(`^Invalid migration plan ${plan} \\(1 problem\\):\n${plan}:\\d+:\\d+ notifications\\.emails\\[0\\]`));
      expect(result.status).toBe(2);
    }
  }, 120_000);
});
