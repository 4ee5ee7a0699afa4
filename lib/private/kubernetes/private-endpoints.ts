import { PrivateDnsZone } from '@cdktf/provider-azurerm/lib/private-dns-zone';
import { PrivateDnsZoneVirtualNetworkLink } from '@cdktf/provider-azurerm/lib/private-dns-zone-virtual-network-link';
import { PrivateEndpoint } from '@cdktf/provider-azurerm/lib/private-endpoint';
import { Construct } from 'constructs';
import { resourceName } from '../naming';
import { HostPlacement } from '../host-placement';

/** A resource the host reads privately, and the private-link sub-resource and DNS zone for it. */
export interface PrivateTarget {
  /** Short name in resource names, for example `kv`. */
  readonly slug: string;
  readonly resourceId: string;
  /** Private-link sub-resource, for example `vault` or `blob`. */
  readonly subresource: string;
  /** Its private DNS zone, for example `privatelink.vaultcore.azure.net`. */
  readonly dnsZoneName: string;
  /**
   * An existing zone (a hub's central DNS) to register in instead of creating one.
   * @default - a zone is created and linked to the VNet
   */
  readonly existingDnsZoneId?: string;
}

/** Props of {@link PrivateEndpoints}. */
export interface PrivateEndpointsProps extends HostPlacement {
  readonly subnetId: string;
  readonly virtualNetworkId: string;
  readonly targets: readonly PrivateTarget[];
}

/** Private-link DNS zone of Key Vault (Azure docs, "Azure Private Endpoint private DNS zone values"). */
export const KEY_VAULT_PRIVATE_DNS_ZONE = 'privatelink.vaultcore.azure.net';

/**
 * Private endpoints for what the Airflow pods read (Key Vault), registered in private DNS zones
 * linked to the host's VNet, so the pods reach them over the VNet.
 */
export class PrivateEndpoints extends Construct {
  /** One endpoint per target, by slug. */
  public readonly endpoints: Readonly<Record<string, PrivateEndpoint>>;

  constructor(scope: Construct, id: string, props: PrivateEndpointsProps) {
    super(scope, id);
    const endpoints: Record<string, PrivateEndpoint> = {};
    for (const target of props.targets) {
      const zoneId = target.existingDnsZoneId ?? this.linkedZone(props, target);
      endpoints[target.slug] = new PrivateEndpoint(this, `Endpoint-${target.slug}`, {
        name: resourceName('pe', `${props.namePrefix}-${target.slug}`),
        resourceGroupName: props.resourceGroup.name,
        location: props.location,
        subnetId: props.subnetId,
        privateServiceConnection: {
          name: `${target.slug}-${target.subresource}`,
          privateConnectionResourceId: target.resourceId,
          subresourceNames: [target.subresource],
          isManualConnection: false,
        },
        privateDnsZoneGroup: { name: 'default', privateDnsZoneIds: [zoneId] },
        tags: props.tags,
      });
    }
    this.endpoints = endpoints;
  }

  private linkedZone(props: PrivateEndpointsProps, target: PrivateTarget): string {
    const zone = new PrivateDnsZone(this, `Zone-${target.slug}`, {
      name: target.dnsZoneName,
      resourceGroupName: props.resourceGroup.name,
      tags: props.tags,
    });
    new PrivateDnsZoneVirtualNetworkLink(this, `ZoneLink-${target.slug}`, {
      name: 'airflow-vnet',
      resourceGroupName: props.resourceGroup.name,
      privateDnsZoneName: zone.name,
      virtualNetworkId: props.virtualNetworkId,
      tags: props.tags,
    });
    return zone.id;
  }
}
