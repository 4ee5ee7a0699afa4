import { FabricComputeSize } from '../../hosts/fabric/fabric-airflow-host';
import { AIRFLOW_VERSION_OF_HOST } from '../airflow-versions';
import { secretVariables } from '../secret-variables';

/**
 * The `apacheairflowjob-content.json` definition part of a Fabric Apache Airflow job. Shape from
 * Microsoft's sample (microsoft/fabric-cicd `sample/workspace/*.ApacheAirflowJob/`); Fabric runs
 * Airflow 2.10.5 on Python 3.12 (MicrosoftDocs/fabric-docs `apache-airflow-jobs-concepts.md`).
 */

/** The Airflow version Fabric's Apache Airflow jobs run. */
export const FABRIC_AIRFLOW_VERSION = AIRFLOW_VERSION_OF_HOST.fabric;
/** The Python version of that runtime. */
export const FABRIC_PYTHON_VERSION = '3.12';
/** Fabric's default pool: starts on demand, stops after about 20 idle minutes. */
export const FABRIC_STARTER_POOL = 'StarterPool';

/** What goes into the job definition. */
export interface AirflowJobContentOptions {
  /** Pinned pip requirements installed into the job's environment. */
  readonly requirements: readonly string[];
  /**
   * Environment variables of every Airflow process: ids and endpoints only. Airflow's own settings
   * among them (`AIRFLOW__{SECTION}__{KEY}`) go to the job's Airflow configuration overrides.
   */
  readonly environmentVariables: Readonly<Record<string, string>>;
  /** Node size. */
  readonly computeSize: FabricComputeSize;
  /** `StarterPool` or the name of a custom pool of the workspace. */
  readonly computePool: string;
}

/**
 * An Airflow setting in environment-variable form. Fabric takes these as *Airflow configuration
 * overrides*, keyed by that name: Microsoft's Key Vault guide for Apache Airflow jobs sets
 * `AIRFLOW__SECRETS__BACKEND` and `AIRFLOW__SECRETS__BACKEND_KWARGS` there and only `AZURE_*` as
 * environment variables (MicrosoftDocs/fabric-docs `apache-airflow-jobs-enable-azure-key-vault.md`).
 */
const AIRFLOW_SETTING = /^AIRFLOW__[A-Z0-9_]+__[A-Z0-9_]+$/;

/** The content object; `jsonencode`d by Terraform because values may be references. */
export function airflowJobContent(options: AirflowJobContentOptions): Record<string, unknown> {
  // The definition is stored in Terraform state and shown to every workspace member.
  const [secret] = secretVariables(options.environmentVariables);
  if (secret !== undefined) {
    throw new Error(
      `environment.${secret}: the Fabric host never puts a secret into the Apache Airflow job definition, ` +
        'which Terraform stores in its state; set it in the Fabric portal instead (docs/fabric-host.md, "Operator step: the client secret")',
    );
  }
  const settings = Object.entries(options.environmentVariables);
  const environmentVariables = Object.fromEntries(settings.filter(([name]) => !AIRFLOW_SETTING.test(name)));
  return {
    properties: {
      type: 'Airflow',
      typeProperties: {
        airflowProperties: {
          airflowVersion: FABRIC_AIRFLOW_VERSION,
          pythonVersion: FABRIC_PYTHON_VERSION,
          airflowRequirements: [...options.requirements],
          // Fabric's published shapes disagree on this key: Microsoft's sample and provider fixture write
          // `environmentVariables`, a 2026 export of a live job reads `airflowEnvironmentVariables` (the name of
          // Data Factory's Workflow Orchestration Manager API). The DAG finds its settings only here: both carry them.
          environmentVariables,
          airflowEnvironmentVariables: environmentVariables,
          airflowConfigurationOverrides: Object.fromEntries(settings.filter(([name]) => AIRFLOW_SETTING.test(name))),
          // Entra ID sign-in to the Airflow UI.
          enableAADIntegration: true,
          enableTriggerers: true,
        },
        computeProperties: {
          computePool: options.computePool,
          computeSize: options.computeSize,
          extraNodes: 0,
        },
      },
    },
  };
}
