/**
 * The grant vocabulary: every `grantXxx(grantee, options?)` method takes an {@link IGrantee} and
 * returns the role assignment(s) it made (aws-cdk's `grantPublish(grantee)` shape).
 */

/** Kinds of Entra ID principal a role can be assigned to. */
export type PrincipalType = 'ServicePrincipal' | 'User' | 'Group';

/** Who receives a role: an Entra ID principal. Every host's `identity` fits. */
export interface IGrantee {
  /** Object (principal) id. */
  readonly principalId: string;
  /**
   * Kind of principal; give it for a new managed identity, so that Azure does not look up a
   * principal Entra ID has not replicated yet.
   * @default - Azure looks the principal up
   */
  readonly principalType?: PrincipalType;
}

/** Options of every `grantXxx` method. */
export interface GrantOptions {
  /**
   * Construct id of the role assignment (the prefix of the ids, where a grant makes several); give
   * each grant of one construct its own.
   * @default - set per method (see the method)
   */
  readonly id?: string;
  /**
   * Description of the role assignment.
   * @default - says what the grant allows
   */
  readonly description?: string;
}
