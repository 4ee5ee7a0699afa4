import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { RoleDefinition } from '@cdktf/provider-azurerm/lib/role-definition';
import { Construct } from 'constructs';
import { IResourceGroup } from './core/references';
import { IMigrationService } from './migration-service';
import { TargetKind } from './plan/types';

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
}

/**
 * Actions to run, watch, cut over and roll back DMS migrations, after Microsoft's documented
 * minimal custom roles for DMS ("Custom roles for SQL Server to Azure SQL Managed Instance
 * migrations"), less the service-management and storage-key actions the DAG never needs.
 */
const MIGRATION_ACTIONS = [
  'Microsoft.DataMigration/databaseMigrations/read',
  'Microsoft.DataMigration/databaseMigrations/write',
  'Microsoft.DataMigration/databaseMigrations/delete',
  'Microsoft.DataMigration/databaseMigrations/cancel/action',
  'Microsoft.DataMigration/databaseMigrations/cutover/action',
  'Microsoft.DataMigration/locations/operationResults/read',
  'Microsoft.DataMigration/locations/operationStatuses/read',
  'Microsoft.DataMigration/locations/sqlMigrationServiceOperationResults/read',
  'Microsoft.DataMigration/sqlMigrationServices/read',
  'Microsoft.DataMigration/sqlMigrationServices/listMigrations/read',
  'Microsoft.DataMigration/sqlMigrationServices/listMonitoringData/action',
  'Microsoft.DataMigration/sqlMigrationServices/MonitoringData/read',
] as const;

/** Target-side actions per kind (reading the target, creating and removing the migrated database). */
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
    'Microsoft.Sql/servers/databases/read',
    'Microsoft.Sql/servers/databases/write',
    'Microsoft.Sql/servers/databases/delete',
  ],
  SqlVm: ['Microsoft.SqlVirtualMachine/sqlVirtualMachines/read', 'Microsoft.SqlVirtualMachine/sqlVirtualMachines/write'],
};

/**
 * A custom role with just what the orchestration needs to run migrations, assignable only to the
 * migration service and the plan's targets, instead of Contributor or Owner anywhere.
 */
export class MigrationOperatorRole extends Construct {
  /** The custom role definition (scoped to the resource group, assignable to the service and targets). */
  public readonly roleDefinition: RoleDefinition;
  /** `Database Migration Operator (<name prefix>)`, unique in the tenant. */
  public readonly roleName: string;
  private readonly scopes: readonly string[];

  constructor(scope: Construct, id: string, props: MigrationOperatorRoleProps) {
    super(scope, id);
    this.roleName = `Database Migration Operator (${props.namePrefix})`;
    const kinds = [...new Set(props.targets.map((t) => t.kind))].sort();
    this.scopes = [props.migrationService.serviceId, ...unique(props.targets.map((t) => t.resourceId))];

    this.roleDefinition = new RoleDefinition(this, 'Definition', {
      name: this.roleName,
      scope: props.resourceGroup.id,
      description: `Runs, watches, cuts over and rolls back the database migrations of plan ${props.namePrefix}`,
      permissions: [{ actions: [...MIGRATION_ACTIONS, ...kinds.flatMap((k) => TARGET_ACTIONS[k])] }],
      assignableScopes: unique([props.resourceGroup.id, ...props.targets.map((t) => resourceGroupIdOf(t.resourceId))]),
    });
  }

  /** Assigns the role to a principal on the migration service and on every target. */
  public grantTo(id: string, principalId: string, principalType: 'ServicePrincipal' | 'User' | 'Group' = 'ServicePrincipal'): void {
    this.scopes.forEach((scope, index) => {
      new RoleAssignment(this, `${id}-${index}`, {
        principalId,
        principalType,
        scope,
        roleDefinitionId: this.roleDefinition.roleDefinitionResourceId,
        description: `${this.roleName} for ${id}`,
      });
    });
  }
}

/** `/subscriptions/<s>/resourceGroups/<rg>` of an ARM resource id. */
export function resourceGroupIdOf(resourceId: string): string {
  const match = /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+)\//i.exec(resourceId);
  if (!match) {
    throw new Error(`"${resourceId}" is not an ARM resource id inside a resource group`);
  }
  return match[1];
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
