/**
 * Where the migration DAG runs, picked by the plan's `airflow.host`: one construct per host behind
 * {@link IAirflowHost}, which is all the rest of the stack knows of it.
 */
import { Annotations, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { IKeyVault, ILogAnalyticsWorkspace, IResourceGroup } from '../core/references';
import { FabricProvider } from '../fabric/provider';
import { AlertDefaults } from '../monitoring/alerts';
import { AIRFLOW3_REQUIREMENTS, DagBundle, loadDagBundle } from '../orchestration-factory/dag-bundle';
import { renderMigrationPlan } from '../plan/render';
import { AirflowSettings, MigrationPlan } from '../plan/types';
import { AirflowHostBaseProps, AirflowHostKind, IAirflowHost } from './airflow-host';
import { airflowPools } from './airflow-pools';
import { AirflowAlertOptions, DataFactoryAirflowHost } from './data-factory-host';
import { ExternalAirflowHost } from './external-host';
import { FabricAirflowHost } from './fabric/fabric-airflow-host';
import { DagStorageSettings } from './host-dag-storage';
import { KubeloginMode } from './kubernetes/kube-providers';
import { KubernetesAirflowHost } from './kubernetes/kubernetes-host';

export type { AirflowHostBaseProps, AirflowHostKind, AirflowIdentity, AirflowPool, IAirflowHost, SqlAccessKind } from './airflow-host';
export { airflowPools, loadPoolsContract } from './airflow-pools';
export type { PoolContractEntry } from './airflow-pools';
export { dagEnvironment } from './dag-environment';
export type { DagEnvironmentProps } from './dag-environment';
export { DataFactoryAirflowHost, parseEnvironmentId } from './data-factory-host';
export type { AirflowAlertOptions, DataFactoryAirflowHostProps, DataFactoryEnvironment } from './data-factory-host';
export { ExternalAirflowHost } from './external-host';
export type { ExternalAirflowHostProps } from './external-host';
export { HostDagStorage } from './host-dag-storage';
export type { DagStorageSettings, HostDagStorageProps } from './host-dag-storage';
export { KubernetesAirflowHost } from './kubernetes/kubernetes-host';
export type { KubernetesAirflowHostProps } from './kubernetes/kubernetes-host';
export type { KubeloginMode } from './kubernetes/kube-providers';
export { FabricAirflowHost } from './fabric/fabric-airflow-host';
export type { FabricAirflowHostProps, FabricServicePrincipal, FabricWorkspaceMember } from './fabric/fabric-airflow-host';

/**
 * The DAG's requirements for each host's Airflow and Python (files of the DAG package): Airflow 3
 * on the Kubernetes host and for an external Airflow; Fabric's 2.10.5 on Python 3.12; Data
 * Factory's 2.6.3 on Python 3.8, where `azure-mgmt-datamigration` cannot install.
 */
export const HOST_REQUIREMENTS = {
  /** Airflow 3.3 on Python 3.12, built into the image. */
  kubernetes: AIRFLOW3_REQUIREMENTS,
  /** Airflow 3.x; the package also ships the 2.10.5 and 2.6.3 files for older Airflows. */
  external: AIRFLOW3_REQUIREMENTS,
  /** Airflow 2.10.5 on Python 3.12, in the job definition. */
  fabric: 'dags/requirements-fabric.txt',
  /** Airflow 2.6.3 on Python 3.8, installed by the DAG import. */
  dataFactory: 'dags/requirements-data-factory.txt',
} as const satisfies Readonly<Record<AirflowHostKind, string>>;

/** What the stack hands whichever host the plan picks. */
export interface AirflowHostContext {
  /** Where the host's resources go. */
  readonly resourceGroup: IResourceGroup;
  /** Environment variables of the DAG (`dagEnvironment`), without `AZURE_CLIENT_ID`. */
  readonly environment: Readonly<Record<string, string>>;
  /** Airflow's secrets backend. */
  readonly keyVault: IKeyVault;
  /** Where the host's logs go. */
  readonly logAnalyticsWorkspace: ILogAnalyticsWorkspace;
  /** Every alert of the host acts through this action group. */
  readonly actionGroupId: string;
  /** Defaults of the host's alerts. @default - alerts enabled, resolved automatically */
  readonly alertDefaults?: AlertDefaults;
  /** Overrides of the Airflow metric alerts, on hosts that have them (an adopted Data Factory environment). @default - their defaults */
  readonly airflowAlerts?: AirflowAlertOptions;
  /** Settings of the DAG storage, for hosts that read the bundle from storage. @default - secure defaults */
  readonly dagStorage?: DagStorageSettings;
  /** `prevent_destroy` on what the host keeps state in (the Kubernetes host's metadata database). @default true */
  readonly protectStatefulResources?: boolean;
  /** How Terraform signs in to the Kubernetes host's cluster. @default "azurecli" */
  readonly kubeloginMode?: KubeloginMode;
  /** Principal that deploys. @default - the identity running Terraform */
  readonly deployerPrincipalId?: string;
  /** Creates the stack applied after the host's own (the Kubernetes host's release stack); called only by hosts that need one. */
  readonly newReleaseStack: () => TerraformStack;
}

/** The DAG package with the rendered plan and the requirements file of the plan's host. */
export function dagBundleFor(plan: MigrationPlan): DagBundle {
  return loadDagBundle(renderMigrationPlan(plan), undefined, HOST_REQUIREMENTS[plan.airflow.host]);
}

/** Creates the host the plan's `airflow.host` names, with that host's settings from the plan. */
export function createAirflowHost(scope: Construct, id: string, plan: MigrationPlan, context: AirflowHostContext): IAirflowHost {
  const base: AirflowHostBaseProps = {
    resourceGroup: context.resourceGroup,
    namePrefix: plan.name,
    location: plan.location,
    tags: plan.tags,
    bundle: dagBundleFor(plan),
    environment: context.environment,
    keyVault: context.keyVault,
    pools: airflowPools(plan.concurrency),
  };
  const monitoring = { logAnalyticsWorkspace: context.logAnalyticsWorkspace, actionGroupId: context.actionGroupId };
  const airflow: AirflowSettings = plan.airflow;
  switch (airflow.host) {
    case 'kubernetes': {
      const settings = airflow.kubernetes;
      if (settings.subnetId === undefined && airflow.sqlAccess === 'direct') {
        Annotations.of(scope).addWarning(
          'airflow.sqlAccess is direct and the stack creates the Kubernetes host its own VNet, which reaches no SQL Server until you ' +
            'peer it (or route it through your hub) to a network that does; or name a connected subnet in airflow.kubernetes.subnetId, ' +
            'or use sqlAccess: dataFactory',
        );
      }
      return new KubernetesAirflowHost(scope, id, {
        ...base,
        ...monitoring,
        ...settings,
        releaseStack: context.newReleaseStack(),
        protectDatabase: context.protectStatefulResources,
        kubeloginMode: context.kubeloginMode,
        deployerPrincipalId: context.deployerPrincipalId,
      });
    }
    case 'dataFactory':
      return new DataFactoryAirflowHost(scope, id, {
        ...base,
        ...monitoring,
        alertDefaults: context.alertDefaults,
        airflowAlerts: context.airflowAlerts,
        environmentId: airflow.dataFactory.environmentId,
        servicePrincipal: airflow.dataFactory.servicePrincipal,
        dagStorage: context.dagStorage,
        deployerPrincipalId: context.deployerPrincipalId,
      });
    case 'fabric': {
      const { capacityId, capacity, servicePrincipal, computeSize } = airflow.fabric;
      ensureFabricProvider(TerraformStack.of(scope));
      return new FabricAirflowHost(scope, id, { ...base, capacityId, capacity, servicePrincipal, computeSize });
    }
    case 'external':
      return new ExternalAirflowHost(scope, id, {
        ...base,
        servicePrincipal: airflow.external.servicePrincipal,
        federatedCredentials: airflow.external.federatedCredentials,
        dagStorage: context.dagStorage,
        deployerPrincipalId: context.deployerPrincipalId,
      });
  }
}

/** The microsoft/fabric provider, once per stack; it reads its credentials from the environment. */
function ensureFabricProvider(stack: TerraformStack): void {
  if (!stack.node.children.some((child) => child instanceof FabricProvider)) {
    new FabricProvider(stack, 'fabric');
  }
}
