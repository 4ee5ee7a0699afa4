import { KubernetesCluster } from '@cdktf/provider-azurerm/lib/kubernetes-cluster';
import { KubernetesClusterNodePool } from '@cdktf/provider-azurerm/lib/kubernetes-cluster-node-pool';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { RoleDefinition } from '@cdktf/provider-azurerm/lib/role-definition';
import { UserAssignedIdentity } from '@cdktf/provider-azurerm/lib/user-assigned-identity';
import { Fn, Token } from 'cdktf';
import { Construct } from 'constructs';
import { resourceName } from '../naming';
import { roleDefinitionIdIn } from '../arm-ids';
import { ILogAnalyticsWorkspace } from '../../core/references';
import { HostPlacement } from '../host-placement';

/** Props of {@link AirflowCluster}. */
export interface AirflowClusterProps extends HostPlacement {
  /** Entra ID tenant that signs users in to the cluster. */
  readonly tenantId: string;
  /** Subnet of the nodes (Azure CNI overlay: pods take overlay addresses, nodes this subnet's). */
  readonly nodeSubnetId: string;
  /**
   * ARM id of the node subnet's resource group, where the control plane's subnet role must be assignable too.
   * @default - the cluster's own (the subnet of the VNet the host created)
   */
  readonly nodeSubnetResourceGroupId?: string;
  /** VM size of the user (Airflow) node pool. */
  readonly nodeVmSize: string;
  /** Fewest nodes of the user pool (the autoscaler never goes below). */
  readonly minNodes: number;
  /** Most nodes of the user pool. */
  readonly maxNodes: number;
  /** Container Insights sends here. */
  readonly logAnalyticsWorkspace: ILogAnalyticsWorkspace;
  /** Principal that deploys the chart (gets Azure Kubernetes Service RBAC Cluster Admin). */
  readonly deployerPrincipalId: string;
  /**
   * Entra ID groups with cluster-admin rights besides the deployer.
   * @default - none
   */
  readonly adminGroupObjectIds?: readonly string[];
  /**
   * IP ranges allowed to reach the API server.
   * @default - any address (Entra ID and Azure RBAC still decide who gets in)
   */
  readonly authorizedIpRanges?: readonly string[];
  /**
   * Kubernetes version (`major.minor`); AKS picks the newest patch.
   * @default - AKS's default version
   */
  readonly kubernetesVersion?: string;
  /** VM size of the system pool (critical add-ons only); it needs a local disk of at least 64 GiB (ephemeral OS disk). @default "Standard_D2ds_v5" */
  readonly systemNodeVmSize?: string;
  /** `Standard` gives the API server a financially backed SLA; `Free` has none. @default "Standard" */
  readonly skuTier?: 'Free' | 'Standard';
  /** Whether AKS run command (`az aks command invoke`) may run commands in the cluster. */
  readonly runCommandEnabled: boolean;
}

/** Kubernetes service CIDRs that stay clear of the usual 10.x VNet ranges. */
const SERVICE_CIDR = '172.16.0.0/16';
const DNS_SERVICE_IP = '172.16.0.10';
const POD_CIDR = '192.168.0.0/16';
/** Upper bound of an AKS node pool's autoscaler. */
const MAX_POOL_NODES = 1000;
/** Pods per node: Kubernetes' default, written out (Azure CNI overlay allows up to 250). */
const MAX_PODS = 110;
/** The system pool's OS disk lives on the VM's cache/temp disk (75 GiB on Standard_D2ds_v5). */
const SYSTEM_OS_DISK_GB = 64;

/**
 * What the control plane identity of a cluster in a custom VNet needs on its node subnet: Microsoft
 * names these two as the custom role to use instead of Network Contributor, which would also let it
 * change or delete the subnet (MicrosoftDocs/azure-aks-docs `articles/aks/use-managed-identity.md`,
 * "Add role assignment"; `aks-service-permissions.md`, "Additional AKS cluster identity permissions").
 */
export const NODE_SUBNET_ACTIONS = ['Microsoft.Network/virtualNetworks/subnets/read', 'Microsoft.Network/virtualNetworks/subnets/join/action'] as const;

