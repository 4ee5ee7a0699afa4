import { Construct } from 'constructs';
import { AzapiResource } from './azapi/resource';
import { DataAzapiResourceAction } from './azapi/resource-action-data-source';
import { ResourceLock } from './core/protection';
import { IResourceGroup } from './core/references';
import { migrationServiceNameOf } from './private/arm-ids';
import { resourceName, validateNamePrefix } from './private/naming';
import { namedOutput } from './private/outputs';
import { LOCK, RESOURCE_GROUP, checkMigrationServiceName, requireProps, IF_GIVEN } from './private/prop-checks';
import { applyProtection } from './private/protection';
import { locationOrResourceGroup } from './private/azure-regions';

/** A Database Migration Service (`Microsoft.DataMigration/sqlMigrationServices`), created here or elsewhere. */
export interface IMigrationService {
  /** ARM id of the migration service. */
  readonly id: string;
  /** Name of the migration service. */
  readonly name: string;
}

/** Props of {@link MigrationService}. */
export interface MigrationServiceProps {
  /** Where the service is created. */
  readonly resourceGroup: IResourceGroup;
  /** Prefix of generated names (the plan name): lowercase letters, digits and single inner hyphens, at most 40 characters. */
  readonly namePrefix: string;
  /**
   * Name of the migration service.
   * @default `dms-<namePrefix>`
   */
  readonly serviceName?: string;
  /**
   * Azure region of the service.
   * @default - the resource group's location
   */
  readonly location?: string;
  /**
   * Tags on the service.
   * @default {}
   */
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * Publish the integration-runtime auth keys as sensitive Terraform outputs
   * (`<id>_auth_key_1`, `<id>_auth_key_2`) for registering the self-hosted runtime. Without them,
   * the keys stay out of the Terraform state too, unless something reads `authKey1` or `authKey2`
   * (fetch them when a node registers: `az datamigration sql-service list-auth-key`).
   * @default true
   */
  readonly exportAuthKeys?: boolean;
  /**
   * `prevent_destroy` on the service: a destroy or a replacement (another name or region) would take
   * the migrations in flight off their service, and a new service has new auth keys, so every
   * self-hosted runtime node would have to register again.
   * @default true (warns when false)
   */
  readonly preventDestroy?: boolean;
  /**
   * A management lock on the service, which stops deletion outside Terraform too. `CanNotDelete`
   * only: a `ReadOnly` lock refuses POST actions (Azure/azure-rest-api-specs#6363), and Terraform
   * reads the auth keys with one (`listAuthKeys`) on every plan.
   * @default - no lock
   */
  readonly lock?: ResourceLock;
}

/**
 * The current Azure Database Migration Service. DMS *classic* (`Microsoft.DataMigration/services`,
 * `azurerm_database_migration_service`) was retired on 2026-03-15 and azurerm has no resource for
 * its successor, so this construct uses AzAPI. Migrations themselves are started at run time by
 * the Airflow DAG; this only provides the service and the keys its self-hosted runtime needs.
 */
export class MigrationService extends Construct implements IMigrationService {
  /** Resource type and the stable API version it is deployed with. */
  public static readonly RESOURCE_TYPE = 'Microsoft.DataMigration/sqlMigrationServices@2025-06-30';

  /** Refer to a migration service that already exists, by its ARM id. */
  public static fromMigrationServiceId(id: string): IMigrationService {
    return { id, name: migrationServiceNameOf(id, 'MigrationService.fromMigrationServiceId') };
  }

  /** ARM id of the migration service. */
  public readonly id: string;
  /** Name of the migration service. */
  public readonly name: string;
  /** The underlying `azapi_resource`. */
  public readonly resource: AzapiResource;
  private authKeysAction?: DataAzapiResourceAction;

  constructor(scope: Construct, id: string, props: MigrationServiceProps) {
    requireProps(scope, id, 'MigrationService', props, {
      resourceGroup: RESOURCE_GROUP,
      namePrefix: 'string',
      serviceName: IF_GIVEN.string,
      location: IF_GIVEN.string,
      tags: IF_GIVEN.map,
      exportAuthKeys: IF_GIVEN.boolean,
      preventDestroy: IF_GIVEN.boolean,
      lock: LOCK,
    });
    super(scope, id);
    validateNamePrefix(this, props.namePrefix);
    checkMigrationServiceName(this, 'serviceName', props.serviceName);
    this.name = props.serviceName ?? resourceName('dms', props.namePrefix);
    const preventDestroy = props.preventDestroy ?? true;
    if (props.lock?.kind === 'ReadOnly') {
      throw new Error(
        `${this.node.path}: lock.kind ReadOnly would refuse listAuthKeys, the POST Terraform reads the runtime's auth keys with on every plan (a ReadOnly lock blocks POST actions); use CanNotDelete`,
      );
    }

    this.resource = new AzapiResource(this, 'Resource', {
      type: MigrationService.RESOURCE_TYPE,
      name: this.name,
      parentId: props.resourceGroup.id,
      location: locationOrResourceGroup(this, props),
      tags: props.tags,
      body: {},
      responseExportValues: [],
      lifecycle: preventDestroy ? { preventDestroy: true } : undefined,
    });
    this.id = this.resource.id;
    applyProtection(this, 'migration service', this, { preventDestroy, lock: props.lock });

    if (props.exportAuthKeys ?? true) {
      const description = 'Registers the self-hosted integration runtime with the migration service';
      namedOutput(this, 'auth-key-1', { value: this.authKey1, description, sensitive: true });
      namedOutput(this, 'auth-key-2', { value: this.authKey2, description, sensitive: true });
    }
  }

  /**
   * First integration-runtime auth key (a sensitive Terraform value). Reading it, or exporting the
   * keys, lists them (`listAuthKeys`) on every plan into the Terraform state, so a key regenerated in
   * DMS reaches the outputs with the next plan; otherwise they stay out of the state.
   */
  public get authKey1(): string {
    return this.authKeys().sensitiveOutputValue('authKey1');
  }

  /** Second integration-runtime auth key (a sensitive Terraform value), read like `authKey1`. */
  public get authKey2(): string {
    return this.authKeys().sensitiveOutputValue('authKey2');
  }

  // A data source, read on every plan: the resource form lists the keys only when it is created, and
  // its outputs would go on handing out a key that was regenerated since (azapi_resource_action's Read
  // keeps the state; azurerm's self-hosted runtime, by contrast, lists its keys on every refresh).
  private authKeys(): DataAzapiResourceAction {
    this.authKeysAction ??= new DataAzapiResourceAction(this, 'AuthKeys', {
      type: MigrationService.RESOURCE_TYPE,
      resourceId: this.resource.id,
      action: 'listAuthKeys',
      method: 'POST',
      sensitiveResponseExportValues: ['authKey1', 'authKey2'],
    });
    return this.authKeysAction;
  }
}
