import { Construct } from 'constructs';
import { LogAnalyticsWorkspaceTableCustomLog } from '@cdktf/provider-azurerm/lib/log-analytics-workspace-table-custom-log';
import { MonitorDataCollectionEndpoint } from '@cdktf/provider-azurerm/lib/monitor-data-collection-endpoint';
import { MonitorDataCollectionRule } from '@cdktf/provider-azurerm/lib/monitor-data-collection-rule';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { GrantOptions, IGrantee } from '../core/grants';
import { IEventIngestion, ILogAnalyticsWorkspace, IResourceGroup } from '../core/references';
import { dataCollectionEndpointName, resourceName } from '../private/naming';
import { assignRole } from '../private/role-assignment';
import { BuiltInRole } from '../private/role-names';
import { eventsTableDependency, MIGRATION_EVENTS_STREAM, MIGRATION_EVENTS_TABLE, MIGRATION_EVENT_COLUMNS } from './migration-events';
import { locationOrResourceGroup } from '../private/azure-regions';
import { applyProtection } from '../private/protection';
import { LOG_ANALYTICS_WORKSPACE, RESOURCE_GROUP, requireProps, IF_GIVEN } from '../private/prop-checks';

/**
 * Who creates the `MigrationEvents_CL` table of a workspace: `create`, the first plan in it (its
 * owner); `existing`, every later plan sharing the workspace, whose rule routes to the owner's table.
 */
export type MigrationEventsTable = 'create' | 'existing';

/** The values of {@link MigrationEventsTable}, for the props checks of plain JavaScript (any other would create a table). */
export const MIGRATION_EVENTS_TABLES: readonly MigrationEventsTable[] = ['create', 'existing'];

/** Props of {@link MigrationEventIngestion}. */
export interface MigrationEventIngestionProps {
  /** Resource group of the endpoint and the rule. */
  readonly resourceGroup: IResourceGroup;
  /**
   * Region of the endpoint and the rule: Azure requires the workspace's region.
   * @default - the resource group's location
   */
  readonly location?: string;
  /** Prefix of the names `dce-<namePrefix>` and `dcr-<namePrefix>` (the plan name). */
  readonly namePrefix: string;
  /** The workspace that gets the events table. */
  readonly workspace: ILogAnalyticsWorkspace;
  /**
   * `existing` when another plan sharing the workspace created the table (it must exist before
   * this rule is applied): none is created here.
   * @default 'create'
   */
  readonly eventsTable?: MigrationEventsTable;
  /**
   * `prevent_destroy` on the events table it creates, so `terraform destroy` or a replacement cannot
   * delete the migration history in it: every plan's events, where plans share the workspace. Turn
   * off only for a throwaway environment.
   * @default true (warns when false)
   */
  readonly preventDestroy?: boolean;
  /**
   * Tags of the endpoint and the rule.
   * @default - none
   */
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * Where the DAG sends its migration events (Logs Ingestion API): the `MigrationEvents_CL` table
 * from the events contract, a data collection endpoint, and a rule that routes the contract's
 * stream unchanged into the table. {@link grantPublish} lets an identity send events.
 */
export class MigrationEventIngestion extends Construct implements IEventIngestion {
  /**
   * The custom table, unless `eventsTable` is `existing`; alerts on it depend on it, so Azure can
   * validate their queries.
   */
  public readonly table?: LogAnalyticsWorkspaceTableCustomLog;
  /** Logs ingestion URL of the data collection endpoint. */
  public readonly endpointUrl: string;
  /** ARM id of the data collection rule (the scope of the publisher role). */
  public readonly dataCollectionRuleId: string;
  /** Name of the data collection rule, `dcr-<namePrefix>`. */
  public readonly dataCollectionRuleName: string;
  /** Immutable id (`dcr-...`) the Logs Ingestion client takes as `rule_id`. */
  public readonly dataCollectionRuleImmutableId: string;
  /** `Custom-MigrationEvents_CL`. */
  public readonly streamName: string = MIGRATION_EVENTS_STREAM;
  /** `MigrationEvents_CL`. */
  public readonly tableName: string = MIGRATION_EVENTS_TABLE;

