import { FederatedIdentityCredential } from '@cdktf/provider-azurerm/lib/federated-identity-credential';
import { UserAssignedIdentity } from '@cdktf/provider-azurerm/lib/user-assigned-identity';
import { Construct } from 'constructs';
import { resourceName } from '../naming';
import { AirflowIdentity } from '../../hosts/airflow-host';
import { HostPlacement } from '../host-placement';

/** Props of {@link AirflowWorkloadIdentity}. */
export interface AirflowWorkloadIdentityProps extends HostPlacement {
  /** Issuer of the cluster's service-account tokens. */
  readonly oidcIssuerUrl: string;
  /** Namespace of the Airflow service accounts. */
  readonly namespace: string;
  /** Service accounts whose pods act as the identity (one federated credential each). */
  readonly serviceAccountNames: readonly string[];
}

/** Audience of tokens exchanged for Entra ID tokens (workload identity). */
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';
/** Entra ID allows 20 federated credentials on one user-assigned identity. */
const MAX_FEDERATED_CREDENTIALS = 20;

/** `system:serviceaccount:<namespace>:<name>`: the subject of a pod's projected token. */
export function serviceAccountSubject(namespace: string, serviceAccountName: string): string {
  return `system:serviceaccount:${namespace}:${serviceAccountName}`;
}

/**
 * The identity the DAG's tasks act as: a user-assigned managed identity federated to the Airflow
 * service accounts, so pods get Entra ID tokens from their projected service-account token and no
 * client secret exists anywhere. The stack grants it what the DAG needs (Key Vault included).
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
    this.managedIdentity = new UserAssignedIdentity(this, 'Identity', {
      name: resourceName('id', `${props.namePrefix}-airflow`),
      resourceGroupName: props.resourceGroup.name,
      location: props.location,
      tags: props.tags,
    });
    this.identity = {
      principalId: this.managedIdentity.principalId,
      clientId: this.managedIdentity.clientId,
      principalType: 'ServicePrincipal',
    };

    // Entra ID rejects concurrent credential writes on one identity: create them one after another.
    const credentials: FederatedIdentityCredential[] = [];
    for (const name of names) {
      const previous = credentials[credentials.length - 1];
      credentials.push(
        new FederatedIdentityCredential(this, `Federation-${name}`, {
          name: `${props.namespace}-${name}`,
          resourceGroupName: props.resourceGroup.name,
          parentId: this.managedIdentity.id,
          issuer: props.oidcIssuerUrl,
          subject: serviceAccountSubject(props.namespace, name),
          audience: [TOKEN_EXCHANGE_AUDIENCE],
          dependsOn: previous ? [previous] : undefined,
        }),
      );
    }
    this.federatedCredentials = credentials;
  }
}
