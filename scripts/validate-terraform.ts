/**
 * Runs `terraform init -backend=false` and `terraform validate -json` with the real providers:
 * the shared offline mirror (`../shared/terraform-providers`) when it exists, else the public
 * registry with the user's own Terraform CLI configuration.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** One diagnostic of `terraform validate -json`. */
export interface Diagnostic {
  readonly severity: 'error' | 'warning';
  readonly summary: string;
  readonly detail?: string;
  readonly address?: string;
  readonly range?: { readonly filename: string; readonly start: { readonly line: number } };
  readonly snippet?: { readonly context?: string; readonly code?: string };
}

/** What `terraform validate -json` prints. */
export interface ValidateOutput {
  readonly valid: boolean;
  readonly error_count: number;
  readonly warning_count: number;
  readonly diagnostics: readonly Diagnostic[];
}

/** Where providers come from, and the environment that makes Terraform use it. */
export interface ProviderSource {
  /** Printed in the report. */
  readonly description: string;
  readonly env: NodeJS.ProcessEnv;
}

/** `$XDG_CACHE_HOME/azure-db-migration` (or `~/.cache/...`): the mirror, the plugin cache. */
export function cacheFolder(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'azure-db-migration');
}

/**
 * `../shared/terraform-providers` beside the repository; from a git worktree, also beside the main
 * checkout (the worktree's own parent holds no `shared/`).
 */
export function sharedProviderFolders(repoRoot: string): string[] {
  const candidates = [resolve(repoRoot, '..', 'shared', 'terraform-providers')];
  try {
    const commonGitDir = execFileSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    candidates.push(resolve(dirname(commonGitDir), '..', 'shared', 'terraform-providers'));
  } catch {
    // not a git checkout: the first candidate is all there is
  }
  return [...new Set(candidates)];
}

export function providerSource(repoRoot: string, env: NodeJS.ProcessEnv = process.env): ProviderSource {
  const pluginCache = join(cacheFolder(env), 'terraform-plugin-cache');
  mkdirSync(pluginCache, { recursive: true });
  const common = { ...env, TF_PLUGIN_CACHE_DIR: pluginCache, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' };
  const shared = sharedProviderFolders(repoRoot).find((folder) => existsSync(join(folder, 'install.sh')));
  if (shared === undefined) {
    return { description: 'public Terraform registry (no ../shared/terraform-providers)', env: common };
  }
  const config = execFileSync('bash', [join(shared, 'install.sh'), join(cacheFolder(env), 'terraform-provider-mirror')], {
    encoding: 'utf8',
  }).trim();
  return { description: `offline mirror ${shared}`, env: { ...common, TF_CLI_CONFIG_FILE: config } };
}

/** `terraform <args>` in `cwd`; throws with Terraform's own output when it fails to run at all. */
function terraform(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): { status: number; stdout: string; stderr: string } {
  const run = spawnSync('terraform', [...args], { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.error) {
    throw new Error(`cannot run terraform (1.11 or later must be on PATH): ${run.error.message}`);
  }
  return { status: run.status ?? 1, stdout: run.stdout, stderr: run.stderr };
}

export function terraformVersion(env: NodeJS.ProcessEnv): string {
  const version = JSON.parse(terraform(['version', '-json'], process.cwd(), env).stdout) as { terraform_version: string };
  return version.terraform_version;
}

/** `terraform init -backend=false` in a folder holding a `cdk.tf.json`; throws with Terraform's message. */
export function initialize(folder: string, env: NodeJS.ProcessEnv): void {
  const init = terraform(['init', '-backend=false', '-input=false', '-no-color'], folder, env);
  if (init.status !== 0) {
    throw new Error(`terraform init failed in ${folder}:\n${init.stderr || init.stdout}`);
  }
}

/** Provider versions the folder's lock file selected, e.g. `azurerm 4.55.0`. */
export function selectedProviders(folder: string, env: NodeJS.ProcessEnv): string[] {
  const version = JSON.parse(terraform(['version', '-json'], folder, env).stdout) as {
    provider_selections?: Record<string, string>;
  };
  return Object.entries(version.provider_selections ?? {})
    .map(([address, selected]) => `${address.split('/').pop()} ${selected}`)
    .sort();
}

export function validate(folder: string, env: NodeJS.ProcessEnv): ValidateOutput {
  const run = terraform(['validate', '-json', '-no-color'], folder, env);
  try {
    return JSON.parse(run.stdout) as ValidateOutput;
  } catch {
    throw new Error(`terraform validate printed no JSON (exit ${run.status}):\n${run.stderr || run.stdout}`);
  }
}

/** A diagnostic as a reader wants it: what, where, the offending line. */
export function describeDiagnostic(diagnostic: Diagnostic): string {
  const where = diagnostic.address ?? diagnostic.snippet?.context ?? diagnostic.range?.filename ?? '';
  const lines = [`${diagnostic.severity}: ${diagnostic.summary}${where ? ` (${where})` : ''}`];
  if (diagnostic.detail) lines.push(...diagnostic.detail.trim().split('\n'));
  if (diagnostic.snippet?.code && diagnostic.range) lines.push(`line ${diagnostic.range.start.line}: ${diagnostic.snippet.code.trim()}`);
  return lines.join('\n');
}

/** One resource type's `tags` attribute in a provider schema: its Terraform type, e.g. `["map","string"]`. */
export type TagsAttributeType = readonly [string, string] | null;

/**
 * `terraform providers schema -json` in an initialized folder: each resource type of every provider
 * the folder requires, with the type of its `tags` attribute (null: it has none).
 */
export function resourceTagsAttributes(folder: string, env: NodeJS.ProcessEnv): Map<string, TagsAttributeType> {
  const run = terraform(['providers', 'schema', '-json'], folder, env);
  if (run.status !== 0) throw new Error(`terraform providers schema failed in ${folder}:\n${run.stderr || run.stdout}`);
  const schemas = JSON.parse(run.stdout) as {
    provider_schemas: Record<string, { resource_schemas?: Record<string, { block: { attributes?: Record<string, { type?: [string, string] }> } }> }>;
  };
  const types = new Map<string, TagsAttributeType>();
  for (const provider of Object.values(schemas.provider_schemas)) {
    for (const [type, schema] of Object.entries(provider.resource_schemas ?? {})) {
      types.set(type, schema.block.attributes?.tags?.type ?? null);
    }
  }
  return types;
}
