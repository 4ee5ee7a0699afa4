import { accessSync, constants, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The context key that names the output folder to an app synthesizing into a staging folder: the
 * constructs that name paths in or from the output folder (a local state's path, its warnings) read
 * it instead of the app's `outdir`.
 */
export const OUTPUT_FOLDER_CONTEXT = '@platform/azure-db-migration:outputFolder';

/** Prefix of the staging folder inside the output folder (hidden, and ignored with the folder by .gitignore). */
export const STAGING_PREFIX = '.synth-';

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
    try {
      return new StagedOutput(outputFolder, mkdtempSync(join(outputFolder, STAGING_PREFIX)), made);
    } catch (error) {
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
