/**
 * Structural references to Azure resources. A construct takes these instead of id strings so
 * that a resource created here, a `Data*` lookup of an existing one, or a hand-written
 * literal all fit (AWS CDK's "refer by object" rule, without forcing one implementation).
 */

/** A resource group: an `azurerm` `ResourceGroup` or `DataAzurermResourceGroup` fits. */
export interface IResourceGroup {
  readonly id: string;
  readonly name: string;
  readonly location: string;
}

/** A Log Analytics workspace: `LogAnalyticsWorkspace` or `DataAzurermLogAnalyticsWorkspace` fits. */
export interface ILogAnalyticsWorkspace {
  /** ARM id. */
  readonly id: string;
  readonly name: string;
}

/** A Data Factory: `DataFactory` or `DataAzurermDataFactory` fits. */
export interface IDataFactory {
  /** ARM id. */
  readonly id: string;
  readonly name: string;
}
