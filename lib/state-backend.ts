import { BLOB_CONTAINER_NAME_RULE, NameRule, RESOURCE_GROUP_NAME_RULE, STORAGE_ACCOUNT_NAME_RULE } from './private/prop-checks';

/** Terraform state on this machine (the default; fine for trying things out). */
export interface LocalStateBackend {
  /** Selects this backend. */
  readonly type: 'local';
  /**
   * Path of the state file: absolute, or relative to the stack's folder (`cdktf.out/stacks/<stack name>`, where
   * Terraform runs). A relative path that stays inside `cdktf.out` draws a warning: the cdktf CLI deletes folders there.
   * @default `terraform.<stack name>.tfstate` in the folder the app runs in (the project root); a state still in
   * the stack's folder (the default of earlier versions) is used there, with a warning saying how to move it
   */
  readonly path?: string;
}

/** Terraform state and runs in a named Terraform Cloud (or Terraform Enterprise) workspace. */
export interface TerraformCloudStateBackend {
  /** Selects this backend. */
  readonly type: 'terraformCloud';
  /** Terraform Cloud organization (`TFC_ORGANIZATION`). */
  readonly organization: string;
  /** Name of the workspace in that organization (`TFC_WORKSPACE`). */
  readonly workspace: string;
  /**
   * Terraform Enterprise host name.
   * @default "app.terraform.io"
   */
  readonly hostname?: string;
}

/** Terraform state in an Azure storage blob, with Entra ID authentication (no account key). */
export interface AzurermStateBackend {
  /** Selects this backend. */
  readonly type: 'azurerm';
  /** Resource group of the state storage account. */
  readonly resourceGroupName: string;
  /** Storage account that holds the state blob. */
  readonly storageAccountName: string;
  /** Blob container of the state blob. */
  readonly containerName: string;
  /**
   * Name of the state blob.
   * @default `<stack name>.tfstate`
   */
  readonly key?: string;
}

/** Where a stack keeps its Terraform state. */
export type StateBackend = LocalStateBackend | TerraformCloudStateBackend | AzurermStateBackend;

/** A backend setting in the environment that is incomplete or contradictory. */
export class StateBackendConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateBackendConfigurationError';
  }
}

/** Terraform Cloud: "Workspace names need to be 90 characters or less" (letters, digits, `-` and `_`). */
export const TERRAFORM_CLOUD_WORKSPACE_MAX = 90;

/** Whether Terraform Cloud takes `name` as a workspace name: "can only include letters, numbers, -, and _", at most 90 characters. */
export function isTerraformCloudWorkspaceName(name: string): boolean {
  return /^[A-Za-z0-9_-]+$/.test(name) && name.length <= TERRAFORM_CLOUD_WORKSPACE_MAX;
}

/**
 * Whether Terraform's cloud backend can name `name` as its organization: `terraform init` reads the
 * organization's entitlements through go-tfe, whose `Organizations.ReadEntitlements` refuses a name with white
 * space or a slash before any request ("invalid value for organization": hashicorp/go-tfe `validations.go`,
 * `^[^/\s]+$`; earlier versions allowed only letters, digits, `-`, `.` and `_`).
 */
export function isTerraformCloudOrganizationName(name: string): boolean {
  return /^[^/\s]+$/.test(name);
}

/** What {@link isTerraformCloudOrganizationName} refuses, and why, for the messages naming it. */
export const TERRAFORM_CLOUD_ORGANIZATION_RULE =
  'a Terraform Cloud organization name: no white space or slash (terraform init refuses it: "invalid value for organization")';

const CLOUD_VARIABLES = ['TFC_ORGANIZATION', 'TFC_WORKSPACE'] as const;
const AZURERM_VARIABLES = [
  'AZURERM_BACKEND_RESOURCE_GROUP',
  'AZURERM_BACKEND_STORAGE_ACCOUNT',
  'AZURERM_BACKEND_CONTAINER',
] as const;
/** Each backend's variables, the optional one included: any of them set selects that backend. */
const CLOUD_SELECTORS = [...CLOUD_VARIABLES, 'TFC_HOSTNAME'];
const AZURERM_SELECTORS = [...AZURERM_VARIABLES, 'AZURERM_BACKEND_KEY'];

/**
 * The backend selected by environment variables: `TFC_ORGANIZATION` + `TFC_WORKSPACE` (and
 * optionally `TFC_HOSTNAME`; a `TF_WORKSPACE` naming another workspace is refused) for Terraform Cloud; `AZURERM_BACKEND_RESOURCE_GROUP`,
 * `AZURERM_BACKEND_STORAGE_ACCOUNT`, `AZURERM_BACKEND_CONTAINER` (and optionally
 * `AZURERM_BACKEND_KEY`) for an Azure blob; otherwise local state.
 */
