import { FederatedIdentityCredential } from '@cdktf/provider-azurerm/lib/federated-identity-credential';
import { UserAssignedIdentity } from '@cdktf/provider-azurerm/lib/user-assigned-identity';
import { Construct, IConstruct } from 'constructs';
import { AirflowIdentity } from '../hosts/airflow-host';
import { AirflowServicePrincipal, FederatedCredential } from '../plan/airflow-schema';
import { HostPlacement } from './host-placement';
import { resourceName } from './naming';
import { checkGuid } from './prop-checks';

/** Audience of tokens exchanged for Entra ID tokens (workload identity). */
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

/** The identity of an Entra ID application the DAG runs as (`scope`'s prop `servicePrincipal`). */
export function servicePrincipalIdentity(scope: IConstruct, { objectId, clientId }: AirflowServicePrincipal): AirflowIdentity {
  checkGuid(scope, 'servicePrincipal.clientId', clientId);
  checkGuid(scope, 'servicePrincipal.objectId', objectId);
  return { principalId: objectId, clientId, principalType: 'ServicePrincipal' };
}

/** A federated credential and the suffix of its construct id (`Federation-<id>`). */
export type Federation = FederatedCredential & { readonly id: string };

/**
 * The user-assigned managed identity the DAG acts as (`Identity` in `scope`), federated so that
 * workloads presenting each credential's issuer and subject get its Entra ID tokens without a secret.
 */
export function federatedManagedIdentity(
  scope: Construct,
  placement: HostPlacement,
  federations: readonly Federation[],
  nameSuffix = 'airflow',
) {
  const managedIdentity = new UserAssignedIdentity(scope, 'Identity', {
    name: resourceName('id', `${placement.namePrefix}-${nameSuffix}`),
    resourceGroupName: placement.resourceGroup.name,
    location: placement.location,
    tags: placement.tags,
  });
  const identity: AirflowIdentity = {
    principalId: managedIdentity.principalId,
    clientId: managedIdentity.clientId,
    principalType: 'ServicePrincipal',
  };
  // Entra ID rejects concurrent credential writes on one identity: create them one after another.
  const federatedCredentials: FederatedIdentityCredential[] = [];
  for (const { id, name, issuer, subject } of federations) {
    const previous = federatedCredentials.at(-1);
    federatedCredentials.push(
      new FederatedIdentityCredential(scope, `Federation-${id}`, {
        name,
        resourceGroupName: placement.resourceGroup.name,
        parentId: managedIdentity.id,
        issuer,
        subject,
        audience: [TOKEN_EXCHANGE_AUDIENCE],
        dependsOn: previous ? [previous] : undefined,
      }),
    );
  }
  return { managedIdentity, identity, federatedCredentials };
}
