import { createHash } from 'node:crypto';
import { AIRFLOW_SIGN_IN_SECRET_NAME } from '../airflow-connection-secrets';
import { KubernetesSignIn, SIGN_IN_ROLES } from '../../hosts/kubernetes/kubernetes-sign-in';

/**
 * The auth manager of every Airflow process with sign-in: FAB's, also finding a HITL respondent by
 * user name (the Entra object id), in the DAG package (dags/migration_orchestration_lib/entra_sign_in.py).
 */
export const SIGN_IN_AUTH_MANAGER = 'migration_orchestration_lib.entra_sign_in.EntraIdAuthManager';

/** What the API server's `webserver_config.py` is rendered from (references allowed for the tenant and vault). */
export interface SignInConfig {
  readonly clientId: string;
  readonly tenantId: string;
  readonly roles: KubernetesSignIn['roles'];
  /** `https://<vault>.vault.azure.net/`, where the client secret is. */
  readonly keyVaultUrl: string;
  /** {@link signInRevision} of the plan's settings: the API server's pods roll when it changes. */
  readonly revision: string;
}

/** Pod annotation of the API server carrying {@link SignInConfig.revision}. */
export const SIGN_IN_REVISION_ANNOTATION = 'checksum/sign-in';

/**
 * A fingerprint of the settings as given (the deployment's tenant and the vault, references, left
 * out): FAB reads `webserver_config.py` only when the API server starts, and the chart rolls the API
 * server for no change of it, so the host annotates its pods with this.
 */
export function signInRevision(signIn: KubernetesSignIn): string {
  const roles = SIGN_IN_ROLES.map((role) => [role, [...(signIn.roles[role] ?? [])].map((id) => id.toLowerCase()).sort()]);
  return createHash('sha256')
    .update(JSON.stringify({ clientId: signIn.clientId.toLowerCase(), tenantId: signIn.tenantId?.toLowerCase() ?? null, roles }))
    .digest('hex')
    .slice(0, 16);
}

/**
 * The API server's `webserver_config.py` (the chart's `apiServer.apiServerConfig`): ids only, the
 * client secret read from the Key Vault when the API server starts. The chart renders the text
 * with Helm's `tpl`, so it must hold no `{{`.
 */
export function signInWebserverConfig(config: SignInConfig): string {
  const roles = Object.fromEntries(SIGN_IN_ROLES.filter((role) => config.roles[role] !== undefined).map((role) => [role, config.roles[role]]));
  const text = [
    '# Entra ID sign-in to the Airflow UI (airflow.kubernetes.signIn), rendered by the Kubernetes host: ids only.',
    '# The client secret is read from the Key Vault when the API server starts (migration_orchestration_lib/entra_sign_in.py).',
    'from migration_orchestration_lib.entra_sign_in import webserver_settings',
    '',
    'globals().update(',
    '    webserver_settings(',
    `        client_id=${JSON.stringify(config.clientId)},`,
    `        tenant_id=${JSON.stringify(config.tenantId)},`,
    `        roles=${JSON.stringify(roles)},`,
    `        key_vault_url=${JSON.stringify(config.keyVaultUrl)},`,
    `        secret_name=${JSON.stringify(AIRFLOW_SIGN_IN_SECRET_NAME)},`,
    '    )',
    ')',
    '',
  ].join('\n');
  if (text.includes('{{')) throw new Error(`the API server's webserver_config.py would hold "{{", which Helm's tpl reads as a template: ${text}`);
  return text;
}
