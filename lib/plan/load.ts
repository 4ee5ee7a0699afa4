/** Reads a plan file (YAML or JSON, by extension) and validates it. */
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { extname, isAbsolute, resolve } from 'node:path';
import { errorMessage, MigrationPlanError } from './errors';
import { validatePlan } from './parse';
import { readJson, readYaml, withLineFeeds } from './source-text';
import type { MigrationPlan } from './types';

const READERS = new Map([['.yaml', readYaml], ['.yml', readYaml], ['.json', readJson]]);

/** Plans are a few hundred kilobytes at most; refuse to read something that is clearly not one. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

const READ_ERRORS = new Map([
  ['ENOENT', 'file not found'],
  ['EACCES', 'cannot read file: permission denied'],
  ['EPERM', 'cannot read file: permission denied'],
  ['ENOTDIR', 'file not found (a parent is not a directory)'],
  ['ELOOP', 'cannot read file: its symbolic links lead round in a loop'],
]);

/**
 * Reads and validates a migration plan: YAML for `.yaml`/`.yml`, JSON for `.json`. JSON reads
 * much faster (milliseconds against a few hundred for a 1,000-database plan): prefer it for very
 * large plans.
 *
 * @throws MigrationPlanError naming the file and listing every problem with its line
 */
export function loadMigrationPlan(path: string): MigrationPlan {
  // Plain JavaScript may call it with no path: Node's TypeError would come from inside `extname`.
  if (typeof path !== 'string')
    throw new TypeError(`loadMigrationPlan needs the plan file's path, such as 'plan.yaml' (got ${path === null ? 'null' : typeof path})`);
  const extension = extname(path).toLowerCase();
  const read = READERS.get(extension);
  if (read === undefined) {
    // A folder (MIGRATION_PLAN=plans) is named as one, and a name typed without its extension (plans/q3) with the file it likely meant.
    if (isDirectory(path)) fail(path, 'is a directory, not a plan file');
    const found = extension === '' ? 'no extension' : `extension "${extension}"`;
    const meant = [...READERS.keys()].map((known) => `${path}${known}`).find(isFile);
    fail(path, `unsupported plan file (${found}): use .yaml, .yml or .json${meant === undefined ? '' : ` (did you mean ${meant}?)`}`);
  }
  const source = read(readPlanText(path));
  if (!source.ok) throw new MigrationPlanError(path, source.problems);
  return validatePlan(source.value, path, source.locate, source.problems);
}

/** What `path` is, or undefined where it cannot be read (missing, a parent that is a file, no permission, a link loop). */
function kindOf(path: string): 'directory' | 'file' | undefined {
  try {
    const stats = statSync(path);
    return stats.isDirectory() ? 'directory' : stats.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}
const isDirectory = (path: string): boolean => kindOf(path) === 'directory';
const isFile = (path: string): boolean => kindOf(path) === 'file';

function readPlanText(path: string): string {
  try {
    const stats = statSync(path);
    if (stats.isDirectory()) fail(path, 'is a directory, not a plan file');
    if (stats.size > MAX_FILE_BYTES)
      fail(path, `file is ${stats.size} bytes; a plan must be at most ${MAX_FILE_BYTES}`);
    return decodeUtf8(path, stats.isFile() ? readFileSync(path) : readAtMostLimit(path));
  } catch (error) {
    if (error instanceof MigrationPlanError) throw error;
    const code = String((error as NodeJS.ErrnoException | undefined)?.code);
    const reason = READ_ERRORS.get(code);
    // A relative path is read from the working directory (the app resolves MIGRATION_PLAN from where it was typed first).
    const where = code === 'ENOENT' && !isAbsolute(path) ? ` (looked for ${resolve(path)})` : '';
    fail(path, reason === undefined ? `cannot read file: ${errorMessage(error)}` : `${reason}${where}`);
  }
}

/** A device or pipe (its size reads 0): what it gives, refused past the limit (`/dev/zero` never ends). */
function readAtMostLimit(path: string): Buffer {
  const descriptor = openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (let read = -1; read !== 0; total += read) {
      const chunk = Buffer.alloc(Math.min(1 << 20, MAX_FILE_BYTES + 1 - total));
      read = readSync(descriptor, chunk, 0, chunk.length, null);
      chunks.push(chunk.subarray(0, read));
      if (total + read > MAX_FILE_BYTES)
        fail(path, `is not a regular file and gave more than ${MAX_FILE_BYTES} bytes; a plan must be at most ${MAX_FILE_BYTES}`);
    }
    return Buffer.concat(chunks);
  } finally {
    closeSync(descriptor);
  }
}

/** Byte order marks of encodings people save plans in by mistake (PowerShell 5.1's `>` writes UTF-16). */
const OTHER_ENCODINGS: readonly (readonly [string, readonly number[]])[] = [
  ['UTF-32', [0xff, 0xfe, 0x00, 0x00]],
  ['UTF-32', [0x00, 0x00, 0xfe, 0xff]],
  ['UTF-16', [0xff, 0xfe]],
  ['UTF-16', [0xfe, 0xff]],
];

/**
 * The text of a UTF-8 plan. Node's 'utf8' reading would turn bytes of another encoding into
 * U+FFFD without a word, and a database name such as `Salés` in Latin-1 would reach the stack and
 * the DAG as `Sal\uFFFDs`.
 */
function decodeUtf8(path: string, bytes: Buffer): string {
  const other = OTHER_ENCODINGS.find(([, mark]) => mark.every((byte, index) => bytes[index] === byte));
  if (other !== undefined) fail(path, `is ${other[0]}-encoded: save the plan as UTF-8`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const text = new TextDecoder('utf-8').decode(bytes);
    const lines = withLineFeeds(text.slice(0, text.indexOf('\uFFFD'))).split('\n');
    throw new MigrationPlanError(path, [
      {
        path: '',
        message: 'not valid UTF-8 (another encoding, such as Latin-1 or Windows-1252?): save the plan as UTF-8',
        line: lines.length,
        column: [...lines[lines.length - 1]].length + 1,
      },
    ]);
  }
}

function fail(file: string, message: string): never {
  throw new MigrationPlanError(file, [{ path: '', message }]);
}
