import { Annotations, Token } from 'cdktf';
import { Construct } from 'constructs';
import { MonitorActionGroup } from '@cdktf/provider-azurerm/lib/monitor-action-group';
import { IResourceGroup } from '../core/references';
import { notificationsSchema } from '../plan/document-schema';

/** Azure's limit for an action group's short name (shown in SMS and email subjects). */
const ACTION_GROUP_SHORT_NAME_MAX = 12;

/** The action group part of {@link MigrationMonitoringProps}. */
export interface ActionGroupOptions {
  /** Email addresses the action group notifies (the plan's `notifications.emails`). */
  readonly emails: readonly string[];
  /**
   * Name of the action group.
   * @default 'migration-alerts'
   */
  readonly actionGroupName?: string;
  /**
   * Short name of the action group (at most 12 characters), shown in notifications.
   * @default 'migration'
   */
  readonly actionGroupShortName?: string;
}

/** The action group every alert acts through: one email receiver per address. */
export function migrationActionGroup(
  scope: Construct,
  options: ActionGroupOptions,
  resourceGroup: IResourceGroup,
  tags?: { [key: string]: string },
): MonitorActionGroup {
  const shortName = options.actionGroupShortName ?? 'migration';
  if (!Token.isUnresolved(shortName) && (shortName.length === 0 || shortName.length > ACTION_GROUP_SHORT_NAME_MAX)) {
    throw new Error(`actionGroupShortName must be 1 to ${ACTION_GROUP_SHORT_NAME_MAX} characters (got "${shortName}", ${shortName.length})`);
  }
  // The plan's rule for notifications.emails, for callers that pass addresses without a plan.
  const emailRule = notificationsSchema.shape.emails.element;
  options.emails.forEach((email, index) => {
    const checked = Token.isUnresolved(email) ? undefined : emailRule.safeParse(email);
    if (checked && !checked.success) {
      throw new Error(`emails[${index}] ${checked.error.issues[0].message} (got "${email}")`);
    }
  });
  if (options.emails.length === 0) {
    Annotations.of(scope).addWarning(`${scope.node.path}: emails is empty: alerts fire, but the action group notifies no one.`);
  }
  return new MonitorActionGroup(scope, 'ActionGroup', {
    name: options.actionGroupName ?? 'migration-alerts',
    shortName,
    resourceGroupName: resourceGroup.name,
    emailReceiver: options.emails.map((emailAddress, index) => ({
      name: `email-${index + 1}`,
      emailAddress,
      useCommonAlertSchema: true,
    })),
    tags,
  });
}
