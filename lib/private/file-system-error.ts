/** Node's error for a file or folder that could not be written (ENOSPC, EACCES: it names the path and the call), not a bug. */
export function isFileSystemError(error: unknown): error is NodeJS.ErrnoException & Error {
  const { code, syscall } = (error ?? {}) as NodeJS.ErrnoException;
  return error instanceof Error && typeof code === 'string' && typeof syscall === 'string';
}
