import { FederatedIdentityCredential } from '@cdktf/provider-azurerm/lib/federated-identity-credential';
import { UserAssignedIdentity } from '@cdktf/provider-azurerm/lib/user-assigned-identity';
import { Construct } from 'constructs';
import { AirflowIdentity } from '../../hosts/airflow-host';
import { federatedManagedIdentity } from '../airflow-identity';
import { HostPlacement } from '../host-placement';

/** Props of {@link AirflowWorkloadIdentity}. */
export interface AirflowWorkloadIdentityProps extends HostPlacement {
  /** Issuer of the cluster's service-account tokens. */
  readonly oidcIssuerUrl: string;
  /** Namespace of the Airflow service accounts. */
  readonly namespace: string;
  /** Service accounts whose pods act as the identity (one federated credential each). */
  readonly serviceAccountNames: readonly string[];
  /**
   * The identity's name is `id-<namePrefix>-<nameSuffix>`.
   * @default 'airflow'
   */
  readonly nameSuffix?: string;
}

/** Entra ID allows 20 federated credentials on one user-assigned identity. */
const MAX_FEDERATED_CREDENTIALS = 20;

/** `system:serviceaccount:<namespace>:<name>`: the subject of a pod's projected token. */
export function serviceAccountSubject(namespace: string, serviceAccountName: string): string {
  return `system:serviceaccount:${namespace}:${serviceAccountName}`;
}

/**
 * The identity the DAG's tasks act as: a user-assigned managed identity federated to the Airflow
 * service accounts (one credential each), so pods get Entra ID tokens from their projected
 * service-account token and no client secret exists anywhere.
 */
export class AirflowWorkloadIdentity extends Construct {
  /** The managed identity. */
  public readonly managedIdentity: UserAssignedIdentity;
  /** What the rest of the stack grants roles to. */
  public readonly identity: AirflowIdentity;
  /** One credential per service account, in the order given. */
  public readonly federatedCredentials: readonly FederatedIdentityCredential[];

  constructor(scope: Construct, id: string, props: AirflowWorkloadIdentityProps) {
    super(scope, id);
    const names = [...new Set(props.serviceAccountNames)];
    if (names.length === 0 || names.length > MAX_FEDERATED_CREDENTIALS) {
      throw new Error(`${this.node.path}: ${names.length} service accounts; a managed identity federates 1 to ${MAX_FEDERATED_CREDENTIALS}`);
    }
    const federations = names.map((name) => ({
      id: name,
      name: `${props.namespace}-${name}`,
      issuer: props.oidcIssuerUrl,
      subject: serviceAccountSubject(props.namespace, name),
    }));
    ({
      managedIdentity: this.managedIdentity,
      identity: this.identity,
      federatedCredentials: this.federatedCredentials,
    } = federatedManagedIdentity(this, props, federations, props.nameSuffix));
  }
}
