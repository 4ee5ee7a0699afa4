import { AzurermBackend, CloudBackend, LocalBackend, NamedCloudWorkspace, TerraformStack } from 'cdktf';
import { StateBackend } from '../state-backend';

/** Configures the stack's backend. */
export function applyStateBackend(stack: TerraformStack, backend: StateBackend): void {
  const stackName = stack.node.id;
  switch (backend.type) {
    case 'local':
      new LocalBackend(stack, { path: backend.path ?? `terraform.${stackName}.tfstate` });
      return;
    case 'terraformCloud':
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
