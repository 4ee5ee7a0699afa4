import { chmodSync, existsSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';

/**
 * Writes `text` to `file` whole or not at all: into a file beside it, renamed over it once written (a
 * full disk cut the README short). A link is followed; an existing file keeps its permissions.
 */
export function replaceFile(file: string, text: string): void {
  const target = existsSync(file) ? realpathSync(file) : file;
  const temporary = `${target}.writing-${process.pid}`;
  try {
    writeFileSync(temporary, text);
    // Set after writing: the umask would take bits from a mode given to the write (a group-writable README).
    if (existsSync(target)) chmodSync(temporary, statSync(target).mode & 0o7777);
    renameSync(temporary, target);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
