/**
 * The migration plan: the single source of truth that both the Terraform stack and the
 * Airflow DAG read. `loadMigrationPlan` / `parseMigrationPlan` return it with every
 * default filled in; `renderMigrationPlan` writes the same shape as `migration_plan.json`.
 */

/** Where a database lands in Azure. */
export type TargetKind = 'SqlMi' | 'SqlDb' | 'SqlVm';

/** `online` keeps the source live and cuts over at the end; `offline` copies once. */
export type MigrationMode = 'online' | 'offline';

/** How DMS logs in to a SQL Server. */
export type SqlAuthentication = 'SqlAuthentication' | 'WindowsAuthentication';

/** Managed Airflow node size offered by Data Factory. */
export type AirflowComputeSize = 'Small' | 'Large';

/** Who hears about failures and slow migrations. */
export interface NotificationSettings {
  /** Email receivers of the `migration-alerts` action group (at least one). */
  readonly emails: readonly string[];
  /**
   * A migration running longer than this raises a severity-2 alert.
   * @default 60
   */
  readonly longRunningMinutes: number;
}

/** The Entra ID application the managed Airflow runs as (Workflow Orchestration Manager has no managed identity). */
export interface AirflowServicePrincipal {
  /** Application (client) id; not a secret. Its secret is the sensitive Terraform variable `airflow_client_secret`. */
  readonly clientId: string;
  /** Object id of the service principal: the principal of every role assignment the Airflow environment gets. */
  readonly objectId: string;
}

/** The managed Airflow (Workflow Orchestration Manager) environment. */
export interface AirflowSettings {
  /**
   * Apache Airflow version; Data Factory offers only 2.6.3 and cannot change it in place.
   * @default "2.6.3"
   */
  readonly version: string;
  /**
   * Node size of the managed Airflow environment.
   * @default "Small" (up to 50 DAGs)
   */
  readonly computeSize: AirflowComputeSize;
  /**
   * Worker nodes beyond those of the compute size (0-50).
   * @default 0
   */
  readonly extraNodes: number;
  /** The identity the DAG uses for DMS, Key Vault and Logs Ingestion. */
  readonly servicePrincipal: AirflowServicePrincipal;
}

/** A SQL Server that databases move from. */
export interface SourceServer {
  /** Logical name used by `databases[].source.server`: lowercase letters, digits, hyphens. */
  readonly name: string;
  /** Host name (or `host\\instance`) as seen from the self-hosted integration runtime. */
  readonly host: string;
  /**
   * TCP port of the SQL Server.
   * @default 1433
   */
  readonly port: number;
  /**
   * How DMS logs in to the SQL Server.
   * @default "SqlAuthentication"
   */
  readonly authentication: SqlAuthentication;
  /**
   * Airflow connection (stored in Key Vault as `airflow-connections-<id>`) with the login DMS
   * and validation use on this server.
   * @default "mssql_source_<name with - replaced by _>"
   */
  readonly connectionId: string;
  /**
   * Key Vault secret holding the connection string of the Data Factory SQL Server linked service.
   * @default "<name>-connection-string"
   */
  readonly connectionStringSecretName: string;
  /**
   * SMB share where the server's backups are written (SqlMi and SqlVm targets restore from it),
   * with the Airflow connection holding the share's credentials.
   * @default - none; required when a database of this server goes to SqlMi or SqlVm
   */
  readonly backupFileShare?: BackupFileShare;
}

/** An SMB share with full and log backups. */
export interface BackupFileShare {
  /** UNC path, for example `\\\\fileserver\\backups\\sql01`. */
  readonly path: string;
  /** Airflow connection with the share's user and password. */
  readonly connectionId: string;
}

