import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { MonitorActionGroup } from '@cdktf/provider-azurerm/lib/monitor-action-group';
import { IActionGroup, IResourceGroup } from '../core/references';
import { notificationsSchema } from '../plan/document-schema';
import { resourceName } from '../private/naming';
import { warn } from '../core/warnings';

/** Azure's limit for an action group's short name (shown in SMS and email subjects). */
const ACTION_GROUP_SHORT_NAME_MAX = 12;

/** The action group part of {@link MigrationMonitoringProps}. */
export interface ActionGroupOptions {
  /**
   * An existing action group every alert acts through; none is created, and its receivers are its
   * owner's (`emails` and the action group names then do not apply).
   * @default - creates one that notifies `emails`
   */
  readonly actionGroup?: IActionGroup;
  /**
   * Email addresses the created action group notifies (the plan's `notifications.emails`).
   * @default - none (warns: alerts would notify no one), or the receivers of `actionGroup`
   */
  readonly emails?: readonly string[];
  /**
   * Name of the action group, unique in its resource group.
   * @default `ag-<namePrefix>`
   */
  readonly actionGroupName?: string;
  /**
   * Short name of the action group (at most 12 characters), shown in notifications.
   * @default 'migration'
   */
  readonly actionGroupShortName?: string;
}

/** The action group every alert acts through: the given one, or a new one with one email receiver per address. */
export function migrationActionGroup(
  scope: Construct,
  options: ActionGroupOptions,
  resourceGroup: IResourceGroup,
  namePrefix: string,
  tags?: { [key: string]: string },
): IActionGroup {
  const emails = options.emails ?? [];
  if (options.actionGroup) {
    const created = (['emails', 'actionGroupName', 'actionGroupShortName'] as const).filter((prop) =>
      prop === 'emails' ? emails.length > 0 : options[prop] !== undefined,
    );
    if (created.length > 0) {
      throw new Error(
        `${scope.node.path}: ${created.join(', ')}: the existing actionGroup ${options.actionGroup.name} has its own receivers; add them there, or leave actionGroup out to create one`,
      );
    }
    return options.actionGroup;
  }
  const shortName = options.actionGroupShortName ?? 'migration';
  if (!Token.isUnresolved(shortName) && (shortName.length === 0 || shortName.length > ACTION_GROUP_SHORT_NAME_MAX)) {
    throw new Error(`${scope.node.path}: actionGroupShortName must be 1 to ${ACTION_GROUP_SHORT_NAME_MAX} characters (got "${shortName}", ${shortName.length})`);
  }
  // The plan's rule for notifications.emails, for callers that pass addresses without a plan.
  const emailRule = notificationsSchema.shape.emails.element;
  emails.forEach((email, index) => {
    const checked = Token.isUnresolved(email) ? undefined : emailRule.safeParse(email);
    if (checked && !checked.success) {
      throw new Error(`${scope.node.path}: emails[${index}] ${checked.error.issues[0].message} (got "${email}")`);
    }
  });
  if (emails.length === 0) {
    warn(scope, 'migration:monitoring:no-email-receivers', 'emails is empty: alerts fire, but the action group notifies no one.');
  }
  return new MonitorActionGroup(scope, 'ActionGroup', {
    name: options.actionGroupName ?? resourceName('ag', namePrefix),
    shortName,
    resourceGroupName: resourceGroup.name,
    emailReceiver: emails.map((emailAddress, index) => ({
      name: `email-${index + 1}`,
      emailAddress,
      useCommonAlertSchema: true,
    })),
    tags,
  });
}
