import { DataAzurermClientConfig } from '@cdktf/provider-azurerm/lib/data-azurerm-client-config';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { Construct } from 'constructs';
import { GrantOptions, IGrantee } from '../core/grants';
import { DagBundle } from '../orchestration-factory/dag-bundle';
import { DAG_CONTAINER_NAME, DagStorage, DagStorageProps } from '../orchestration-factory/dag-storage';
import { HostPlacement } from '../private/host-placement';
import { nameSeed, storageAccountName } from '../private/naming';
import { DAG_BUNDLE, RESOURCE_GROUP, checkGuid, requireProps, IF_GIVEN, DAG_STORAGE_SETTINGS } from '../private/prop-checks';
import { assignRole } from '../private/role-assignment';
import { BuiltInRole } from '../private/role-names';
import { checkRegion } from '../private/azure-regions';

/** Settings of the DAG storage account (secure defaults; weakening one warns). */
export type DagStorageSettings = Omit<DagStorageProps, 'resourceGroup' | 'accountName' | 'location' | 'tags' | 'bundle'>;

/** Props of {@link HostDagStorage}. */
export interface HostDagStorageProps extends HostPlacement {
  /** The files to upload. */
  readonly bundle: DagBundle;
  /** Principal that uploads the blobs with Entra ID (shared keys are off). @default - the identity running Terraform */
  readonly deployerPrincipalId?: string;
  /** Settings of the account. @default - secure defaults */
  readonly settings?: DagStorageSettings;
}

/**
 * The DAG bundle in a storage account, for hosts that read it from there (an existing Data Factory
 * environment imports it; an external Airflow syncs it): the account, the `airflow-dags`
 * container, one blob per file, and the deployer's upload role with its propagation wait.
 */
export class HostDagStorage extends Construct {
  /** The account, its container and blobs. */
  public readonly storage: DagStorage;
  /** ARM id of the account. */
  public readonly accountId: string;
  /** `https://<account>.blob.core.windows.net/airflow-dags`: where the bundle is. */
  public readonly containerUrl: string;

  constructor(scope: Construct, id: string, props: HostDagStorageProps) {
    requireProps(scope, id, 'HostDagStorage', props, {
      bundle: DAG_BUNDLE,
      resourceGroup: RESOURCE_GROUP,
      location: 'string',
      namePrefix: 'string',
      deployerPrincipalId: IF_GIVEN.string,
      settings: DAG_STORAGE_SETTINGS,
      tags: IF_GIVEN.map,
    });
    super(scope, id);
    checkGuid(this, 'deployerPrincipalId', props.deployerPrincipalId);
    checkRegion(this, 'location', props.location);
    this.storage = new DagStorage(this, 'DagStorage', {
      ...props.settings,
      resourceGroup: props.resourceGroup,
      accountName: storageAccountName(props.namePrefix, 'dag', nameSeed(props.namePrefix, props.location)),
      location: props.location,
      tags: props.tags,
      bundle: props.bundle,
    });
    this.accountId = this.storage.account.id;
    this.containerUrl = `${this.storage.account.primaryBlobEndpoint}${DAG_CONTAINER_NAME}`;
    // Roles on the account, not its container: the account holds that one container and nothing else.
    const uploader = new RoleAssignment(this, 'DeployerUploadsDags', {
      scope: this.accountId,
      roleDefinitionName: BuiltInRole.STORAGE_BLOB_DATA_CONTRIBUTOR,
      principalId: props.deployerPrincipalId ?? new DataAzurermClientConfig(this, 'Client', {}).objectId,
      description: 'Terraform uploads the DAG bundle with Entra ID (database migration)',
    });
    this.storage.waitForUploaderRole(uploader);
  }

  /**
   * Lets `grantee` read the bundle: `Storage Blob Data Reader` on the account.
   * `options.id` defaults to `ReadsDags`.
   */
  public grantRead(grantee: IGrantee, options: GrantOptions = {}): RoleAssignment {
    return assignRole(this, options.id ?? 'ReadsDags', grantee, {
      resourceId: this.accountId,
      roleDefinitionName: BuiltInRole.STORAGE_BLOB_DATA_READER,
      description: options.description ?? 'Reads the DAG bundle of a database migration',
    });
  }
}
