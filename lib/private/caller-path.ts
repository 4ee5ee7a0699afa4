/**
 * Paths a person types (`MIGRATION_PLAN`, a script's arguments) are read from the folder the command was
 * typed in, by every command of the repository (`npm run synth`, `npm run diagram`, and
 * scripts/rehearse.sh, which does the same in bash): `INIT_CWD`, which npm sets to that folder while it
 * runs the script in the package's folder (`MIGRATION_PLAN=plans/q3.yaml npm run synth` typed in
 * dags/, `npm --prefix <clone> run rehearse -- plans/q3.yaml` typed in an app's folder), else the
 * process's working directory. An absolute path is taken as it is.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

/** `path` as the caller meant it: relative to `INIT_CWD` (npm's), else to `cwd`; as typed where that is `cwd`, so messages name it so. */
export function fromCaller(path: string, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  if (isAbsolute(path)) return path;
  const caller = env.INIT_CWD || cwd;
  return sameFolder(caller, cwd) ? path : resolve(cwd, caller, path);
}

/**
 * `MIGRATION_PLAN` as every command reads it: its ends trimmed (a CI variable's trailing space or line
 * break), blank as unset (undefined), a relative path from the caller's folder ({@link fromCaller}).
 */
export function planFileFromEnvironment(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string | undefined {
  const value = env.MIGRATION_PLAN?.trim();
  return value ? fromCaller(value, env, cwd) : undefined;
}

/** Whether two paths are one folder (a link or `..` resolved), as bash's `-ef`; compared as written where one cannot be read. */
function sameFolder(first: string, second: string): boolean {
  const real = (path: string) => {
    try {
      return realpathSync(path);
    } catch {
      return resolve(path);
    }
  };
  return real(first) === real(second);
}
