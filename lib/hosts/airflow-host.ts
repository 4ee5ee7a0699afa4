import type { ITerraformDependable } from 'cdktf';
import { IGrantee } from '../core/grants';
import { IKeyVault, IResourceGroup } from '../core/references';
import { DagBundle } from '../orchestration-factory/dag-bundle';
import type { AirflowSettings } from '../plan/airflow-schema';
import { DAG_BUNDLE, KEY_VAULT, RESOURCE_GROUP, IF_GIVEN } from '../private/prop-checks';

/**
 * Where the migration DAG runs. Data Factory's managed Airflow can no longer be created (since
 * 2026-01-01), so a stack creates a Kubernetes or Fabric host, adopts an existing Data Factory
 * environment, or hands everything to an Airflow the team already runs.
 */
export type AirflowHostKind = AirflowSettings['host'];

/** How the DAG's SQL steps reach SQL Server: a direct TDS connection, or Data Factory pipeline runs. */
export type SqlAccessKind = AirflowSettings['sqlAccess'];

/** An Airflow pool that bounds how much of the migration runs at once. */
export interface AirflowPool {
  /** Pool name, as the DAG's tasks name it. */
  readonly name: string;
  /** Slots: tasks of the pool that may run at once. */
  readonly slots: number;
  /** What the pool bounds. */
  readonly description: string;
}

/** The Entra ID identity the DAG's tasks act as in Azure; a grantee of every `grantXxx` method. */
export interface AirflowIdentity extends IGrantee {
  /** Object (principal) id: the principal of every role assignment the stack makes for the DAG. */
  readonly principalId: string;
  /** Application (client) id (`AZURE_CLIENT_ID`). */
  readonly clientId: string;
  /** Principal type for role assignments (set, so a new identity needs no directory lookup). */
  readonly principalType: 'ServicePrincipal';
}

/** What every host receives from the stack, whatever runs the DAG. */
export interface AirflowHostBaseProps {
  /** Where the host's resources are created. */
  readonly resourceGroup: IResourceGroup;
  /** Prefix of generated names (the plan name). */
  readonly namePrefix: string;
  /** Azure region of the host's resources. */
  readonly location: string;
  /**
   * Tags on every taggable resource.
   * @default - none
   */
  readonly tags?: Readonly<Record<string, string>>;
  /** The DAG package, the rendered plan (and its schema) and the requirements. */
  readonly bundle: DagBundle;
  /**
   * Environment variables the DAG reads: ids and endpoints only, never secrets. Without
   * `AZURE_CLIENT_ID`: each host sets its own identity's (or leaves it to the workload-identity webhook).
   */
  readonly environment: Readonly<Record<string, string>>;
  /** Key Vault that backs Airflow's connections (secrets backend). */
  readonly keyVault: IKeyVault;
  /** Pools the DAG's tasks use; the host creates them, or outputs them where it cannot. */
  readonly pools: readonly AirflowPool[];
}

/** The fields of {@link AirflowHostBaseProps} every host requires, for its `requireProps`. */
export const AIRFLOW_HOST_REQUIRED_PROPS = {
  resourceGroup: RESOURCE_GROUP,
  namePrefix: 'string',
  location: 'string',
  tags: IF_GIVEN.map,
  bundle: DAG_BUNDLE,
  environment: 'object',
  keyVault: KEY_VAULT,
  pools: { each: { name: 'string', slots: 'number', description: 'string' } },
} as const;

/**
 * An Airflow that runs the migration DAG. The rest of the stack knows a host only through this
 * interface: it grants roles to `identity`, and asks the host what SQL access works there.
 */
export interface IAirflowHost {
  /** Which kind of host this is. */
  readonly kind: AirflowHostKind;
  /** The identity the DAG's tasks act as. */
  readonly identity: AirflowIdentity;
  /** The Apache Airflow version the host runs, for example `3.3.2` or `2.6.3`. */
  readonly airflowVersion: string;
  /** SQL access kinds that work on this host (network reach), the first being the default. */
  readonly supportedSqlAccess: readonly SqlAccessKind[];
  /**
   * ARM id of the storage account the host reads the DAG bundle from, when it uses one (monitoring
   * logs who reads and changes the DAG code there).
   * @default - none: the host receives the DAG another way
   */
  readonly dagStorageAccountId?: string;

  /**
   * Makes the step that puts a new DAG in front of Airflow in this stack wait for `dependables`
   * (the stack passes the SQL pipelines the DAG starts runs of), so Terraform changes them first:
   * the Data Factory DAG import, the Fabric upload, the external host's blobs. The Kubernetes
   * host's DAG is in its second stack, applied after the first: nothing to add there. Optional, so
   * that a host of your own written before it still compiles; without it nothing waits.
   */
  deployDagAfter?(...dependables: ITerraformDependable[]): void;
}