export function stateBackendFromEnvironment(env: NodeJS.ProcessEnv = process.env): StateBackend {
  const value = (name: string) => env[name]?.trim() || undefined;
  const cloudSet = CLOUD_SELECTORS.filter((name) => value(name));
  const azurermSet = AZURERM_SELECTORS.filter((name) => value(name));
  if (cloudSet.length > 0 && azurermSet.length > 0) {
    throw new StateBackendConfigurationError(
      `both Terraform Cloud (${cloudSet.join(', ')}) and azurerm backend (${azurermSet.join(', ')}) variables are set; choose one`,
    );
  }
  if (cloudSet.length > 0) {
    requireAll(CLOUD_VARIABLES, value, 'Terraform Cloud');
    const organization = value('TFC_ORGANIZATION')!;
    if (!isTerraformCloudOrganizationName(organization)) {
      throw new StateBackendConfigurationError(`TFC_ORGANIZATION "${organization}" is not ${TERRAFORM_CLOUD_ORGANIZATION_RULE}`);
    }
    const workspace = value('TFC_WORKSPACE')!;
    if (!isTerraformCloudWorkspaceName(workspace)) {
      throw new StateBackendConfigurationError(
        `TFC_WORKSPACE "${workspace}" is not a Terraform Cloud workspace name (letters, digits, - and _, at most ${TERRAFORM_CLOUD_WORKSPACE_MAX})`,
      );
    }
    const selected = value('TF_WORKSPACE');
    if (selected !== undefined && selected !== workspace) {
      // Terraform 1.11 `init`: 'Specified workspace "name" conflicts with TF_WORKSPACE environment variable'.
      throw new StateBackendConfigurationError(
        `TF_WORKSPACE "${selected}" is not TFC_WORKSPACE "${workspace}": terraform init refuses a cloud block that names ` +
          `another workspace than TF_WORKSPACE; unset TF_WORKSPACE (the cloud blocks name their workspaces)`,
      );
    }
    return { type: 'terraformCloud', organization, workspace, hostname: checkedHostname(value('TFC_HOSTNAME')) };
  }
  if (azurermSet.length > 0) {
    requireAll(AZURERM_VARIABLES, value, 'azurerm backend');
    // The stack checks these names too, by prop: here the message names the variable the user set.
    const names: [string, NameRule][] = [
      ['AZURERM_BACKEND_RESOURCE_GROUP', RESOURCE_GROUP_NAME_RULE],
      ['AZURERM_BACKEND_STORAGE_ACCOUNT', STORAGE_ACCOUNT_NAME_RULE],
      ['AZURERM_BACKEND_CONTAINER', BLOB_CONTAINER_NAME_RULE],
    ];
    for (const [name, { accepts, rule }] of names) {
      if (!accepts(value(name)!)) throw new StateBackendConfigurationError(`${name} "${value(name)}" is not ${rule}`);
    }
    return {
      type: 'azurerm',
      resourceGroupName: value('AZURERM_BACKEND_RESOURCE_GROUP')!,
      storageAccountName: value('AZURERM_BACKEND_STORAGE_ACCOUNT')!,
      containerName: value('AZURERM_BACKEND_CONTAINER')!,
      key: value('AZURERM_BACKEND_KEY'),
    };
  }
  return { type: 'local' };
}

/**
 * The cloud block's `hostname` is a host name, with a port at most: Terraform
 * (hashicorp/terraform-svchost `ForComparison`) reads `https://app.terraform.io` as host `https`
 * with a port that is not a number, and refuses it only at `terraform init`.
 */
function checkedHostname(hostname: string | undefined): string | undefined {
  const problem = hostname === undefined ? undefined : terraformCloudHostnameProblem(hostname);
  if (problem) throw new StateBackendConfigurationError(`TFC_HOSTNAME "${hostname}" ${problem}`);
  return hostname;
}

/** What is wrong with `hostname` as the cloud block's `hostname` (see {@link checkedHostname}); undefined when nothing is. */
export function terraformCloudHostnameProblem(hostname: string): string | undefined {
  if (/^[^\s/:]+(:\d+)?$/.test(hostname)) return undefined;
  const host = URL.canParse(hostname) ? new URL(hostname).host : '';
  const instead = host && host !== hostname ? ` (here ${host})` : '';
  return `is not a host name: Terraform wants the host of Terraform Enterprise alone, without scheme or path${instead}`;
}

function requireAll(names: readonly string[], value: (name: string) => string | undefined, what: string): void {
  const missing = names.filter((name) => !value(name));
  if (missing.length > 0) {
    throw new StateBackendConfigurationError(`${what}: ${missing.join(', ')} not set (needs ${names.join(', ')})`);
  }
}