/**
 * An AKS cluster for Airflow: Entra ID sign-in with Azure RBAC, no local accounts and no run command, OIDC issuer
 * and workload identity, Azure CNI overlay with Cilium in the given subnet, a small system pool
 * for critical add-ons and an autoscaling user pool for Airflow, Container Insights and the
 * managed Prometheus metrics add-on.
 */
export class AirflowCluster extends Construct {
  /** The `azurerm_kubernetes_cluster` resource. */
  public readonly cluster: KubernetesCluster;
  /** The autoscaling user pool Airflow runs on. */
  public readonly airflowNodePool: KubernetesClusterNodePool;
  /** Object id of the kubelet identity (pulls images). */
  public readonly kubeletObjectId: string;
  /** Issuer URL of the cluster's service-account tokens (workload identity federation). */
  public readonly oidcIssuerUrl: string;
  /** The deployer's cluster-admin role: Kubernetes objects wait for it. */
  public readonly deployerAccess: RoleAssignment;

  constructor(scope: Construct, id: string, props: AirflowClusterProps) {
    super(scope, id);
    checkNodeCounts(this, props.minNodes, props.maxNodes);
    const name = resourceName('aks', props.namePrefix);

    // A user-assigned control plane identity can be granted its network role before the cluster exists.
    const controlPlane = new UserAssignedIdentity(this, 'ControlPlaneIdentity', {
      name: resourceName('id', `${props.namePrefix}-aks`),
      resourceGroupName: props.resourceGroup.name,
      location: props.location,
      tags: props.tags,
    });
    // Assignable in the node subnet's resource group (a custom role cannot be assignable to one
    // resource), assigned on the node subnet only: the created VNet also holds the metadata
    // database's delegated subnet and the private endpoints, which AKS never manages.
    const otherGroup = props.nodeSubnetResourceGroupId;
    const subnetRole = new RoleDefinition(this, 'NodeSubnetRole', {
      name: `AKS Node Subnet User (${props.namePrefix})`,
      scope: props.resourceGroup.id,
      description: `Lets the AKS control plane of plan ${props.namePrefix} read and join its node subnet, and nothing more`,
      permissions: [{ actions: [...NODE_SUBNET_ACTIONS] }],
      assignableScopes: otherGroup === undefined ? [props.resourceGroup.id] : Token.asList(Fn.distinct([props.resourceGroup.id, otherGroup])),
    });
    const networkRole = new RoleAssignment(this, 'ControlPlaneJoinsSubnet', {
      scope: props.nodeSubnetId,
      // A named subnet may be in another subscription (roleDefinitionIdIn); the created one is in the stack's.
      roleDefinitionId: otherGroup === undefined ? subnetRole.roleDefinitionResourceId : roleDefinitionIdIn(otherGroup, subnetRole),
      principalId: controlPlane.principalId,
      principalType: 'ServicePrincipal',
      description: 'AKS control plane joins the node subnet (Airflow host)',
      // A new scope or role replaces the assignment: the new one first, so AKS is never without it (Azure names each anew).
      lifecycle: { createBeforeDestroy: true },
    });

    this.cluster = new KubernetesCluster(this, 'Cluster', {
      name,
      resourceGroupName: props.resourceGroup.name,
      location: props.location,
      dnsPrefix: props.namePrefix,
      kubernetesVersion: props.kubernetesVersion,
      skuTier: props.skuTier ?? 'Standard',
      automaticUpgradeChannel: 'patch',
      nodeOsUpgradeChannel: 'NodeImage',
      localAccountDisabled: true,
      runCommandEnabled: props.runCommandEnabled,
      roleBasedAccessControlEnabled: true,
      azureActiveDirectoryRoleBasedAccessControl: {
        azureRbacEnabled: true,
        tenantId: props.tenantId,
        // Handed on as they are, as is authorizedIpRanges: a list token (Fn.concat's string) would be spread into its characters.
        adminGroupObjectIds: props.adminGroupObjectIds as string[] | undefined,
      },
      oidcIssuerEnabled: true,
      workloadIdentityEnabled: true,
      azurePolicyEnabled: true,
      imageCleanerEnabled: true,
      imageCleanerIntervalHours: 48,
      identity: { type: 'UserAssigned', identityIds: [controlPlane.id] },
      defaultNodePool: {
        name: 'system',
        vmSize: props.systemNodeVmSize ?? 'Standard_D2ds_v5',
        autoScalingEnabled: true,
        minCount: 1,
        maxCount: 3,
        onlyCriticalAddonsEnabled: true,
        vnetSubnetId: props.nodeSubnetId,
        osSku: 'AzureLinux',
        // Ephemeral OS disks: faster, no managed disk to pay for or encrypt (the VM's local disk).
        osDiskType: 'Ephemeral',
        osDiskSizeGb: SYSTEM_OS_DISK_GB,
        maxPods: MAX_PODS,
        temporaryNameForRotation: 'systemtmp',
        upgradeSettings: { maxSurge: '10%' },
      },
      networkProfile: {
        networkPlugin: 'azure',
        networkPluginMode: 'overlay',
        networkDataPlane: 'cilium',
        networkPolicy: 'cilium',
        podCidr: POD_CIDR,
        serviceCidr: SERVICE_CIDR,
        dnsServiceIp: DNS_SERVICE_IP,
        loadBalancerSku: 'standard',
        outboundType: 'loadBalancer',
      },
      apiServerAccessProfile: props.authorizedIpRanges ? { authorizedIpRanges: props.authorizedIpRanges as string[] } : undefined,
      omsAgent: { logAnalyticsWorkspaceId: props.logAnalyticsWorkspace.id, msiAuthForMonitoringEnabled: true },
      // The managed Prometheus add-on (ama-metrics); its data collection rule is in AirflowMonitoring.
      monitorMetrics: {},
      tags: props.tags,
      dependsOn: [networkRole],
    });

    this.airflowNodePool = new KubernetesClusterNodePool(this, 'AirflowPool', {
      name: 'airflow',
      kubernetesClusterId: this.cluster.id,
      mode: 'User',
      vmSize: props.nodeVmSize,
      autoScalingEnabled: true,
      minCount: props.minNodes,
      maxCount: props.maxNodes,
      vnetSubnetId: props.nodeSubnetId,
      osSku: 'AzureLinux',
      maxPods: MAX_PODS,
      nodeLabels: { workload: 'airflow' },
      // A new nodeVmSize is applied by cycling the pool through this one: azurerm refuses the change without it.
      temporaryNameForRotation: 'airflowtmp',
      upgradeSettings: { maxSurge: '33%' },
      tags: props.tags,
    });

    this.kubeletObjectId = this.cluster.kubeletIdentity.objectId;
    this.oidcIssuerUrl = this.cluster.oidcIssuerUrl;

    this.deployerAccess = new RoleAssignment(this, 'DeployerAdministersCluster', {
      scope: this.cluster.id,
      roleDefinitionName: 'Azure Kubernetes Service RBAC Cluster Admin',
      principalId: props.deployerPrincipalId,
      description: 'Terraform deploys the Airflow chart, secrets and DAG config maps (Airflow host)',
    });
  }
}

function checkNodeCounts(scope: Construct, minNodes: number, maxNodes: number): void {
  const problems: string[] = [];
  if (!Number.isInteger(minNodes) || minNodes < 0) problems.push(`minNodes ${minNodes} must be a whole number >= 0`);
  if (!Number.isInteger(maxNodes) || maxNodes < 1 || maxNodes > MAX_POOL_NODES) {
    problems.push(`maxNodes ${maxNodes} must be a whole number from 1 to ${MAX_POOL_NODES}`);
  }
  if (problems.length === 0 && minNodes > maxNodes) problems.push(`minNodes ${minNodes} is more than maxNodes ${maxNodes}`);
  if (problems.length > 0) {
    throw new Error(`${scope.node.path}: ${problems.join('; ')}`);
  }
}
