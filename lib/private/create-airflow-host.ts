import { TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { ResourceLock } from '../core/protection';
import { IActionGroup, IKeyVault, ILogAnalyticsWorkspace, IResourceGroup } from '../core/references';
import { AirflowHostBaseProps, IAirflowHost } from '../hosts/airflow-host';
import { airflowPools } from '../hosts/airflow-pools';
import type { AirflowAlertOptions } from '../hosts/data-factory-host';
import type { AirflowPrometheusAlertOptions } from '../monitoring/airflow-prometheus-alerts';
import type { DagStorageSettings } from '../hosts/host-dag-storage';
import type { KubeloginMode } from '../hosts/kubernetes/kubernetes-host';
import { MigrationMonitoring } from '../monitoring/migration-monitoring';
import { dagBundleFor } from '../orchestration-factory/dag-bundle';
import { ensureProvider } from './ensure-provider';
import { AirflowSettings } from '../plan/airflow-schema';
import { planSource } from '../plan/parse';
import { MigrationPlan } from '../plan/types';
import { warn } from '../core/warnings';

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
  readonly actionGroup: IActionGroup;
  /** The plan's monitoring, which makes the alerts of hosts that have Azure Monitor signals of their own (Data Factory, Kubernetes). */
  readonly monitoring: MigrationMonitoring;
  /** Overrides of the Airflow alerts, on hosts that have them (an adopted Data Factory environment; missing pool: also Kubernetes). */
  readonly airflowAlerts?: AirflowAlertOptions;
  /** Overrides of the Kubernetes host's Prometheus alert rules; the other hosts have none. */
  readonly prometheusRules?: AirflowPrometheusAlertOptions;
  /** Settings of the DAG storage, for hosts that read the bundle from storage. */
  readonly dagStorage?: DagStorageSettings;
  /** `prevent_destroy` on what the host keeps state in (the Kubernetes host's metadata database). */
  readonly preventDestroy: boolean;
  /** A management lock on what the host keeps state in (the Kubernetes host's metadata database). */
  readonly lock?: ResourceLock;
  /** How Terraform signs in to the Kubernetes host's cluster. */
  readonly kubeloginMode?: KubeloginMode;
  /** Principal that deploys. */
  readonly deployerPrincipalId?: string;
  /** Creates the stack applied after the host's own (the Kubernetes host's release stack); called only by hosts that need one. */
  readonly newReleaseStack: () => TerraformStack;
}

/**
 * Creates the host the plan's `airflow.host` names, with that host's settings from the plan.
 * Each host's module is loaded only when the plan picks that host: together they pull in ~1.4 MB of
 * provider classes (storage account, Data Factory, Fabric) that the other hosts never use, and an
 * app pays for loading every module it requires (bench/analysis.md).
 */
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
  const monitoring = { logAnalyticsWorkspace: context.logAnalyticsWorkspace, actionGroup: context.actionGroup };
  const airflow: AirflowSettings = plan.airflow;
  switch (airflow.host) {
    case 'kubernetes': {
      const settings = airflow.kubernetes;
      if (settings.subnetId === undefined && airflow.sqlAccess === 'direct') {
        warn(scope, 'migration:kubernetes:direct-sql-own-vnet',
          `${planSource(plan)} airflow.sqlAccess is direct and the stack creates the Kubernetes host its own VNet, which reaches no SQL Server until you ` +
            'peer it (or route it through your hub) to a network that does; or name a connected subnet in airflow.kubernetes.subnetId, ' +
            'or use sqlAccess: dataFactory',
        );
      }
      const { KubernetesAirflowHost } = require('../hosts/kubernetes/kubernetes-host') as typeof import('../hosts/kubernetes/kubernetes-host');
      return new KubernetesAirflowHost(scope, id, {
        ...base,
        ...monitoring,
        ...settings,
        monitoring: context.monitoring,
        missingPoolAlert: context.airflowAlerts?.missingPool,
        ...context.prometheusRules,
        releaseStack: context.newReleaseStack(),
        preventDestroy: context.preventDestroy,
        lock: context.lock,
        kubeloginMode: context.kubeloginMode,
        deployerPrincipalId: context.deployerPrincipalId,
      });
    }
    case 'dataFactory': {
      const { DataFactoryAirflowHost } = require('../hosts/data-factory-host') as typeof import('../hosts/data-factory-host');
      return new DataFactoryAirflowHost(scope, id, {
        ...base,
        monitoring: context.monitoring,
        airflowAlerts: context.airflowAlerts,
        environmentId: airflow.dataFactory.environmentId,
        servicePrincipal: airflow.dataFactory.servicePrincipal,
        dagStorage: context.dagStorage,
        deployerPrincipalId: context.deployerPrincipalId,
      });
    }
    case 'fabric': {
      const { FabricProvider } = require('../fabric/provider') as typeof import('../fabric/provider');
      const { FabricAirflowHost } = require('../hosts/fabric/fabric-airflow-host') as typeof import('../hosts/fabric/fabric-airflow-host');
      const { capacityId, capacity, servicePrincipal, computeSize, computePool } = airflow.fabric;
      // It reads its credentials from the environment.
      ensureProvider(scope, FabricProvider, (stack) => new FabricProvider(stack, 'fabric'));
      return new FabricAirflowHost(scope, id, { ...base, capacityId, capacity, servicePrincipal, computeSize, computePool });
    }
    case 'external': {
      const { ExternalAirflowHost } = require('../hosts/external-host') as typeof import('../hosts/external-host');
      return new ExternalAirflowHost(scope, id, {
        ...base,
        servicePrincipal: airflow.external.servicePrincipal,
        federatedCredentials: airflow.external.federatedCredentials,
        dagStorage: context.dagStorage,
        deployerPrincipalId: context.deployerPrincipalId,
      });
    }
  }
}
