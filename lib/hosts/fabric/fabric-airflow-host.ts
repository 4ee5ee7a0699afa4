import { ITerraformDependable, Postcondition, TerraformResource, Token } from 'cdktf';
import { Construct } from 'constructs';
import { FabricCapacity } from '@cdktf/provider-azurerm/lib/fabric-capacity';
import { APACHE_AIRFLOW_JOB_CONTENT_PART, FabricApacheAirflowJob } from '../../fabric/apache-airflow-job';
import { DataFabricCapacity } from '../../fabric/data-capacity';
import { FabricWorkspace } from '../../fabric/workspace';
import {
  FabricPrincipalType,
  FabricWorkspaceRole,
  FabricWorkspaceRoleAssignment,
} from '../../fabric/workspace-role-assignment';
import { servicePrincipalIdentity } from '../../private/airflow-identity';
import { capacityNameFromId } from '../../private/arm-ids';
import { FABRIC_AIRFLOW_VERSION, FABRIC_STARTER_POOL, airflowJobContent } from '../../private/fabric/airflow-job-content';
import { fabricCapacityName, newFabricCapacity } from '../../private/fabric/capacity';
import { FabricDagUpload } from '../../private/fabric/dag-files-upload';
import { waitFor } from '../../private/wait-for';
import { stagedAsset } from '../../private/fabric/staged-asset';
import { nameSeed, resourceName, uniqueSuffix, validateNamePrefix } from '../../private/naming';
import { moveFromFormerId } from '../../private/retired-addresses';
import { checkBundleForHost } from '../../private/bundle-checks';
import { SERVICE_PRINCIPAL, checkGuid, requireProps, IF_GIVEN } from '../../private/prop-checks';
import { poolsToCreateOutput } from '../../private/setup-outputs';
import { AirflowServicePrincipal, FabricHostSettings, supportedSqlAccess } from '../../plan/airflow-schema';
import { AIRFLOW_HOST_REQUIRED_PROPS, AirflowHostBaseProps, AirflowIdentity, AirflowPool, IAirflowHost, SqlAccessKind } from '../airflow-host';
import { DEFERRABLE_WAITS } from '../dag-environment';
import { checkRegion } from '../../private/azure-regions';
import { warn } from '../../core/warnings';

/**
 * The plan stops, saying what to do, when the capacity is paused: the fabric provider then refuses the
 * workspace ("Fabric Capacity is NOT in Active state", microsoft/terraform-provider-fabric#838), and Fabric
 * answers 404 for the items of a paused capacity, which an older provider took for deleted items to create
 * again (#141). The docs suggest pausing the capacity between migration waves.
 */
function activeCapacity(capacityName: string): Postcondition {
  const named = Token.isUnresolved(capacityName) ? 'the Fabric capacity' : `Fabric capacity ${capacityName}`;
  return {
    condition: '${self.state == "Active"}',
    errorMessage:
      `${named} is not Active (paused): resume it before terraform plan or apply, which read the workspace and the ` +
      'Apache Airflow job from it (docs/fabric-host.md, "Capacity sizing and cost drivers")',
  };
}

/** The token that carries the whole job definition (see {@link FabricAirflowHost}). */
const CONTENT_TOKEN = 'apacheAirflowJobContent';

/** Node size of the job's pool: Small (5 CU base) or Large (10 CU base) (the plan's `airflow.fabric.computeSize`). */
export type FabricComputeSize = FabricHostSettings['computeSize'];

/** A capacity SKU large enough for an Apache Airflow job (the plan's `airflow.fabric.capacity.sku`). */
export type FabricCapacitySku = NonNullable<FabricHostSettings['capacity']>['sku'];

/** A new Fabric capacity. */
export interface FabricCapacitySettings {
  /** Capacity SKU, F8 or larger. */
  readonly sku: FabricCapacitySku;
  /**
   * Capacity administrators: user principal names (`admin@contoso.com`) or, for service principals,
   * their enterprise application object ids. Include whoever runs Terraform: the Fabric provider
   * must be allowed to use the capacity to put the workspace on it.
   */
  readonly administrators: readonly string[];
}

