/**
 * `npm run rehearse` (scripts/rehearse.sh) reads its options before it builds or starts Airflow: an
 * option without its value stops there with a message naming the option and the usage, not bash's
 * "$2: unbound variable". (A bad plan, which it reads after the build: __tests__/package/rehearse-bad-plan.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const SCRIPT = join(__dirname, '..', '..', 'scripts', 'rehearse.sh');
const rehearse = (...args: string[]) => spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8' });

describe('npm run rehearse options', () => {
  it.each([['--world'], ['--summary'], ['--world', ''], ['--summary', '']])('refuses %j without its value, naming it', (...args) => {
    const result = rehearse(...args);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`${args[0]} needs a value (use --world DIR, --summary FILE)\n`);
  });

  it('refuses an unknown option, with the usage', () => {
    const result = rehearse('--bogus');
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('unknown option --bogus (use --world DIR, --summary FILE)\n');
  });
});
