import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { RoleDefinition } from '@cdktf/provider-azurerm/lib/role-definition';
import { Fn, Token } from 'cdktf';
import { Construct } from 'constructs';
import { GrantOptions, IGrantee } from './core/grants';
import { IResourceGroup } from './core/references';
import { IMigrationService } from './migration-service';
import { STORAGE_ACCOUNT_ID, TARGET_RESOURCE_ID } from './plan/rules';
import { TargetKind } from './plan/types';
import { resourceGroupIdOf, roleDefinitionIdIn } from './private/arm-ids';
import { uniqueSuffix } from './private/naming';
import { MIGRATION_SERVICE, RESOURCE_GROUP, checkArmId, requireProps, IF_GIVEN } from './private/prop-checks';
import { moveFromFormerId } from './private/retired-addresses';
import { assignRole } from './private/role-assignment';
import { warn } from './core/warnings';

/** A migration target the operator may act on. */
export interface MigrationTargetRef {
  /** What the target is; decides which target-side actions the role gets. */
  readonly kind: TargetKind;
  /** ARM id of the managed instance, logical server or SQL virtual machine. */
  readonly resourceId: string;
}

/** Props of {@link MigrationOperatorRole}. */
export interface MigrationOperatorRoleProps {
  /** Where the role definition is created. */
  readonly resourceGroup: IResourceGroup;
  /** Makes the role name unique in the tenant (the plan name). */
  readonly namePrefix: string;
  /** The migration service the role may run migrations on. */
  readonly migrationService: IMigrationService;
  /** The targets the role may create, read and remove migrated databases on. */
  readonly targets: readonly MigrationTargetRef[];
  /**
   * ARM id of the storage account DMS stages SqlMi / SqlVm backups in (the plan's
   * `backupStorage`): the role may read it, nothing more.
   * @default - no storage right
   */
  readonly backupStorageAccountId?: string;
  /**
   * Whether some database migrates online (to a SqlMi or SqlVm target; the plan's
   * `databases[].mode`): only an online migration is cut over, so only then does the role get
   * `databaseMigrations/cutover/action`. `DatabaseMigrationStack` passes what its plan says.
   * @default true (with a SqlMi or SqlVm target)
   */
  readonly onlineMigrations?: boolean;
}

/**
 * Completing an online migration: the DAG's `cutover` task, which only online migrations have (an
 * offline one finishes by itself after the final backup DMS was told of). Only SqlMi and SqlVm
 * migrations may be online (the DAG's `ONLINE_CAPABLE_KINDS`): DMS migrates to SqlDb offline only,
 * with no cutover, and Microsoft's custom role for SqlDb targets (`resource-custom-roles-sql-database-ads.md`)
 * leaves this action out.
 */
const CUTOVER_ACTION = 'Microsoft.DataMigration/databaseMigrations/cutover/action';
const CUTOVER_KINDS: readonly TargetKind[] = ['SqlMi', 'SqlVm'];

/**
 * Actions to run, watch, cut over (with SqlMi or SqlVm targets) and roll back DMS migrations, after
 * Microsoft's documented minimal custom roles for DMS ("Custom roles for SQL Server to Azure SQL
 * Managed Instance migrations"), less the actions the DAG never needs: managing the service, its
 * storage keys, its runtime nodes' monitoring data (`listMonitoringData/action`,
 * `MonitoringData/read`: the DAG reads the runtime's state from the service itself), and deleting a
 * migration resource (`databaseMigrations/delete`: a new start sends its create over an ended migration).
 */
const MIGRATION_ACTIONS = [
  'Microsoft.DataMigration/databaseMigrations/read',
  'Microsoft.DataMigration/databaseMigrations/write',
  'Microsoft.DataMigration/databaseMigrations/cancel/action',
  CUTOVER_ACTION,
  'Microsoft.DataMigration/sqlMigrationServices/read',
  'Microsoft.DataMigration/sqlMigrationServices/listMigrations/read',
] as const;

/**
 * Polling DMS's long-running operations (`/subscriptions/<s>/providers/Microsoft.DataMigration/
 * locations/<region>/...`). The status URL is not under the resource, so a role on the resource
 * cannot read it: Microsoft ("Track asynchronous Azure operations", permission for tracking async
 * status) asks for the permission at the resource group. Hence a second role with only these reads,
 * assigned on the resource groups of the migration service and the targets.
 */
const OPERATION_POLLING_ACTIONS = [
  'Microsoft.DataMigration/locations/operationResults/read',
  'Microsoft.DataMigration/locations/operationStatuses/read',
  'Microsoft.DataMigration/locations/sqlMigrationServiceOperationResults/read',
] as const;

