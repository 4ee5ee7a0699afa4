import { existsSync } from 'fs';
import * as path from 'path';
import { App, AzurermBackend, CloudBackend, LocalBackend, NamedCloudWorkspace, TerraformStack } from 'cdktf';
import { StateBackend } from '../state-backend';
import { OUTPUT_FOLDER_CONTEXT } from './staged-output';
import { warn as warnWithId } from '../core/warnings';

/** Configures the stack's backend. */
export function applyStateBackend(stack: TerraformStack, backend: StateBackend): void {
  const stackName = stack.node.id;
  switch (backend.type) {
    case 'local':
      refuseLocalWorkspace(stack);
      new LocalBackend(stack, { path: localStatePath(stack, backend.path, true) });
      return;
    case 'terraformCloud':
      refuseOtherCloudWorkspace(stack, backend.workspace);
      new CloudBackend(stack, {
        organization: backend.organization,
        workspaces: new NamedCloudWorkspace(backend.workspace),
        hostname: backend.hostname,
      });
      return;
    case 'azurerm':
      new AzurermBackend(stack, {
        resourceGroupName: backend.resourceGroupName,
        storageAccountName: backend.storageAccountName,
        containerName: backend.containerName,
        key: backend.key ?? `${stackName}.tfstate`,
        useAzureadAuth: true,
      });
      return;
  }
}

/**
 * Terraform (1.11.4, tried) keeps the state of a workspace other than `default` in
 * `terraform.tfstate.d/<workspace>/` of the folder it runs in, whatever the local backend's path:
 * here the stack's folder, in the build output the cdktf CLI deletes.
 */
function refuseLocalWorkspace(stack: TerraformStack): void {
  const selected = process.env.TF_WORKSPACE?.trim();
  if (!selected || selected === 'default') return;
  throw new Error(
    `${stack.node.id}: TF_WORKSPACE is "${selected}", so Terraform would keep this stack's local state in ` +
      `terraform.tfstate.d/${selected}/ of its folder (cdktf.out/stacks/${stack.node.id}), not at the backend's path, and the cdktf CLI deletes that folder: ` +
      'unset TF_WORKSPACE (one state per stack; for several, give each its own stateBackend.path)',
  );
}

/**
 * Terraform 1.11.4 `init` (tried offline) refuses a cloud block naming a workspace other than
 * `TF_WORKSPACE`: 'Specified workspace "name" conflicts with TF_WORKSPACE environment variable'.
 * `stateBackendFromEnvironment` refuses that for the variables; this covers a `stateBackend` given in code.
 */
function refuseOtherCloudWorkspace(stack: TerraformStack, workspace: string): void {
  const selected = process.env.TF_WORKSPACE?.trim();
  if (!selected || selected === workspace) return;
  throw new Error(
    `${stack.node.id}: TF_WORKSPACE is "${selected}", and its cloud block names the workspace ${workspace}: terraform init refuses a cloud block ` +
      'that names another workspace than TF_WORKSPACE; unset TF_WORKSPACE (the cloud blocks name their workspaces)',
  );
}

/**
 * The output folder Terraform runs in: the app's `outdir`, or the folder an app synthesizing into a
 * staging folder names in its context (`main.ts`), where the stacks are moved once the synth completed.
 */
function outputFolder(stack: TerraformStack): string {
  const app = App.of(stack);
  const named: unknown = app.node.tryGetContext(OUTPUT_FOLDER_CONTEXT);
  return path.resolve(typeof named === 'string' ? named : app.outdir);
}

/** The folder cdktf writes the stack into, where Terraform runs and resolves a relative backend path. */
function stackFolder(stack: TerraformStack): string {
  return path.join(outputFolder(stack), 'stacks', stack.node.id);
}

/**
 * The path of the stack's local state as its backend names it, relative to the stack's folder
 * unless given absolute. By default `terraform.<stack>.tfstate` in the folder the app runs in (the
 * project root, as cdktf's own default), outside the build output: the cdktf CLI deletes the folders
 * under `<outdir>/stacks/` of stacks it did not synthesize. A state still in the stack's folder (this
 * library's default before) stays where it is, with a warning, until it is moved: a changed path
 * would start from no state.
 */