/** A principal's role in the host's Fabric workspace. */
export interface FabricWorkspaceMember {
  /** Entra ID object id. */
  readonly principalId: string;
  /** Kind of principal. */
  readonly principalType: FabricPrincipalType;
  /** Workspace role; `Contributor` may edit the Airflow job (connections, pools), `Viewer` only monitor. */
  readonly role: FabricWorkspaceRole;
}

/** Props of {@link FabricAirflowHost}. */
export interface FabricAirflowHostProps extends AirflowHostBaseProps {
  /** The identity the DAG acts as in Azure; its secret never passes through the stack. */
  readonly servicePrincipal: AirflowServicePrincipal;
  /**
   * ARM id of an existing Fabric capacity to run on. Exactly one of `capacityId` and `capacity`.
   * @default - none: `capacity` creates one
   */
  readonly capacityId?: string;
  /**
   * A new capacity (F8 or larger) to create. Exactly one of `capacityId` and `capacity`.
   * @default - none: `capacityId` names an existing one
   */
  readonly capacity?: FabricCapacitySettings;
  /**
   * Node size of a custom pool: Small (5 CU) or Large (10 CU). The Starter pool runs small nodes.
   * @default "Small"
   */
  readonly computeSize?: FabricComputeSize;
  /**
   * Pool the job runs on: `StarterPool` (starts on demand, stops after about 20 idle minutes) or
   * the name of a custom pool created in the workspace settings (always on; for production).
   * @default "StarterPool"
   */
  readonly computePool?: string;
  /**
   * Workspace roles besides the deployer's (who becomes Admin by creating the workspace).
   * @default - none
   */
  readonly workspaceMembers?: readonly FabricWorkspaceMember[];
}

/**
 * Apache Airflow jobs in Microsoft Fabric as the DAG's host (Airflow 2.10.5, Python 3.12): a
 * workspace on a Fabric capacity (existing or new), an Apache Airflow job whose definition sets
 * the requirements, environment variables, triggerer and pool, and a deployment step that uploads
 * the DAG files through the Fabric files API.
 *
 * What this host cannot do, and says so: reach SQL Server (no VNet: SQL goes through Data
 * Factory), create Airflow pools (Fabric has no API for them: they are output for an operator),
 * or hold the service principal's secret (an operator sets it in Fabric; see docs/fabric-host.md).
 */
export class FabricAirflowHost extends Construct implements IAirflowHost {
  /** Always `fabric`. */
  public readonly kind = 'fabric' as const;
  /** 2.10.5, the version Fabric's Apache Airflow jobs run. */
  public readonly airflowVersion = FABRIC_AIRFLOW_VERSION;
  /** Fabric Airflow jobs have no private network: only Data Factory's runtimes reach SQL Server. */
  public readonly supportedSqlAccess: readonly SqlAccessKind[] = supportedSqlAccess('fabric');
  /** The plan's service principal, which the job runs the DAG as. */
  public readonly identity: AirflowIdentity;
  /** The capacity the stack created; undefined when it runs on an existing one. */
  public readonly capacity?: FabricCapacity;
  /** The Fabric workspace. */
  public readonly workspace: FabricWorkspace;
  /** The Apache Airflow job. */
  public readonly airflowJob: FabricApacheAirflowJob;
  /** Paths of the DAG files the deployment step uploads to the job (`dags/...`). */
  public readonly uploadedDagFiles: readonly string[];
  /** The job definition (`apacheairflowjob-content.json`) as sent to Fabric. */
  public readonly jobContent: Record<string, unknown>;
  /** Pools the DAG needs and Fabric cannot be told to create: an operator creates them. */
  public readonly poolsToCreate: readonly AirflowPool[];
  private readonly dagUpload: TerraformResource;