/** An Azure SQL Managed Instance, logical server or SQL VM that databases move to. */
export interface TargetServer {
  /** Logical name used by `databases[].target.server`. */
  readonly name: string;
  /** What the target is; decides how DMS migrates to it and which `resourceId` shape is expected. */
  readonly kind: TargetKind;
  /**
   * ARM id of the target: `.../Microsoft.Sql/managedInstances/<mi>` (SqlMi),
   * `.../Microsoft.Sql/servers/<server>` (SqlDb),
   * `.../Microsoft.SqlVirtualMachine/sqlVirtualMachines/<vm>` (SqlVm).
   */
  readonly resourceId: string;
  /**
   * Airflow connection with the login used for validation (and, for SqlDb, by DMS).
   * @default "mssql_target_<name with - replaced by _>"
   */
  readonly connectionId: string;
}

/** Storage account where DMS stages backups for SqlMi and SqlVm targets. */
export interface BackupStorage {
  /** ARM id of the storage account (`.../Microsoft.Storage/storageAccounts/<name>`). */
  readonly storageAccountResourceId: string;
  /** Airflow connection whose password is the account key DMS needs. */
  readonly connectionId: string;
}

/** Where a database comes from. */
export interface DatabaseSource {
  /** Name of an entry in `sourceServers`. */
  readonly server: string;
  /** Database name on that server. */
  readonly database: string;
}

/** Where a database goes. */
export interface DatabaseTarget {
  /** Name of an entry in `targetServers`. */
  readonly server: string;
  /**
   * Database name on the target.
   * @default - the source database name
   */
  readonly database: string;
  /** Filled in from the target server; if given in the input it must match. */
  readonly kind: TargetKind;
}

/** What "migrated correctly" means for one database. */
export interface ValidationSettings {
  /**
   * Compare the row count of every validated table between source and target.
   * @default true
   */
  readonly rowCounts: boolean;
  /**
   * Compare table checksums too (slower, stronger).
   * @default false
   */
  readonly checksums: boolean;
  /**
   * Tables to compare, as `schema.table`.
   * @default - every user table of the source database
   */
  readonly tables?: readonly string[];
}

/** One database to move. */
export interface DatabaseMigration {
  /** Letters, digits and underscores; unique; becomes the Airflow task-group id. */
  readonly name: string;
  /** The source server and database. */
  readonly source: DatabaseSource;
  /** The target server and database, with the target kind filled in. */
  readonly target: DatabaseTarget;
  /**
   * Online (the source stays live, cutover at the end) or offline (one copy).
   * @default "online" for SqlMi and SqlVm, "offline" for SqlDb (which supports nothing else)
   */
  readonly mode: MigrationMode;
  /** Databases that must finish (validated) before this one starts. @default [] */
  readonly dependsOn: readonly string[];
  /**
   * How the migrated database is checked before dependents start.
   * @default { rowCounts: true, checksums: false }
   */
  readonly validation: ValidationSettings;
  /** The DAG gives up waiting (and rolls back) after this. @default 720 */
  readonly timeoutMinutes: number;
}

/** A whole migration: what moves, from where, to where, in which order. */
export interface MigrationPlan {
  /** Lowercase letters, digits and hyphens (3-16); names the stack and prefixes resource names. */
  readonly name: string;
  /** Azure region of everything the stack creates, for example `westeurope`. */
  readonly location: string;
  /**
   * Tags on every resource the stack creates.
   * @default {}
   */
  readonly tags: Readonly<Record<string, string>>;
  /** Who hears about failures and slow migrations. */
  readonly notifications: NotificationSettings;
  /** The managed Airflow environment that runs the migration DAG. */
  readonly airflow: AirflowSettings;
  /** SQL Servers that databases move from (at least one). */
  readonly sourceServers: readonly SourceServer[];
  /** Azure SQL targets that databases move to (at least one). */
  readonly targetServers: readonly TargetServer[];
  /**
   * Storage account where DMS stages backups.
   * @default - none; required when any database goes to SqlMi or SqlVm
   */
  readonly backupStorage?: BackupStorage;
  /** The databases to move (at least one); `dependsOn` orders them. */
  readonly databases: readonly DatabaseMigration[];
}
