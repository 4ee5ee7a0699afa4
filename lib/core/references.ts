/**
 * Structural references to Azure resources. A construct takes these instead of id strings so
 * that a resource created here, a `Data*` lookup of an existing one, or a hand-written
 * literal all fit (AWS CDK's "refer by object" rule, without forcing one implementation).
 */

/** A resource group: an `azurerm` `ResourceGroup` or `DataAzurermResourceGroup` fits. */
export interface IResourceGroup {
  /** ARM id. */
  readonly id: string;
  /** Resource group name. */
  readonly name: string;
  /** Azure region, for example `westeurope`. */
  readonly location: string;
}

/** A Log Analytics workspace: `LogAnalyticsWorkspace` or `DataAzurermLogAnalyticsWorkspace` fits. */
export interface ILogAnalyticsWorkspace {
  /** ARM id. */
  readonly id: string;
  /** Workspace name. */
  readonly name: string;
  /**
   * Azure region of the workspace: what sends to it through a data collection rule (the migration
   * events' endpoint and rule, Container Insights) must be in it, and its log alerts go there too.
   * @default - the region of whatever is created beside it (the plan's location)
   */
  readonly location?: string;
}

/** A Data Factory: `DataFactory` or `DataAzurermDataFactory` fits. */
export interface IDataFactory {
  /** ARM id. */
  readonly id: string;
  /** Data Factory name. */
  readonly name: string;
  /**
   * ARM id of the storage account an Airflow environment of the factory imports its DAGs from,
   * when there is one: monitoring then logs who reads and changes the DAGs.
   * @default - none: no DAG storage logs
   */
  readonly dagStorageAccountId?: string;
}

/** An action group: `MonitorActionGroup` or `DataAzurermMonitorActionGroup` fits. */
export interface IActionGroup {
  /** ARM id. */
  readonly id: string;
  /** Action group name. */
  readonly name: string;
}

/** A Key Vault: `KeyVault` or `DataAzurermKeyVault` fits. */
export interface IKeyVault {
  /** ARM id. */
  readonly id: string;
  /** Key Vault name. */
  readonly name: string;
  /** `https://<name>.vault.azure.net/` */
  readonly vaultUri: string;
}

/**
 * Where the DAG sends its migration events (Logs Ingestion API); `MigrationMonitoring.eventIngestion`
 * fits.
 */
export interface IEventIngestion {
  /** Logs ingestion endpoint of the data collection endpoint. */
  readonly endpointUrl: string;
  /** Immutable id (`dcr-...`) of the data collection rule. */
  readonly dataCollectionRuleImmutableId: string;
  /** Stream declared by the rule, for example `Custom-MigrationEvents_CL`. */
  readonly streamName: string;
}