/**
 * A rollback deletes a RESTORING managed-instance database and waits on the delete, whose status is
 * at `.../Microsoft.Sql/locations/<region>/managedDatabaseAzureAsyncOperation/<id>` (and
 * `managedDatabaseOperationResults`). Those reads are not in Microsoft.Sql's published operations
 * list, so a role naming them may be refused; this role grants them as Microsoft's built-in SQL
 * Managed Instance Contributor does, with every read under `Microsoft.Sql/locations`, only with SqlMi targets.
 */
const MANAGED_DATABASE_POLLING_ACTIONS = ['Microsoft.Sql/locations/*/read'] as const;

/**
 * Microsoft's custom role for SqlMi also lists `listkeys/action` and blob service reads and
 * writes, for tools that fetch the account key and browse containers; the DAG passes the key it
 * reads from its own connection, so reading the account (DMS's linked-resource check) is all.
 */
const BACKUP_STORAGE_ACTIONS = ['Microsoft.Storage/storageAccounts/read'] as const;

/**
 * Target-side actions per kind, as Microsoft's custom roles for DMS list them for SqlMi (`resource-custom-roles-sql-db-managed-instance-ads.md`),
 * SqlDb (`resource-custom-roles-sql-database-ads.md`) and SqlVm (`resource-custom-roles-sql-db-virtual-machine-ads.md`),
 * write on the server, instance or VM included. The DAG itself only reads and deletes managed-instance
 * databases (a rollback); the rest is what those roles give whoever starts DMS migrations, and no
 * Microsoft document says DMS does without it. Except deleting a SqlDb database: DMS copies into a
 * database that existed before the migration (created and given its schema beforehand), which a
 * rollback never removes, so that right could only delete data that was there before. What needs
 * each action: `docs/permissions.md`.
 */
const TARGET_ACTIONS: Record<TargetKind, readonly string[]> = {
  SqlMi: [
    'Microsoft.Sql/managedInstances/read',
    'Microsoft.Sql/managedInstances/write',
    'Microsoft.Sql/managedInstances/databases/read',
    'Microsoft.Sql/managedInstances/databases/write',
    'Microsoft.Sql/managedInstances/databases/delete',
  ],
  SqlDb: [
    'Microsoft.Sql/servers/read',
    'Microsoft.Sql/servers/write',
    'Microsoft.Sql/servers/databases/read',
    'Microsoft.Sql/servers/databases/write',
  ],
  SqlVm: ['Microsoft.SqlVirtualMachine/sqlVirtualMachines/read', 'Microsoft.SqlVirtualMachine/sqlVirtualMachines/write'],
};

/**
 * A custom role with just what the orchestration needs to run migrations, assignable only to the
 * migration service, the plan's targets and the backup storage account, instead of Contributor or
 * Owner anywhere; and a second one that only reads DMS operation statuses, on their resource groups.
 */
export class MigrationOperatorRole extends Construct {
  /** The custom role definition (scoped to the resource group, assignable to the service and targets). */
  public readonly roleDefinition: RoleDefinition;
  /** `Database Migration Operator (<name prefix>)`, unique in the tenant. */
  public readonly roleName: string;
  /** `Database Migration Operation Reader (<name prefix>)`: polls DMS operations, assigned per resource group. */
  public readonly operationReaderDefinition: RoleDefinition;
  private readonly scopes: readonly string[];
  private readonly resourceGroupScopes: readonly string[];

