import { KeyVault } from '@cdktf/provider-azurerm/lib/key-vault';
import { Construct } from 'constructs';
import { applyProtection } from '../core/protection';
import { IKeyVault, IResourceGroup } from '../core/references';

/** Props of {@link CredentialVault}. */
export interface CredentialVaultProps {
  readonly resourceGroup: IResourceGroup;
  readonly vaultName: string;
  readonly location: string;
  readonly tenantId: string;
  readonly tags?: Readonly<Record<string, string>>;
  /** @default true */
  readonly preventDestroy?: boolean;
  /** @default false */
  readonly lock?: boolean;
  /**
   * Network default action. `Allow` because the managed Airflow has no fixed egress addresses
   * to allow-list; access is still Entra ID + RBAC only.
   * @default "Allow"
   */
  readonly networkDefaultAction?: 'Allow' | 'Deny';
  /** IP ranges allowed when the default action is `Deny`. @default [] */
  readonly allowedIpRanges?: readonly string[];
}

/**
 * The Key Vault holding the SQL credentials: the linked services' connection strings and the
 * Airflow connections (`airflow-connections-<id>`). RBAC only, purge protection, soft delete;
 * Terraform never writes a secret, so no credential reaches the state or the synthesized JSON.
 */
export class CredentialVault extends Construct implements IKeyVault {
  public readonly vault: KeyVault;
  public readonly id: string;
  public readonly name: string;
  public readonly vaultUri: string;

  constructor(scope: Construct, id: string, props: CredentialVaultProps) {
    super(scope, id);
    const preventDestroy = props.preventDestroy ?? true;
    this.vault = new KeyVault(this, 'Vault', {
      name: props.vaultName,
      resourceGroupName: props.resourceGroup.name,
      location: props.location,
      tenantId: props.tenantId,
      skuName: 'standard',
      rbacAuthorizationEnabled: true,
      purgeProtectionEnabled: true,
      softDeleteRetentionDays: 90,
      publicNetworkAccessEnabled: true,
      networkAcls: {
        defaultAction: props.networkDefaultAction ?? 'Allow',
        bypass: 'AzureServices',
        ipRules: props.allowedIpRanges ? [...props.allowedIpRanges] : undefined,
      },
      tags: props.tags,
      lifecycle: preventDestroy ? { preventDestroy: true } : undefined,
    });
    this.id = this.vault.id;
    this.name = this.vault.name;
    this.vaultUri = this.vault.vaultUri;
    applyProtection(this, 'Key Vault', this.vault, { preventDestroy, lock: props.lock ?? false });
  }
}
