/**
 * Resource addresses an earlier version of `DatabaseMigrationStack` gave the Data Factory Airflow
 * environment it created. Terraform forgets them instead of deleting the environment (a `removed`
 * block), since Microsoft no longer lets anyone create one: adopt it with `airflow.host: dataFactory`.
 */
export const RETIRED_AIRFLOW_ENVIRONMENT_ADDRESSES = ['azapi_resource.Orchestration_Airflow_Environment_F7BE4EC1'] as const;
