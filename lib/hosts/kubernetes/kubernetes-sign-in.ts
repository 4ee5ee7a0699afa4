/** The Airflow roles FAB creates, each a list of Entra ID groups may get (`signIn.roles`). */
export const SIGN_IN_ROLES = ['Admin', 'Op', 'User', 'Viewer'] as const;

/** One of {@link SIGN_IN_ROLES}. */
export type SignInRole = (typeof SIGN_IN_ROLES)[number];

/**
 * People sign in to the Airflow UI with Entra ID (the plan's `airflow.kubernetes.signIn`): an app
 * registration the platform team creates (the stack has no Entra ID provider), its client secret
 * in the Key Vault as `airflow-sign-in-client-credential`, never in the plan, the stack or its state.
 */
export interface KubernetesSignIn {
  /** Application (client) id of the app registration; not a secret. */
  readonly clientId: string;
  /** Tenant of the app registration. @default - the tenant the stack deploys to */
  readonly tenantId?: string;
  /**
   * Object ids of the Entra ID groups whose members get each Airflow role, synced at every sign-in
   * from the ID token's `groups` claim. `Admin` needs one group at least; a cutover's approvers
   * need `User` (or `Op`, `Admin`) to answer. Someone in none of them signs in to no access.
   */
  readonly roles: SignInRoles;
}

/** Object ids of the Entra ID groups whose members get each Airflow role ({@link SIGN_IN_ROLES}). */
export interface SignInRoles {
  /** Everything, users and roles included: one group at least. */
  readonly Admin: readonly string[];
  /** Run the DAG and manage connections, pools and variables. @default - no group */
  readonly Op?: readonly string[];
  /** Trigger and clear the DAG's tasks and answer a cutover approval: the approvers' groups. @default - no group */
  readonly User?: readonly string[];
  /** Read only. @default - no group */
  readonly Viewer?: readonly string[];
}
