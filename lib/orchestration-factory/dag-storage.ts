import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { StorageAccount } from '@cdktf/provider-azurerm/lib/storage-account';
import { StorageBlob } from '@cdktf/provider-azurerm/lib/storage-blob';
import { StorageContainer } from '@cdktf/provider-azurerm/lib/storage-container';
import type { Sleep } from '@cdktf/provider-time/lib/sleep';
import { Construct } from 'constructs';
import { ResourceLock } from '../core/protection';
import { IResourceGroup } from '../core/references';
import { defaultProviderBlock } from '../private/ensure-provider';
import { addLock } from '../private/protection';
import { secureDefault } from '../private/secure-default';
import { waitForRoles } from '../private/role-propagation';
import { waitFor } from '../private/wait-for';
import { DagBundle } from './dag-bundle';
import { checkRegion } from '../private/azure-regions';
import { DAG_BUNDLE, RESOURCE_GROUP, requireProps, IF_GIVEN, DAG_STORAGE_SETTINGS, checkStorageAccountName } from '../private/prop-checks';
import { warn } from '../core/warnings';

/** How long the first apply waits after granting a data-plane role on storage: most arrive within two minutes. */
export const UPLOADER_ROLE_PROPAGATION = '120s';

/** Name of the container an adopted Data Factory environment imports from and an external Airflow syncs from. */
export const DAG_CONTAINER_NAME = 'airflow-dags';

/** Props of {@link DagStorage}. */
export interface DagStorageProps {
  /** Where the account is created. */
  readonly resourceGroup: IResourceGroup;
  /** Storage account name (3-24 lowercase letters and digits, globally unique). */
  readonly accountName: string;
  /** Azure region of the account. */
  readonly location: string;
  /**
   * Tags on the account.
   * @default - none
   */
  readonly tags?: Readonly<Record<string, string>>;
  /** The files to upload (see `dagBundleFor`). */
  readonly bundle: DagBundle;
  /**
   * Replication of the account.
   * @default "GRS" (geo-redundant: the DAG container is the deployment's source of truth)
   */
  readonly replicationType?: 'LRS' | 'ZRS' | 'GRS' | 'RAGRS' | 'GZRS' | 'RAGZRS';
  /**
   * Lowest TLS version the account accepts. `TLS1_2` is the only choice left: Azure Storage refuses
   * TLS 1.0 and 1.1 on every account since 2026-02-03, and cannot yet enforce 1.3 as a minimum.
   * @default "TLS1_2"
   */
  readonly minTlsVersion?: 'TLS1_2';
  /**
   * Refuse plain HTTP.
   * @default true (warns when false)
   */
  readonly httpsOnly?: boolean;
  /**
   * Allow containers and blobs to be made public.
   * @default false (warns when true)
   */
  readonly publicBlobAccess?: boolean;
  /**
   * Account keys and SAS. Off by default: Terraform uploads with Entra ID
   * (`storage_use_azuread`) and the factory imports with its managed identity.
   * @default false (warns when true)
   */
  readonly sharedAccessKeyEnabled?: boolean;
  /** Keep every previous version of every blob. @default true (warns when false) */
  readonly versioningEnabled?: boolean;
  /** Days deleted blobs and containers stay recoverable. @default 30 (warns when lower) */
  readonly softDeleteRetentionInDays?: number;
  /** `prevent_destroy` on the account. @default false (it only holds redeployable files) */
  readonly preventDestroy?: boolean;
  /** A management lock on the account. @default - no lock */
  readonly lock?: ResourceLock;
}

/** The storage account and `airflow-dags` container holding the DAG package and the plan. */
export class DagStorage extends Construct {
  /** The `azurerm_storage_account` resource. */
  public readonly account: StorageAccount;
  /** The `airflow-dags` container. */
  public readonly container: StorageContainer;
  /** One blob per bundle file. */
  public readonly blobs: readonly StorageBlob[];