  constructor(scope: Construct, id: string, props: MigrationEventIngestionProps) {
    requireProps(scope, id, 'MigrationEventIngestion', props, {
      resourceGroup: RESOURCE_GROUP,
      location: IF_GIVEN.string,
      namePrefix: 'string',
      workspace: LOG_ANALYTICS_WORKSPACE,
      eventsTable: { ifGiven: { oneOf: MIGRATION_EVENTS_TABLES } },
      preventDestroy: IF_GIVEN.boolean,
      tags: IF_GIVEN.map,
    });
    super(scope, id);
    const location = locationOrResourceGroup(this, props);

    if ((props.eventsTable ?? 'create') === 'create') {
      const preventDestroy = props.preventDestroy ?? true;
      this.table = new LogAnalyticsWorkspaceTableCustomLog(this, 'EventsTable', {
        name: MIGRATION_EVENTS_TABLE,
        workspaceId: props.workspace.id,
        displayName: 'Migration events',
        description: 'One row per step of each database migration, written by the migration DAG.',
        plan: 'Analytics',
        column: MIGRATION_EVENT_COLUMNS.map((column) => ({
          name: column.name,
          type: column.tableType,
          description: column.description,
        })),
        lifecycle: preventDestroy ? { preventDestroy: true } : undefined,
      });
      applyProtection(this, `events table ${MIGRATION_EVENTS_TABLE} (with every event in it, of every plan sharing the workspace)`, this.table, { preventDestroy });
    }

    const endpoint = new MonitorDataCollectionEndpoint(this, 'EventsEndpoint', {
      name: dataCollectionEndpointName(props.namePrefix),
      resourceGroupName: props.resourceGroup.name,
      location,
      description: 'Logs Ingestion endpoint of the migration DAG.',
      // Airflow may run outside any VNet; every call still needs an Entra ID token with the
      // publisher role on the rule.
      publicNetworkAccessEnabled: true,
      tags: props.tags,
    });

    const destination = 'migrationWorkspace';
    // No `kind`: a rule used through a data collection endpoint by the Logs Ingestion API needs none.
    this.dataCollectionRuleName = resourceName('dcr', props.namePrefix);
    const rule = new MonitorDataCollectionRule(this, 'EventsRule', {
      name: this.dataCollectionRuleName,
      resourceGroupName: props.resourceGroup.name,
      location,
      description: `Routes ${MIGRATION_EVENTS_STREAM} from the migration DAG to ${MIGRATION_EVENTS_TABLE}.`,
      dataCollectionEndpointId: endpoint.id,
      streamDeclaration: [
        {
          streamName: MIGRATION_EVENTS_STREAM,
          column: MIGRATION_EVENT_COLUMNS.map((column) => ({ name: column.name, type: column.streamType })),
        },
      ],
      destinations: {
        logAnalytics: [{ name: destination, workspaceResourceId: props.workspace.id }],
      },
      dataFlow: [
        {
          streams: [MIGRATION_EVENTS_STREAM],
          destinations: [destination],
          outputStream: MIGRATION_EVENTS_STREAM,
          transformKql: 'source',
        },
      ],
      // Azure rejects a rule whose output stream names a table that does not exist yet.
      dependsOn: eventsTableDependency(this.table),
      tags: props.tags,
    });

    this.endpointUrl = endpoint.logsIngestionEndpoint;
    this.dataCollectionRuleId = rule.id;
    this.dataCollectionRuleImmutableId = rule.immutableId;
  }

  /**
   * Lets `grantee` (the identity the DAG runs as) send migration events: `Monitoring Metrics
   * Publisher` (which may send data to a data collection rule, and nothing more) on the rule only.
   * `options.id` defaults to `PublishEvents`.
   */
  public grantPublish(grantee: IGrantee, options: GrantOptions = {}): RoleAssignment {
    return assignRole(this, options.id ?? 'PublishEvents', grantee, {
      resourceId: this.dataCollectionRuleId,
      roleDefinitionName: BuiltInRole.MONITORING_METRICS_PUBLISHER,
      description: options.description ?? `Publish migration events to ${this.streamName}`,
    });
  }
}