  constructor(scope: Construct, id: string, props: FabricAirflowHostProps) {
    requireProps(scope, id, 'FabricAirflowHost', props, {
      ...AIRFLOW_HOST_REQUIRED_PROPS,
      servicePrincipal: SERVICE_PRINCIPAL,
      capacityId: IF_GIVEN.string,
      capacity: { ifGiven: { sku: 'string', administrators: { each: 'string', listToken: 'passedOn' } } },
      computeSize: IF_GIVEN.string,
      computePool: IF_GIVEN.string,
      workspaceMembers: { ifGiven: { each: { principalId: 'string', principalType: 'string', role: 'string' } } },
    });
    super(scope, id);
    validateNamePrefix(this, props.namePrefix);
    checkBundleForHost(this, props);
    checkRegion(this, 'location', props.location);
    (props.workspaceMembers ?? []).forEach((member, index) => checkGuid(this, `workspaceMembers[${index}].principalId`, member.principalId));
    if ((props.capacityId === undefined) === (props.capacity === undefined)) {
      throw new Error('airflow.fabric: set exactly one of capacityId (an existing capacity) and capacity (a new one)');
    }
    this.identity = servicePrincipalIdentity(this, props.servicePrincipal);
    this.poolsToCreate = [...props.pools];

    let capacityName: string;
    if (props.capacity) {
      this.capacity = newFabricCapacity(this, props.capacity, {
        // A literal seed: a reference's token text would change the name, and replace the capacity.
        name: fabricCapacityName(props.namePrefix, nameSeed(props.namePrefix, props.location)),
        resourceGroup: props.resourceGroup,
        location: props.location,
        tags: props.tags,
      });
      capacityName = this.capacity.name;
    } else {
      capacityName = capacityNameFromId(props.capacityId as string, 'airflow.fabric.capacityId');
    }
    // fabric_workspace wants the capacity's Fabric id (a GUID), which only Fabric knows.
    const fabricCapacity = new DataFabricCapacity(this, 'FabricCapacity', {
      displayName: capacityName,
      lifecycle: { postcondition: [activeCapacity(capacityName)] },
    });

    this.workspace = new FabricWorkspace(this, 'Workspace', {
      displayName: resourceName('ws', props.namePrefix),
      description: `Apache Airflow job that runs the database migrations of plan ${props.namePrefix}`,
      capacityId: fabricCapacity.id,
    });
    const members = this.addWorkspaceMembers(props.workspaceMembers ?? []);

    const computeSize = props.computeSize ?? 'Small';
    const computePool = props.computePool ?? FABRIC_STARTER_POOL;
    this.warnAboutSize(computeSize, computePool, props.capacity);
    this.jobContent = airflowJobContent({
      requirements: props.bundle.requirements,
      environmentVariables: this.environmentWithIdentity(props),
      computeSize,
      computePool,
    });
    // The provider reads a definition part from a file, as a Go template. The whole content goes
    // in through one token, the JSON text with references (ids, endpoints) interpolated at apply,
    // as the Helm values of the Kubernetes host are; the file itself never changes. Not
    // jsonencode: cdktf cannot render a string that mixes double quotes and a reference (the
    // secrets backend's kwargs) inside an expression, and Terraform rejects what it writes.
    const template = stagedAsset(this, 'JobContentTemplate', new Map([['content.json.tmpl', `{{ .${CONTENT_TOKEN} }}`]]));
    this.airflowJob = new FabricApacheAirflowJob(this, 'AirflowJob', {
      workspaceId: this.workspace.id,
      displayName: resourceName('aaj', props.namePrefix),
      description: `Runs the migration DAG of plan ${props.namePrefix}`,
      definition: {
        [APACHE_AIRFLOW_JOB_CONTENT_PART]: {
          source: `${template.path}/content.json.tmpl`,
          tokens: { [CONTENT_TOKEN]: JSON.stringify(this.jobContent) },
        },
      },
    });

    const dagUpload = new FabricDagUpload(this, 'DagUpload', {
      bundle: props.bundle,
      workspaceId: this.workspace.id,
      apacheAirflowJobId: this.airflowJob.id,
      dependsOn: [this.airflowJob, ...members],
      uploadAgainAfterChangeOf: [this.airflowJob],
    });
    this.uploadedDagFiles = dagUpload.uploadedPaths;
    this.dagUpload = dagUpload.upload;

    poolsToCreateOutput(this, this.poolsToCreate, 'the Fabric Apache Airflow job');
  }

