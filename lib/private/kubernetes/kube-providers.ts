import { DataAzurermKubernetesCluster } from '@cdktf/provider-azurerm/lib/data-azurerm-kubernetes-cluster';
import { HelmProvider } from '@cdktf/provider-helm/lib/provider';
import { KubernetesProvider } from '@cdktf/provider-kubernetes/lib/provider';
import { Fn } from 'cdktf';
import { Construct } from 'constructs';
import type { KubeloginMode } from '../../hosts/kubernetes/kubernetes-host';


/**
 * Application id of "Azure Kubernetes Service AAD Server", the audience of every Entra ID token
 * for an AKS API server (AKS docs, "Use kubelogin to authenticate").
 */
export const AKS_ENTRA_SERVER_APP_ID = '6dae42f8-4368-4678-94ff-3960e28e3630';

/** The kubernetes and helm providers of one cluster (aliased, so a stack may hold several). */
export interface KubeProviders {
  readonly kubernetes: KubernetesProvider;
  readonly helm: HelmProvider;
}

/**
 * Providers that talk to the cluster with an Entra ID token from kubelogin, since the cluster has
 * no local accounts (no client certificate, no admin kubeconfig). The login mode decides whose
 * token: `azurecli` for a person, `workloadidentity`/`spn`/`msi` for CI. `spn` reads the azurerm
 * provider's ARM_CLIENT_ID, ARM_CLIENT_SECRET and ARM_TENANT_ID (`--use-azurerm-env-vars`; without it
 * kubelogin reads only AAD_SERVICE_PRINCIPAL_* or AZURE_*), so one set of variables signs in both;
 * `workloadidentity` reads AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE. The cluster is read by a lookup in the stack that uses the providers,
 * a stack applied after the one that creates the cluster: a provider configured from a resource of
 * its own apply cannot plan anything on a cluster that does not exist yet.
 */
export function kubeProviders(scope: Construct, cluster: DataAzurermKubernetesCluster, alias: string, login: KubeloginMode): KubeProviders {
  const connection = cluster.kubeConfig.get(0);
  const exec = {
    apiVersion: 'client.authentication.k8s.io/v1beta1',
    command: 'kubelogin',
    args: ['get-token', '--login', login, '--server-id', AKS_ENTRA_SERVER_APP_ID, ...(login === 'spn' ? ['--use-azurerm-env-vars'] : [])],
  };
  const host = connection.host;
  const clusterCaCertificate = Fn.base64decode(connection.clusterCaCertificate);
  return {
    kubernetes: new KubernetesProvider(scope, 'KubernetesProvider', { alias, host, clusterCaCertificate, exec: [exec] }),
    helm: new HelmProvider(scope, 'HelmProvider', { alias, kubernetes: { host, clusterCaCertificate, exec } }),
  };
}