export function localStatePath(stack: TerraformStack, given: string | undefined, warn = false): string {
  const folder = stackFolder(stack);
  const outdir = outputFolder(stack);
  const shown = (file: string) => path.relative(process.cwd(), file) || '.';
  const inBuildOutput = (file: string) => !path.relative(outdir, file).startsWith('..');
  if (given !== undefined) {
    const file = path.resolve(folder, given);
    if (warn && !path.isAbsolute(given) && inBuildOutput(file)) {
      warnWithId(stack, 'migration:state:path-in-build-output',
        `stateBackend.path "${given}" is relative to the stack's folder, so the state is ${shown(file)}, ` +
          `in the build output, which the cdktf CLI deletes (synth, diff and deploy remove the folders of stacks they did not synthesize; so does removing ${shown(outdir)}): ` +
          `give an absolute path or one outside ${shown(outdir)} (such as "${toPosix(path.relative(folder, path.resolve(path.basename(given))))}")`,
      );
    }
    return given;
  }
  const name = `terraform.${stack.node.id}.tfstate`;
  const inRoot = path.resolve(name);
  const inFolder = path.join(folder, name);
  if (existsSync(inFolder)) {
    if (!existsSync(inRoot)) {
      if (warn) {
        warnWithId(stack, 'migration:state:local-state-in-build-output',
          `its local state is ${shown(inFolder)}, in the build output, which the cdktf CLI deletes ` +
            `(synth, diff and deploy remove the folders of stacks they did not synthesize; so does removing ${shown(outdir)}). ` +
            `This synth keeps it there. Move it to the project root ("mv ${shown(inFolder)}* ."), synthesize again, then run ` +
            `"terraform init -migrate-state" in ${shown(folder)} (or pass --migrate-state to cdktf deploy and diff)`,
        );
      }
      return name;
    }
    if (warn) {
      warnWithId(stack, 'migration:state:local-state-in-two-places',
        `local state in both ${shown(inRoot)} (used) and ${shown(inFolder)} (not used, the default of earlier versions): ` +
          `if the second holds resources the first lacks, Terraform no longer tracks them; compare them, then remove the one not used`,
      );
    }
  }
  return toPosix(path.relative(folder, inRoot));
}

/** The path of `stack`'s local state (as {@link localStatePath}) from the folder of `reader`, a stack that reads it. */
export function localStatePathFrom(reader: TerraformStack, stack: TerraformStack, given: string | undefined): string {
  const statePath = localStatePath(stack, given);
  return path.isAbsolute(statePath) ? statePath : toPosix(path.relative(stackFolder(reader), path.resolve(stackFolder(stack), statePath)));
}

/** The synthesized JSON is the same on every machine. */
function toPosix(file: string): string {
  return file.split(path.sep).join('/');
}

/** Suffix of the release stack's name, its Terraform Cloud workspace and its state file. */
export const RELEASE_STACK_SUFFIX = '-airflow';

/**
 * Where the release stack keeps its state: the same kind of backend as the first stack, under a
 * name of its own (`<workspace>-airflow` in Terraform Cloud, the key with `-airflow` before `.tfstate` in a blob,
 * `terraform.<stack>-airflow.tfstate` locally).
 */
export function releaseStateBackend(backend: StateBackend): StateBackend {
  const suffixed = (name: string) => (name.endsWith('.tfstate') ? `${name.slice(0, -'.tfstate'.length)}${RELEASE_STACK_SUFFIX}.tfstate` : `${name}${RELEASE_STACK_SUFFIX}`);
  switch (backend.type) {
    case 'local':
      return { type: 'local', path: backend.path && suffixed(backend.path) };
    case 'terraformCloud':
      return { ...backend, workspace: `${backend.workspace}${RELEASE_STACK_SUFFIX}` };
    case 'azurerm':
      return { ...backend, key: backend.key && suffixed(backend.key) };
  }
}