  constructor(scope: Construct, id: string, props: MigrationOperatorRoleProps) {
    requireProps(scope, id, 'MigrationOperatorRole', props, {
      resourceGroup: RESOURCE_GROUP,
      namePrefix: 'string',
      migrationService: MIGRATION_SERVICE,
      targets: { each: { kind: 'string', resourceId: 'string' } },
      backupStorageAccountId: IF_GIVEN.string,
      onlineMigrations: IF_GIVEN.boolean,
    });
    super(scope, id);
    props.targets.forEach(({ kind, resourceId }, index) => {
      const expected = TARGET_RESOURCE_ID[kind];
      if (!Token.isUnresolved(resourceId) && !expected.pattern.test(resourceId)) {
        throw new Error(`targets[${index}].resourceId: "${resourceId}" is not the ARM id of a ${kind} target (${expected.example})`);
      }
    });
    checkArmId(this, 'backupStorageAccountId', props.backupStorageAccountId, STORAGE_ACCOUNT_ID);
    this.roleName = `Database Migration Operator (${props.namePrefix})`;
    const kinds = [...new Set(props.targets.map((t) => t.kind))].sort();
    const cutsOver = (props.onlineMigrations ?? true) && kinds.some((kind) => CUTOVER_KINDS.includes(kind));
    const backup = props.backupStorageAccountId;
    this.scopes = unique([props.migrationService.id, ...props.targets.map((t) => t.resourceId), ...(backup ? [backup] : [])]);
    const targetGroups = props.targets.map(({ resourceId }, index) => {
      if (Token.isUnresolved(resourceId)) {
        warn(this, 'migration:operator-role:target-reference',
          `targets[${index}].resourceId is a reference: its resource group is known only at apply, and the operation reader ` +
            'assigned there is refused as a duplicate if that is the role\'s own resource group or another target\'s (give the literal ARM id then)',
        );
      }
      return resourceGroupIdOf(this, `targets[${index}].resourceId`, resourceId);
    });
    this.resourceGroupScopes = unique([props.resourceGroup.id, ...targetGroups]);
    const backupGroup = backup ? [resourceGroupIdOf(this, 'backupStorageAccountId', backup)] : [];
    // A resource group read from a reference may repeat another: Terraform, which knows both, drops it.
    const deferred = [...props.targets.map((t) => t.resourceId), ...(backup ? [backup] : [])].some((id) => Token.isUnresolved(id));
    const assignable = (scopes: readonly string[]) => (deferred ? Token.asList(Fn.distinct(unique(scopes))) : unique(scopes));

    this.roleDefinition = new RoleDefinition(this, 'Definition', {
      name: this.roleName,
      scope: props.resourceGroup.id,
      description: `Runs, watches, ${cutsOver ? 'cuts over ' : ''}and rolls back the database migrations of plan ${props.namePrefix}`,
      permissions: [
        {
          actions: [
            ...MIGRATION_ACTIONS.filter((action) => action !== CUTOVER_ACTION || cutsOver),
            ...kinds.flatMap((k) => TARGET_ACTIONS[k]),
            ...(backup ? BACKUP_STORAGE_ACTIONS : []),
          ],
        },
      ],
      assignableScopes: assignable([...this.resourceGroupScopes, ...backupGroup]),
    });
    this.operationReaderDefinition = new RoleDefinition(this, 'OperationReader', {
      name: `Database Migration Operation Reader (${props.namePrefix})`,
      scope: props.resourceGroup.id,
      description: `Reads the status of the Database Migration Service operations of plan ${props.namePrefix}`,
      permissions: [{ actions: [...OPERATION_POLLING_ACTIONS, ...(kinds.includes('SqlMi') ? MANAGED_DATABASE_POLLING_ACTIONS : [])] }],
      assignableScopes: assignable(this.resourceGroupScopes),
    });
  }

  /**
   * Lets `grantee` run the plan's migrations: the operator role on the migration service, every
   * target and the backup storage, and the operation reader on their resource groups. The
   * assignments' ids are `<id>-<key>` and `<id>-operations-<key>`, `options.id` defaulting to
   * `Operator`: the key is `0` for the migration service and the own resource group, 8 hex digits of
   * a hash of the scope's ARM id for the others (a reference's place in the list where it is not
   * literal), so adding or removing a target moves no other assignment.
   */
  public grantRunMigrations(grantee: IGrantee, options: GrantOptions = {}): RoleAssignment[] {
    const id = options.id ?? 'Operator';
    const assign = (assignmentId: string, definition: RoleDefinition, scope: string) =>
      assignRole(this, assignmentId, grantee, {
        resourceId: scope,
        // In the stack's own subscription the value is the one it was (its role_definition_resource_id): nothing is replaced.
        roleDefinitionId: roleDefinitionIdIn(scope, definition),
        description: options.description ?? `${definition.nameInput} for ${id}`,
      });
    const assignAll = (prefix: string, definition: RoleDefinition, scopes: readonly string[]) =>
      scopes.map((scope, index) => {
        const key = assignmentKey(scope, index);
        const assignment = assign(`${prefix}-${key}`, definition, scope);
        // Earlier versions numbered every assignment by its place in the list.
        if (key !== String(index)) moveFromFormerId(this, `${prefix}-${index}`, assignment);
        return assignment;
      });
    return [...assignAll(id, this.roleDefinition, this.scopes), ...assignAll(`${id}-operations`, this.operationReaderDefinition, this.resourceGroupScopes)];
  }
}

/**
 * The id suffix of the assignment on `scope`, the `index`th of its list. A scope's assignment keeps
 * its Terraform address whatever else the plan adds or removes (its scope is ForceNew: a new scope at
 * an old address would delete the grant and re-create it mid-migration, and Azure refuses the
 * duplicate that the shifted list creates meanwhile): a literal ARM id is keyed by its hash. The
 * first scope (the migration service, the own resource group) is always first and keeps `0`; a
 * reference, whose text changes with the construct tree, keeps its place in the list.
 */
function assignmentKey(scope: string, index: number): string {
  if (index === 0 || Token.isUnresolved(scope)) return String(index);
  return uniqueSuffix(scope.toLowerCase(), 8);
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
