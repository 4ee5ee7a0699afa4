import { NetworkSecurityGroup } from '@cdktf/provider-azurerm/lib/network-security-group';
import { Subnet } from '@cdktf/provider-azurerm/lib/subnet';
import { SubnetNetworkSecurityGroupAssociation } from '@cdktf/provider-azurerm/lib/subnet-network-security-group-association';
import { VirtualNetwork } from '@cdktf/provider-azurerm/lib/virtual-network';
import { Fn } from 'cdktf';
import { Construct } from 'constructs';
import { resourceName } from '../naming';
import { HostPlacement } from '../host-placement';
import { resourceGroupIdOf } from '../arm-ids';

/** Where the host's network pieces live: subnets the team names, or a VNet this construct creates. */
export interface AirflowNetworkProps extends HostPlacement {
  /**
   * ARM id of an existing subnet for the AKS nodes (Azure CNI). Its VNet also receives the
   * database's and the private endpoints' DNS zone links.
   * @default - a VNet and three subnets are created
   */
  readonly subnetId?: string;
  /**
   * ARM id of an existing subnet delegated to `Microsoft.DBforPostgreSQL/flexibleServers`, in the
   * same VNet as `subnetId`. Required with `subnetId`: a delegated subnet cannot be shared.
   * @default - created with the VNet
   */
  readonly databaseSubnetId?: string;
  /**
   * ARM id of an existing subnet for private endpoints, in the same VNet as `subnetId`.
   * @default - `subnetId` when given, otherwise a subnet created with the VNet
   */
  readonly privateEndpointSubnetId?: string;
  /**
   * Address space of the VNet this construct creates (a /16 to a /20): nodes get the first /22,
   * the database and the private endpoints a /24 each. Pods use the overlay CIDR, not this space.
   * @default "10.60.0.0/16"
   */
  readonly addressSpace?: string;
}

/** Delegation a Flexible Server needs on its subnet (VNet integration). */
const POSTGRES_DELEGATION = 'Microsoft.DBforPostgreSQL/flexibleServers';

/**
 * The subnets the Kubernetes host uses. With `subnetId` nothing is created (the platform team
 * owns the VNet); without it, a VNet with a node subnet, a delegated database subnet and a
 * private-endpoint subnet, each behind a network security group with Azure's default rules (no
 * inbound from the internet; the VNet and Azure's load balancer allowed).
 */
export class AirflowNetwork extends Construct {
  /** ARM id of the VNet the subnets belong to (private DNS zones link here). */
  public readonly virtualNetworkId: string;
  /** Subnet of the AKS nodes. */
  public readonly nodeSubnetId: string;
  /** ARM id of the resource group of a named node subnet (`subnetId`); undefined for the created one, in the host's own. */
  public readonly nodeSubnetResourceGroupId?: string;
  /** Subnet delegated to the PostgreSQL Flexible Server. */
  public readonly databaseSubnetId: string;
  /** Subnet of the private endpoints. */
  public readonly privateEndpointSubnetId: string;
  /** The VNet, when this construct created it. */
  public readonly virtualNetwork?: VirtualNetwork;

  constructor(scope: Construct, id: string, props: AirflowNetworkProps) {
    super(scope, id);
    if (props.subnetId !== undefined) {
      if (props.databaseSubnetId === undefined) {
        throw new Error(
          `${this.node.path}: subnetId is given but databaseSubnetId is not: the metadata database needs its own subnet ` +
            `delegated to ${POSTGRES_DELEGATION} in the same VNet (or leave subnetId out and a VNet is created)`,
        );
      }
      this.nodeSubnetId = props.subnetId;
      this.nodeSubnetResourceGroupId = resourceGroupIdOf(this, 'subnetId', props.subnetId);
      this.databaseSubnetId = props.databaseSubnetId;
      this.privateEndpointSubnetId = props.privateEndpointSubnetId ?? props.subnetId;
      // A subnet id is its VNet's id followed by /subnets/<name>.
      this.virtualNetworkId = Fn.element(Fn.split('/subnets/', props.subnetId), 0);
      return;
    }
    if (props.databaseSubnetId !== undefined || props.privateEndpointSubnetId !== undefined) {
      throw new Error(`${this.node.path}: databaseSubnetId and privateEndpointSubnetId need subnetId (the VNet they belong to)`);
    }
    const addressSpace = props.addressSpace ?? '10.60.0.0/16';
    checkAddressSpace(this, addressSpace);
    this.virtualNetwork = new VirtualNetwork(this, 'Vnet', {
      name: resourceName('vnet', `${props.namePrefix}-airflow`),
      resourceGroupName: props.resourceGroup.name,
      location: props.location,
      addressSpace: [addressSpace],
      tags: props.tags,
    });
    const subnet = (subnetId: string, name: string, newBits: number, netNum: number, delegation?: string): Subnet =>
      new Subnet(this, subnetId, {
        name,
        resourceGroupName: props.resourceGroup.name,
        virtualNetworkName: this.virtualNetwork!.name,
        addressPrefixes: [Fn.cidrsubnet(addressSpace, newBits, netNum)],
        delegation: delegation
          ? [
              {
                name: 'postgres',
                serviceDelegation: { name: delegation, actions: ['Microsoft.Network/virtualNetworks/subnets/join/action'] },
              },
            ]
          : undefined,
      });
    const prefixBits = Number(addressSpace.split('/')[1]);
    // /22 for nodes (index 0), then /24 blocks 4 and 5 of the space.
    const nodes = subnet('NodeSubnet', 'snet-aks-nodes', 22 - prefixBits, 0);
    const database = subnet('DatabaseSubnet', 'snet-airflow-db', 24 - prefixBits, 4, POSTGRES_DELEGATION);
    const endpoints = subnet('PrivateEndpointSubnet', 'snet-private-endpoints', 24 - prefixBits, 5);
    const securityGroup = new NetworkSecurityGroup(this, 'SecurityGroup', {
      name: resourceName('nsg', `${props.namePrefix}-airflow`),
      resourceGroupName: props.resourceGroup.name,
      location: props.location,
      tags: props.tags,
    });
    for (const [id, created] of [['Nodes', nodes], ['Database', database], ['Endpoints', endpoints]] as const) {
      new SubnetNetworkSecurityGroupAssociation(this, `SecurityGroup-${id}`, {
        subnetId: created.id,
        networkSecurityGroupId: securityGroup.id,
      });
    }
    this.virtualNetworkId = this.virtualNetwork.id;
    this.nodeSubnetId = nodes.id;
    this.databaseSubnetId = database.id;
    this.privateEndpointSubnetId = endpoints.id;
  }
}

function checkAddressSpace(scope: Construct, cidr: string): void {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const bits = match ? Number(match[5]) : NaN;
  if (!match || match.slice(1, 5).some((octet) => Number(octet) > 255) || bits < 16 || bits > 20) {
    throw new Error(`${scope.node.path}: addressSpace "${cidr}" must be an IPv4 CIDR from /16 to /20 (nodes take a /22, database and endpoints a /24 each)`);
  }
}