  constructor(scope: Construct, id: string, props: DagStorageProps) {
    requireProps(scope, id, 'DagStorage', props, {
      resourceGroup: RESOURCE_GROUP,
      accountName: 'string',
      location: 'string',
      tags: IF_GIVEN.map,
      bundle: DAG_BUNDLE,
      ...DAG_STORAGE_SETTINGS.ifGiven,
    });
    super(scope, id);
    checkRegion(this, 'location', props.location);
    checkStorageAccountName(this, 'accountName', props.accountName);
    const softDeleteDays = secureDefault(this, 'softDeleteRetentionInDays', props.softDeleteRetentionInDays, 30, (d) => d < 30);
    if (!Number.isInteger(softDeleteDays) || softDeleteDays < 1 || softDeleteDays > 365) {
      throw new Error(`${this.node.path}: softDeleteRetentionInDays must be an integer from 1 to 365, got ${softDeleteDays}`);
    }
    const minTlsVersion: string = props.minTlsVersion ?? 'TLS1_2';
    if (minTlsVersion !== 'TLS1_2') {
      throw new Error(
        `${this.node.path}: minTlsVersion "${minTlsVersion}" is not one Azure Storage still accepts: it refuses TLS 1.0 and 1.1 on every account ` +
          'since 2026-02-03, so TLS1_2 (the default) is the lowest minimum',
      );
    }

    const sharedAccessKeyEnabled = secureDefault(this, 'sharedAccessKeyEnabled', props.sharedAccessKeyEnabled, false);
    this.account = new StorageAccount(this, 'Account', {
      name: props.accountName,
      resourceGroupName: props.resourceGroup.name,
      location: props.location,
      accountKind: 'StorageV2',
      accountTier: 'Standard',
      accountReplicationType: props.replicationType ?? 'GRS',
      minTlsVersion,
      httpsTrafficOnlyEnabled: secureDefault(this, 'httpsOnly', props.httpsOnly, true),
      allowNestedItemsToBePublic: secureDefault(this, 'publicBlobAccess', props.publicBlobAccess, false),
      sharedAccessKeyEnabled,
      defaultToOauthAuthentication: true,
      crossTenantReplicationEnabled: false,
      infrastructureEncryptionEnabled: true,
      blobProperties: {
        versioningEnabled: secureDefault(this, 'versioningEnabled', props.versioningEnabled, true),
        deleteRetentionPolicy: { days: softDeleteDays },
        containerDeleteRetentionPolicy: { days: softDeleteDays },
      },
      tags: props.tags,
      lifecycle: props.preventDestroy ? { preventDestroy: true } : undefined,
    });

    if (props.lock) {
      addLock(this, 'Lock', this.account, props.lock, 'Holds the DAG package and its version history; remove this lock before deleting the account.');
    }

    this.container = new StorageContainer(this, 'Container', {
      name: DAG_CONTAINER_NAME,
      storageAccountId: this.account.id,
      containerAccessType: 'private',
    });

    this.blobs = props.bundle.files.map(
      (file) =>
        new StorageBlob(this, `Blob-${file.blobName}`, {
          name: file.blobName,
          storageAccountName: this.account.name,
          storageContainerName: this.container.name,
          type: 'Block',
          sourceContent: file.content,
          contentMd5: file.contentMd5,
          contentType: file.contentType,
        }),
    );
    if (!sharedAccessKeyEnabled) warnWithoutEntraIdUploads(this);
  }

  /**
   * Makes every blob wait for `uploaderRole` and then for RBAC propagation: with
   * `storage_use_azuread`, azurerm reads a blob over Entra ID before creating it, so on the first
   * apply the upload fails until the deployer's `Storage Blob Data Contributor` has propagated.
   * A new assignment (a changed id) waits again.
   */
  public waitForUploaderRole(uploaderRole: RoleAssignment): Sleep {
    const propagation = waitForRoles(this, 'UploaderRolePropagation', UPLOADER_ROLE_PROPAGATION, {
      role_assignment_id: uploaderRole,
    });
    waitFor(this.blobs, [propagation]);
    return propagation;
  }
}

/**
 * At synth, once the stack is built: azurerm writes blobs with the account key unless its provider
 * says `storage_use_azuread` (or `ARM_STORAGE_USE_AZUREAD` is set where Terraform runs), and an
 * account without shared keys refuses that, so every blob would fail at apply.
 */
function warnWithoutEntraIdUploads(storage: DagStorage): void {
  storage.node.addValidation({
    validate: () => {
      const provider = defaultProviderBlock(storage, 'azurerm');
      if (provider !== undefined && (provider.storage_use_azuread === undefined || provider.storage_use_azuread === false)) {
        warn(storage, 'migration:dag-storage:storage-use-azuread',
          "the stack's azurerm provider does not set storageUseAzuread: true, and this storage account refuses account keys " +
            '(sharedAccessKeyEnabled false), so terraform apply fails every DAG blob with 403 KeyBasedAuthenticationNotPermitted: ' +
            'set storageUseAzuread: true on the AzurermProvider (DatabaseMigrationStack does), or ARM_STORAGE_USE_AZUREAD=true wherever Terraform runs',
        );
      }
      return [];
    },
  });
}