  /** Makes the step that uploads the DAG files to the job wait for `dependables`. */
  public deployDagAfter(...dependables: ITerraformDependable[]): void {
    waitFor([this.dagUpload], dependables);
  }

  /**
   * One role assignment per member, at `WorkspaceMember-<8 hex digits of a hash of its principal id>`
   * (a reference keeps its place in the list), so removing a member moves no other: a principal
   * cannot change in place, and a shifted list would re-create a member's role while the old
   * assignment of the same principal is still there (Fabric refuses the second) or deletes it after.
   * Earlier versions numbered them by place: `moved` blocks carry those.
   */
  private addWorkspaceMembers(members: readonly FabricWorkspaceMember[]): FabricWorkspaceRoleAssignment[] {
    const seen = new Map<string, number>();
    return members.map((member, index) => {
      const literal = !Token.isUnresolved(member.principalId);
      const earlier = literal ? seen.get(member.principalId.toLowerCase()) : undefined;
      if (earlier !== undefined) {
        throw new Error(
          `${this.node.path}: workspaceMembers[${index}] is workspaceMembers[${earlier}] again (${member.principalId}): a principal has one role in a workspace`,
        );
      }
      if (literal) seen.set(member.principalId.toLowerCase(), index);
      const key = literal ? uniqueSuffix(member.principalId.toLowerCase(), 8) : String(index);
      const assignment = new FabricWorkspaceRoleAssignment(this, `WorkspaceMember-${key}`, {
        workspaceId: this.workspace.id,
        principalId: member.principalId,
        principalType: member.principalType,
        role: member.role,
      });
      moveFromFormerId(this, `WorkspaceMember${index}`, assignment);
      return assignment;
    });
  }

  /** Sizes Fabric would not honour, or that Microsoft calls too small (MicrosoftDocs/fabric-docs `apache-airflow-compute.md`). */
  private warnAboutSize(computeSize: FabricComputeSize, computePool: string, capacity?: FabricCapacitySettings): void {
    if (computeSize === 'Large' && computePool === FABRIC_STARTER_POOL) {
      warn(this, 'migration:fabric:large-starter-pool',
        'computeSize Large has no effect on the Starter pool, which runs small nodes: create a custom pool with large nodes and name it in computePool (the plan\'s airflow.fabric.computePool)',
      );
    }
    if (computeSize === 'Large' && capacity?.sku === 'F8') {
      warn(this, 'migration:fabric:large-pool-on-small-capacity',
        'a Large pool uses 10 CU and F8 has 8: Microsoft recommends F16 or larger for a Large Apache Airflow pool',
      );
    }
  }

  /** The DAG reads AZURE_CLIENT_ID as the identity to act as; it must be this host's. */
  private environmentWithIdentity(props: FabricAirflowHostProps): Record<string, string> {
    const given = props.environment.AZURE_CLIENT_ID;
    if (given !== undefined && !Token.isUnresolved(given) && given !== props.servicePrincipal.clientId) {
      throw new Error(
        `environment.AZURE_CLIENT_ID (${given}) differs from airflow.fabric.servicePrincipal.clientId (${props.servicePrincipal.clientId})`,
      );
    }
    // The job's definition enables the triggerer, so the DAG's waits defer to it.
    return { ...props.environment, AZURE_CLIENT_ID: props.servicePrincipal.clientId, ...DEFERRABLE_WAITS };
  }
}
