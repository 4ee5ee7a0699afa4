import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { LogAnalyticsWorkspace } from '@cdktf/provider-azurerm/lib/log-analytics-workspace';
import { ResourceLock } from '../core/protection';
import { ILogAnalyticsWorkspace, IResourceGroup } from '../core/references';
import { resourceName } from '../private/naming';
import { checkArmId, LOG_ANALYTICS_WORKSPACE_ID } from '../private/prop-checks';
import { addLock } from '../private/protection';
import { warn } from '../core/warnings';

/** PerGB2018 workspaces keep data 30 to 730 days. */
const RETENTION_DAYS_MIN = 30;
const RETENTION_DAYS_MAX = 730;

/** The workspace part of {@link MigrationMonitoringProps}. */
export interface MonitoringWorkspaceOptions {
  /**
   * An existing Log Analytics workspace to use; this construct then never changes or protects it.
   * @default - creates `log-<namePrefix>` (PerGB2018)
   */
  readonly workspace?: ILogAnalyticsWorkspace;
  /**
   * Days the created workspace keeps data (30-730). Ignored with an existing `workspace`.
   * @default 30
   */
  readonly retentionInDays?: number;
  /**
   * Whether the created workspace accepts shared-key (non-Entra ID) access. Nothing this library
   * deploys needs it. Ignored with an existing `workspace`.
   * @default false (warns when true)
   */
  readonly localAuthenticationEnabled?: boolean;
  /**
   * `prevent_destroy` on the construct's stateful resources, the created workspace and the events
   * table `monitorMigrationEvents` creates (in an existing `workspace` too), so `terraform destroy` or
   * a replacement cannot delete the migration history. Turn off for throwaway environments.
   * @default true (warns for each resource left without it)
   */
  readonly preventDestroy?: boolean;
  /**
   * A management lock on the created workspace, which also stops deletion outside Terraform
   * (portal, CLI). Remove the lock before deleting the workspace or its tables. Ignored with an
   * existing `workspace`.
   * @default - no lock
   */
  readonly lock?: ResourceLock;
}

/** Where the created workspace goes. */
export interface WorkspacePlacement {
  readonly resourceGroup: IResourceGroup;
  readonly location: string;
  readonly namePrefix: string;
  readonly tags?: Readonly<Record<string, string>>;
}

/** The given workspace (warning about options it makes moot), or a new protected one in `scope`. */
export function monitoringWorkspace(
  scope: Construct,
  options: MonitoringWorkspaceOptions,
  placement: WorkspacePlacement,
): ILogAnalyticsWorkspace {
  if (options.workspace) {
    checkArmId(scope, 'workspace.id', options.workspace.id, LOG_ANALYTICS_WORKSPACE_ID);
    const ignored = (['retentionInDays', 'localAuthenticationEnabled', 'lock'] as const).filter(
      (option) => options[option] !== undefined,
    );
    if (ignored.length > 0) {
      warn(scope, 'migration:monitoring:workspace-options-ignored', `${ignored.join(', ')} ignored: the workspace was passed in, and this construct never changes what it was handed.`);
    }
    return options.workspace;
  }

  const retentionInDays = options.retentionInDays ?? 30;
  if (
    !Token.isUnresolved(retentionInDays) &&
    (!Number.isInteger(retentionInDays) || retentionInDays < RETENTION_DAYS_MIN || retentionInDays > RETENTION_DAYS_MAX)
  ) {
    throw new Error(`${scope.node.path}: retentionInDays must be an integer from ${RETENTION_DAYS_MIN} to ${RETENTION_DAYS_MAX} (got ${retentionInDays})`);
  }
  const localAuthenticationEnabled = options.localAuthenticationEnabled ?? false;
  if (localAuthenticationEnabled) {
    warn(scope, 'migration:secure-default:localAuthenticationEnabled', 'localAuthenticationEnabled is true: the workspace accepts shared keys besides Entra ID tokens.');
  }
  const preventDestroy = options.preventDestroy ?? true;
  if (!preventDestroy) {
    warn(scope, 'migration:secure-default:preventDestroy', 'preventDestroy is false: `terraform destroy` or a replacement deletes the workspace and the migration history in it.');
  }

  const workspace = new LogAnalyticsWorkspace(scope, 'Workspace', {
    name: resourceName('log', placement.namePrefix),
    resourceGroupName: placement.resourceGroup.name,
    location: placement.location,
    sku: 'PerGB2018',
    retentionInDays,
    localAuthenticationEnabled,
    tags: placement.tags,
    lifecycle: preventDestroy ? { preventDestroy: true } : undefined,
  });
  if (options.lock) {
    addLock(scope, 'WorkspaceLock', workspace, options.lock, 'Holds the migration history; remove this lock before deleting the workspace.');
  }
  return workspace;
}
