/**
 * scripts/scratch-lib.sh's left_in: what npm test's summary says a step left in its temporary folder (its TMPDIR),
 * which fails the run ("temporary files: FAIL: <step> left ..."). scripts/test-all.sh gives each step that folder.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporaryFolder } from '../helpers/temporary-folder';

const REPO = join(__dirname, '..', '..');

const leftIn = (folder: string): string =>
  execFileSync('bash', ['-c', 'source scripts/scratch-lib.sh && left_in "$1"', 'left_in', folder], { cwd: REPO, encoding: 'utf8' }).trim();

describe('what a step left in its temporary folder', () => {
  it('is nothing for an empty folder, and for the empty pytest-of-<user> a passing DAG test run leaves', () => {
    const folder = temporaryFolder('adm-left-in-test-');
    expect(leftIn(folder)).toBe('');
    mkdirSync(join(folder, 'pytest-of-root'));
    expect(leftIn(folder)).toBe('');
  });

  it('counts every file and folder, and each name with its random part as *, the most common first', () => {
    const folder = temporaryFolder('adm-left-in-test-');
    for (const name of ['cdktf.outdir.AbC123', 'cdktf.outdir.xYz789', 'cdktf.outdir.q1w2e3', 'fabric-airflow-Zz9Yy8']) mkdirSync(join(folder, name));
    writeFileSync(join(folder, 'uv-setuptools-131d028076164bd9.lock'), '');
    mkdirSync(join(folder, 'pytest-of-root', 'pytest-0'), { recursive: true });
    expect(leftIn(folder)).toBe('6 (3 cdktf.outdir.*, 1 fabric-airflow-*, 1 pytest-of-root, 1 uv-setuptools-*.lock)');
  });

  it('names the five most common', () => {
    const folder = temporaryFolder('adm-left-in-test-');
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) mkdirSync(join(folder, `${name}-AbC123`));
    expect(leftIn(folder)).toBe('6 (1 a-*, 1 b-*, 1 c-*, 1 d-*, 1 e-*)');
  });
});

describe("npm test's summary", () => {
  it("counts each step's folder with left_in, and exits non-zero on what a passing step left", () => {
    const script = readFileSync(join(REPO, 'scripts', 'test-all.sh'), 'utf8');
    expect(script).toContain('left="$(left_in "$folder")"');
    expect(script).toContain('[[ ${#failed[@]} -eq 0 && ${#left_behind[@]} -eq 0 ]]');
  });
});
