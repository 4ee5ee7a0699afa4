"""A DMS contract server: the ARM REST API of `Microsoft.DataMigration` 2025-06-30 over a world.

Written from Microsoft's REST specification (Azure/azure-rest-api-specs,
`specification/datamigration/resource-manager/Microsoft.DataMigration/DataMigration/stable/
2025-06-30/sqlmigration.json`) and its recorded examples (`/work/shared/fixtures/dms-2025-06-30`,
copied to `dags/tests/fixtures`), for SqlMi, SqlDb and SqlVm targets:

    GET    .../sqlMigrationServices/{name}                 (integrationRuntimeState)
    GET    .../sqlMigrationServices/{name}/listMigrations        (paged by `nextLink` where the world sets a page size)
    PUT    {scope}/providers/Microsoft.DataMigration/databaseMigrations/{db}     201/200 + LRO
    GET    {scope}/providers/Microsoft.DataMigration/databaseMigrations/{db}
               [?migrationOperationId=...][&$expand=MigrationStatusDetails]
    POST   .../databaseMigrations/{db}/cutover   (SqlMi, SqlVm)               202 + LRO
    POST   .../databaseMigrations/{db}/cancel                                   202 + LRO
    DELETE .../databaseMigrations/{db}[?force=true]                            202 + LRO, 204
    GET/DELETE .../Microsoft.Sql/managedInstances/{mi}/databases/{db}  (2023-08-01)
    GET    the Azure-AsyncOperation and Location monitors of accepted operations

Accepted operations answer with `Azure-AsyncOperation`, `Location` and `Retry-After`; see
`operations`. Migrations move as the world moves (backups in the share, see `progress`); the
target database appears RESTORING and goes ONLINE when the migration succeeds. Faults come from
the world (`World.add_fault`): 429 with Retry-After, 500/503, connection resets, slow answers,
LROs and migrations that end Failed, cancels that leave a migration Canceling for some reads after
their operation ended (`stillCanceling`), lists that leave a migration out (`unlisted`: as stale as a GET
right after a create). Requests need a bearer token (any non-empty one).

Where the recorded examples disagree with each other or with the specification, this server
follows the specification and the examples' majority, and its tests say so:
- `SqlMiGetDatabaseMigration*.json` give `scope` without its leading "/" and an `id` under
  `managedInstances/miname` while the request names `managedInstance1`;
- `SqlMiCreateOrUpdateDatabaseMigrationMAX.json` asks for scope `.../managedInstances/instance`
  under the URL of `managedInstance1` (this server refuses a scope that is not the URL's target),
  and its response's `sourceDatabaseName` ("sourcename") is not the requested one ("aaa");
- responses carry `endedOn` while `InProgress` (here: only once the migration ended);
- they carry `startedOn` and `endedOn` as 0001-01-01T08:00:00Z (here: the world's time, `World.now`: a
  rehearsal's simulated clock where the world's directory keeps one, else real time);
- `SqlDbGetDatabaseMigrationExpanded.json` is `Succeeded` with `migrationState`
  "MonitorMigration" and `sqlDataCopyErrors: [""]` (here: "Completed", and no empty error);
- `ListMigrationsBySqlMigrationService.json` types its items `Microsoft.DataMigration/
  dataMigrations` (here: `databaseMigrations`, as every GET);
- the create examples answer 201 with `provisioningState` "Succeeded" right away; here creation is
  asynchronous: "Provisioning" (`migrationStatus` "Creating") until the operation settles, as
  the specification describes ("Succeeded implies that validations have been performed").
Only "WaitForFullBackupUploadOperation" (SqlMi) and "MonitorMigration" (SqlDb) are recorded
`migrationState` values; the others used here (Restoring, Completing, Completed, Failed,
Canceled) are the migration states Azure Data Studio's sql-migration extension mirrors.

Run it standalone with `python -m migration_rehearsal.dms_contract_server --world DIR --port N`,
or in-process with `start_in_thread(DIR)`.
"""
from migration_rehearsal.dms_contract_server.server import ContractServer, start_in_thread

__all__ = ["ContractServer", "start_in_thread"]
