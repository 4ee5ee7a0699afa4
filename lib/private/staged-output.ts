import { accessSync, constants, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * The context key that names the output folder to an app synthesizing into a staging folder: the
 * constructs that name paths in or from the output folder (a local state's path, its warnings) read
 * it instead of the app's `outdir`.
 */
export const OUTPUT_FOLDER_CONTEXT = '@platform/azure-db-migration:outputFolder';

/** Prefix of the staging folder inside the output folder (hidden, and ignored with the folder by .gitignore). */
export const STAGING_PREFIX = '.synth-';

/** The file in the staging folder naming the process that synthesizes into it; never published. */
export const STAGING_OWNER_FILE = '.synth-owner.json';

/**
 * Age after which a staging folder goes even if a process of its pid runs: the pid may have been
 * reused by another process after the synth was killed. A synth of 1,000 databases takes seconds.
 */
export const STALE_STAGING_AGE_MS = 24 * 60 * 60 * 1000;

/** What the owner file holds. */
interface StagingOwner {
  readonly pid: number;
  readonly host: string;
  readonly createdAt: number;
  /** Linux's pid namespace of the process (`pid:[4026531836]`): a container sharing the host name (`--uts=host`, a host-network pod) has pids of its own. */
  readonly pidNamespace?: string;
}

/**
 * A synth that writes nothing unless it completes: cdktf's `app.synth()` writes the stacks one after
 * another, so a synth stopped part way (a validation of the second stack, a disk full) left the first
 * stack new beside the second one old. The app synthesizes into a staging folder inside the output
 * folder (the same file system, so the files move by rename; through a link to another file system they are copied) and moves what it wrote into the output
 * folder once the synth completed; on failure the staging folder goes, and the output folder is as it
 * was. Moving merges, as cdktf's own writes do: what the output folder holds besides (Terraform's
 * .terraform and lock file, a state kept in a stack's folder, other plans' stacks) stays.
 */
export class StagedOutput {
  /** Makes the staging folder (and the output folder, when missing: it goes again on `discard`). */
  public static begin(outputFolder: string): StagedOutput {
    const made = !existsSync(outputFolder);
    if (made) mkdirSync(outputFolder);
    else removeStaleStagingFolders(outputFolder);
    let staging: string | undefined;
    try {
      staging = mkdtempSync(join(outputFolder, STAGING_PREFIX));
      const owner: StagingOwner = { pid: process.pid, host: hostname(), createdAt: Date.now(), pidNamespace: pidNamespace() };
      writeFileSync(join(staging, STAGING_OWNER_FILE), `${JSON.stringify(owner)}\n`);
      return new StagedOutput(outputFolder, staging, made);
    } catch (error) {
      if (staging !== undefined) rmSync(staging, { recursive: true, force: true });
      if (made) rmdirSync(outputFolder);
      throw error;
    }
  }

  private constructor(
    public readonly outputFolder: string,
    public readonly staging: string,
    private readonly madeOutputFolder: boolean,
  ) {}

  /** Removes the staging folder, and the output folder if `begin` made it and it is still empty. */
  public discard(): void {
    rmSync(this.staging, { recursive: true, force: true });
    if (this.madeOutputFolder && existsSync(this.outputFolder) && readdirSync(this.outputFolder).length === 0) rmdirSync(this.outputFolder);
  }

  /**
   * Moves what the synth wrote into the output folder, then removes the staging folder. Every move
   * is checked first (a file where a folder goes, a folder it may not write): an obstacle throws
   * {@link OutputObstacle} before anything moved. A move failing after the checks passed (another
   * process in between) throws Node's error, with part of the synth moved.
   */
  public publish(): void {
    const trash = join(this.staging, '.replaced');
    const moves = this.moves(this.staging, this.outputFolder, '');
    const stagingDevice = statSync(this.staging).dev;
    for (const [index, move] of moves.entries()) {
      if (statSync(dirname(move.to)).dev !== stagingDevice) {
        // A link in the output folder to another file system (stacks/ on a volume), which cdktf wrote through: no rename crosses it.
        if (move.replacing) rmSync(move.to, { recursive: true });
        cpSync(move.from, move.to, { recursive: true });
        continue;
      }
      if (move.replacing) {
        mkdirSync(trash, { recursive: true });
        renameSync(move.to, join(trash, String(index)));
      }
      renameSync(move.from, move.to);
    }
    this.discard();
  }

  /** What publishing moves, checked: folders the output folder lacks move whole, files one by one. */
  private moves(from: string, to: string, path: string): Move[] {
    canWrite(to);
    const moves: Move[] = [];
    for (const entry of readdirSync(from, { withFileTypes: true })) {
      if (path === '' && entry.name === STAGING_OWNER_FILE) continue;
      const source = join(from, entry.name);
      const target = join(to, entry.name);
      const targetPath = path === '' ? entry.name : `${path}/${entry.name}`;
      const existing = statIfAny(target);
      if (entry.isDirectory()) {
        if (existing === undefined) {
          moves.push({ from: source, to: target, replacing: false });
        } else if (!existing.isDirectory()) {
          throw new OutputObstacle(`${target} is a file where the synth writes a folder`);
        } else if (isAssetFolder(targetPath)) {
          canWrite(target);
          moves.push({ from: source, to: target, replacing: true });
        } else {
          moves.push(...this.moves(source, target, targetPath));
        }
      } else if (existing?.isDirectory()) {
        throw new OutputObstacle(`${target} is a folder where the synth writes a file`);
      } else {
        moves.push({ from: source, to: target, replacing: false });
      }
    }
    return moves;
  }
}

interface Move {
  readonly from: string;
  readonly to: string;
  /** The target is a folder the synth writes whole: the old one goes (as cdktf removes an asset's earlier versions). */
  readonly replacing: boolean;
}

/** Something in the output folder that publishing cannot write over; nothing was moved. */
export class OutputObstacle extends Error {}

/** `stacks/<stack>/assets/<asset>`: cdktf removes an asset's folder before it writes its new version. */
function isAssetFolder(path: string): boolean {
  return /^stacks\/[^/]+\/assets\/[^/]+$/.test(path);
}

/**
 * Removes the staging folders a synth killed part way left behind (SIGKILL, a power cut: no exit
 * handler ran): only folders named as this code names them, holding its owner file, whose process
 * is gone (or runs on another host, or is older than {@link STALE_STAGING_AGE_MS}). A folder without the owner
 * file is one a version of this library before the owner file left, one whose synth has only just begun
 * (between making it and writing the file), or someone else's of that name: it goes only as
 * {@link removeOwnerlessLeftover} allows (older than {@link STALE_STAGING_AGE_MS}, made as `mkdtemp` makes
 * it, holding only what a synth writes), and the rest of the output folder stays. A folder that cannot
 * be removed stays too: it never stops a synth.
 */
export function removeStaleStagingFolders(outputFolder: string, now = Date.now()): void {
  let names: string[];
  try {
    names = readdirSync(outputFolder);
  } catch {
    return;
  }
  for (const name of names) {
    if (!/^\.synth-[A-Za-z0-9]{6}$/.test(name)) continue;
    const folder = join(outputFolder, name);
    try {
      if (!lstatSync(folder).isDirectory()) continue;
      const owner = readOwner(join(folder, STAGING_OWNER_FILE));
      if (owner === undefined) removeOwnerlessLeftover(folder, now);
      else if (isStale(owner, now)) rmSync(folder, { recursive: true, force: true });
    } catch {
      // Another synth removed it first, or it is another user's: leave it.
    }
  }
}

/** What a synth writes into the staging folder (cdktf's App and TerraformAsset): an entry's name, and whether it is a folder. */
const SYNTH_TOP: ReadonlyMap<string, boolean> = new Map([
  ['manifest.json', false],
  ['stacks', true],
]);
/** In `stacks/<stack>/`: the stack (`cdk.tf.json`, or `cdk.tf` and `metadata.json` with HCL output) and its assets. */
const SYNTH_STACK: ReadonlyMap<string, boolean> = new Map([
  ['cdk.tf.json', false],
  ['cdk.tf', false],
  ['metadata.json', false],
  ['assets', true],
]);

/**
 * Removes a staging folder without an owner file only when all of these hold: it is made as
 * `mkdtemp` makes it (owner-only permissions, 0700: a folder a user makes or copies has the umask's,
 * 0755 or 0775; Windows has no such mode, and its folders stay); nothing in it changed for
 * {@link STALE_STAGING_AGE_MS} (a synth that has just made it wrote moments ago); and it holds only
 * what a synth writes: `manifest.json`, `stacks/<stack>/` with `cdk.tf.json` (`cdk.tf`, `metadata.json`)
 * and `assets/` of plain files and folders. A link, a `.replaced` folder (the output folder's own earlier
 * assets, moved aside while publishing) or any other entry keeps it whole. What it removes is what it
 * checked, file by file, then each folder only once empty: something written in between stays, and so
 * does its folder.
 */
function removeOwnerlessLeftover(folder: string, now: number): void {
  const stat = lstatSync(folder);
  if ((stat.mode & 0o777) !== 0o700 || !isOld(stat, now)) return;
  const checked = synthWritten(folder, 'top', now);
  if (checked === undefined) return;
  for (const entry of checked) {
    if (entry.folder) rmdirSync(entry.path);
    else unlinkSync(entry.path);
  }
  rmdirSync(folder);
}

/** What `folder` holds, deepest first, if every entry is one a synth writes there and is old; undefined otherwise. */
function synthWritten(folder: string, level: 'top' | 'stacks' | 'stack' | 'asset', now: number): { path: string; folder: boolean }[] | undefined {
  const entries: { path: string; folder: boolean }[] = [];
  for (const name of readdirSync(folder)) {
    const path = join(folder, name);
    const stat = lstatSync(path);
    const isFolder = stat.isDirectory();
    if ((!isFolder && !stat.isFile()) || !isOld(stat, now)) return undefined;
    const expected = level === 'top' ? SYNTH_TOP.get(name) : level === 'stack' ? SYNTH_STACK.get(name) : level === 'stacks' ? true : isFolder;
    if (expected !== isFolder) return undefined;
    if (isFolder) {
      const inner = synthWritten(path, level === 'top' ? 'stacks' : level === 'stacks' ? 'stack' : 'asset', now);
      if (inner === undefined) return undefined;
      entries.push(...inner);
    }
    entries.push({ path, folder: isFolder });
  }
  return entries;
}

function isOld(stat: { readonly mtimeMs: number }, now: number): boolean {
  return now - stat.mtimeMs > STALE_STAGING_AGE_MS;
}

/** The owner file's content; undefined without one. An owner file cut short (killed while writing it) counts by its age alone. */
function readOwner(file: string): StagingOwner | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const { pid, host, createdAt, pidNamespace: namespace } = JSON.parse(text) as Partial<StagingOwner>;
    if (Number.isInteger(pid) && typeof host === 'string' && Number.isFinite(createdAt)) {
      return { pid: pid!, host, createdAt: createdAt!, pidNamespace: typeof namespace === 'string' ? namespace : undefined };
    }
  } catch {
    // Cut short.
  }
  return { pid: 0, host: '', createdAt: statSync(file).mtimeMs };
}

function isStale(owner: StagingOwner, now: number): boolean {
  if (now - owner.createdAt > STALE_STAGING_AGE_MS) return true;
  // Another host's process (an output folder on a shared volume) cannot be looked up: its folder goes by age only.
  if (owner.host !== hostname() || owner.pid <= 0) return false;
  // Nor can a process of another pid namespace (another container of the same host name): its pid means nothing here.
  if (owner.pidNamespace !== undefined && owner.pidNamespace !== pidNamespace()) return false;
  if (owner.pid === process.pid) return false;
  return !isRunning(owner.pid);
}

/** This process's pid namespace on Linux; undefined where there is none to read. */
function pidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}

/** Signal 0 checks the process exists; EPERM says it runs as another user. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function statIfAny(path: string) {
  try {
    return statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Throws Node's error (EACCES: permission denied, access '<folder>') for a folder the app may not write. */
function canWrite(folder: string): void {
  accessSync(folder, constants.W_OK);
}
