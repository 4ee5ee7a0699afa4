"""What Azure Database Migration Service needs of the servers, checked by `preflight` before a
migration starts (Microsoft's prerequisites in the DMS tutorials, MicrosoftDocs/sql-docs
`data-migration/sql-server/{managed-instance,virtual-machines,database}/database-migration-service.md`):

- Logins. DMS connects to the source with the plan's source login. A restore (SqlMi, SqlVm) needs it
  in sysadmin or holding CONTROL SERVER; a copy (SqlDb) needs it in db_datareader of the source
  database (SELECT on it), and UNMASK there where columns are under dynamic data masking (it reads
  rows: without UNMASK it would copy the masks), and the target login in db_owner of the target
  database (CONTROL on it). HAS_PERMS_BY_NAME judges the session's own login, effective through roles and groups, so a
  side is judged only where the DAG's session runs as DMS's login: always with `sqlAccess: direct`
  (the same Airflow connection); through Data Factory where the linked service's connection string
  names the same login (never for SqlDb targets: the factory's managed identity logs in there).
- TDE (restores). Backups of a database with a database encryption key restore only where the
  certificate protecting it, with its private key, or its asymmetric key is in master: else the
  restore fails ("Cannot find server certificate with thumbprint"), an offline migration's after
  the freeze. A SQL VM shows its keys (`sys.certificates`, `sys.asymmetric_keys`). A managed
  instance does not: a certificate uploaded to it is not visible in `sys.certificates` (Microsoft,
  `azure-sql/managed-instance/tde-certificate-migrate.md`) and ARM's `tdeCertificates` is
  create-only, so there it is not judged. A SqlDb copy reads rows through queries, which TDE
  does not affect: nothing to check.
- Validation's logins (`check_validation_unmasks`), where it compares checksums of masked columns.
- Room for the restore (SqlMi, SqlVm): `check_restore_room`, below.
What the checks of a new migration read of its source comes in one batch (`read_source`: through
Data Factory one pipeline run), each part read as it would be alone; the target is read apart.

Room for restores. A restore creates the database's files at their size on the source when it
begins: on a managed instance they take its reserved storage; on a SQL VM the data files go to the
instance's default data path and the log files to its default log path (DMS's request for a SQL VM
names no file location, New-AzDataMigrationToSqlVM and the `databaseMigrations` PUT, so the
restore takes the instance's defaults). The rule, for the databases of one plan restored into one
target:

- `preflight` judges the database alone: its files must fit in the room the target has now.
- `start_migration` judges again at admission where the plan has other databases restoring into
  the same target: they may have taken room since this database's preflight, or be about to.
  Admissions run one at a time (the admission pool's one slot), and what the others will take is
  known exactly there: the plan's migrations into that target that DMS runs already (one it still
  cancels, or still copies though its last ARM operation failed, too: it may still restore) and whose
  target database does not exist yet (their restore has not begun: their files are not in the
  room's use; a target database that exists has its files there already, restoring or online).
  The room now must hold this database's files and theirs. A database not admitted yet is not
  counted: it is judged at its own admission, after this one, with this one's files counted then.
  So a database that depends on this one (a later wave) never holds this one back for room it may
  never take, and is refused itself when its turn comes and the room is gone. A refusal at
  admission fails the database before anything of it started or froze; waiting would not make
  room (a restore's files stay), a person must.
- What is judged: a managed instance's reserved storage minus what its database files use, the
  larger of its latest report (`sys.server_resource_stats`, collected every 5 to 10 minutes) and
  the files it has now (`sys.master_files`, which a restore begun since the report is in already);
  a SQL VM's free space on the volume of each default path (`sys.dm_os_volume_stats` of a file on
  that volume; from SQL Server 2017 CU1 also `sys.dm_os_enumerate_fixed_drives`), data and log
  files adding up where both paths are on one volume.
- What cannot be read is not judged (nothing is said, as for the checks above): a login without
  VIEW SERVER STATE or VIEW ANY DATABASE, a managed instance that has not reported yet, a SQL
  Server that reports no default paths (before 2012's late-2015 updates), a volume no database file
  is on before SQL Server 2017, a source database whose files the login may not see (another
  restore's is then left out of the sum: what is counted is at least needed).
Evidence: MicrosoftDocs/sql-docs `docs/relational-databases/system-catalog-views/sys-server-resource-stats-azure-sql-database.md`,
`.../system-catalog-views/sys-master-files-transact-sql.md`, `docs/t-sql/functions/serverproperty-transact-sql.md`,
`docs/relational-databases/system-dynamic-management-views/sys-dm-os-volume-stats-transact-sql.md`,
`.../sys-dm-os-enumerate-fixed-drives.md`.
"""
from __future__ import annotations

import hashlib
from typing import Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from migration_orchestration_lib.capacity import migrations_by_database
from migration_orchestration_lib.database_sql import CopyPrerequisites
from migration_orchestration_lib.migration_stage import foreign_because
from migration_orchestration_lib.migration_status import MigrationStatus
from migration_orchestration_lib.plan import DatabaseMigration
from migration_orchestration_lib.sql_statements import (
    FileSizes, LoginPermission, MaskedTable, RestoreRoom, SequenceValue, SourcePrerequisites, Volume, quote_name)
from migration_orchestration_lib.step_context import StepContext, StepFailure
from migration_orchestration_lib.table_names import TableName, loosely_folded
from migration_orchestration_lib.validation import SHOWN_MISMATCHES, compare_sequences


def read_source(ctx: StepContext) -> SourcePrerequisites:
    """What the checks of a new restore read of its source, in one batch (one Data Factory pipeline
    run; `sql_statements.source_prerequisites`), each part read as it would be alone."""
    return ctx.sql.source_prerequisites(ctx.database, full_backups=ctx.source_server.backup_file_share is not None)


def read_copy(ctx: StepContext) -> CopyPrerequisites:
    """What the checks of a new SqlDb copy read: `read_source`'s, with the target database's tables (and those
    holding masked columns), whether the target's login owns it (CONTROL), and its sequences, read at the same time
    (through Data Factory in parallel)."""
    return ctx.sql.copy_prerequisites(ctx.database, "CONTROL")


def check_logins(ctx: StepContext, source: SourcePrerequisites, on_target: Optional[LoginPermission] = None) -> None:
    """`on_target`: a SqlDb copy's (`read_copy`)."""
    database = ctx.database
    source_login = _dms_login(ctx, ctx.source_server.connection_id)
    if database.restores_backups:
        held = source.read("login")
        if _judged(held, source_login) and not held.granted:
            raise StepFailure(
                "%s: DMS logs in to %s as %s, which is not in sysadmin and lacks CONTROL SERVER, as a restore "
                "migration requires: GRANT CONTROL SERVER TO %s (or add it to sysadmin), then run again"
                % (database.name, database.source_server, held.login_name, quote_name(held.login_name))
            )
        return
    on_source = source.read("login")
    if _judged(on_source, source_login) and not on_source.granted:
        raise StepFailure(
            "%s: DMS reads source database %s on %s as %s, which cannot read it (db_datareader, SELECT on the "
            "database): in %s, ALTER ROLE db_datareader ADD MEMBER <its user>, then run again"
            % (database.name, database.source_database, database.source_server, on_source.login_name, database.source_database)
        )
    masked = source.read_as_masks
    if masked and _judged(on_source, source_login):
        raise StepFailure(
            "%s: DMS reads source database %s on %s as %s, which lacks UNMASK there, so it reads %d column(s) under "
            "dynamic data masking (sys.masked_columns) as their masks and would copy the masks into the target in place "
            "of the data: %s"
            % (database.name, database.source_database, database.source_server, on_source.login_name, masked,
               _grant_unmask(database.source_database))
        )
    if on_target is not None and _judged(on_target, _dms_login(ctx, ctx.target_server.connection_id)) and not on_target.granted:
        raise StepFailure(
            "%s: DMS writes to target database %s on %s as %s, which is not its owner (db_owner, CONTROL on the "
            "database): in %s, ALTER ROLE db_owner ADD MEMBER <its user>, then run again"
            % (database.name, database.target_database, database.target_server, on_target.login_name, database.target_database)
        )


def check_validation_unmasks(ctx: StepContext, source: SourcePrerequisites, room: Optional[RestoreRoom] = None,
                             on_target: Optional[LoginPermission] = None,
                             target_masked: Optional[Sequence[MaskedTable]] = None) -> None:
    """Where validation compares checksums of tables with columns under dynamic data masking, the DAG's logins must
    read them unmasked, or validation fails each such table after the cutover (`validate`'s batch refuses to compare
    masks); masks in tables it does not compare (`_compared_masks`) fail nothing. The source's session is the DAG's
    own. A restore's target database does not exist yet: the one thing that gives the DAG's target login UNMASK in it,
    judged before, is CONTROL SERVER (`room`). A SqlDb copy's target exists with its schema, its own masks
    (`on_target`: the DAG's target login there; `target_masked`: its tables holding them)."""
    database = ctx.database
    if not database.validation.checksums:
        return
    if on_target is not None and on_target.read_as_masks:
        compared = _compared_masks(database, on_target.read_as_masks, target_masked)
        if compared.columns:
            raise _reads_masks(ctx, "SqlDb target database %s on %s" % (database.target_database, database.target_server),
                               on_target.login_name, compared, database.target_database)
    if not source.masked_columns or "masked_columns" in source.unread:
        return
    compared = _compared_masks(database, source.masked_columns, source.masked_tables)
    if not compared.columns:
        return
    if source.read_as_masks and source.login is not None:
        raise _reads_masks(ctx, "source database %s on %s" % (database.source_database, database.source_server),
                           source.login.login_name, compared, database.source_database)
    if room is not None and room.login is not None and not room.login.granted:
        raise StepFailure(
            "%s: validation compares checksums of %s in source database %s, and "
            "reads the restored %s on %s as %s, which lacks CONTROL SERVER there: it would read them as their masks "
            "(no UNMASK) and fail the tables holding them after the cutover. %s does not exist before the "
            "restore, so UNMASK cannot be granted in it: GRANT CONTROL SERVER TO %s (or ALTER SERVER ROLE sysadmin "
            "ADD MEMBER %s) on %s, then run again"
            % (database.name, compared, database.source_database, database.target_database,
               database.target_server, room.login.login_name, database.target_database,
               quote_name(room.login.login_name), quote_name(room.login.login_name), database.target_server)
        )


class _ComparedMasks(NamedTuple):
    columns: int  # the masked columns validation reads
    tables: Optional[List[TableName]]  # the tables holding them (None: not told apart)

    def __str__(self) -> str:
        counted = "%d column(s) under dynamic data masking (sys.masked_columns)" % self.columns
        if self.tables is None:
            return counted
        more = len(self.tables) - SHOWN_MISMATCHES
        return "%s in %d of the tables validation compares (%s%s)" % (
            counted, len(self.tables), ", ".join(str(table) for table in self.tables[:SHOWN_MISMATCHES]),
            " and %d more" % more if more > 0 else "")


def _compared_masks(database: DatabaseMigration, masked_columns: int, masked: Optional[Sequence[MaskedTable]]) -> _ComparedMasks:
    """What of a database's `masked_columns` validation reads: those in the tables of `masked` (its tables holding
    them) that it compares, every one where validation.tables is not listed. Where `masked` is not known (cut off:
    more than MASKED_COLUMNS_READ), the tables are not told apart: all of the database's count."""
    if masked is None:
        return _ComparedMasks(masked_columns, None)
    listed = database.validation.tables
    keys = None if listed is None else {loosely_folded(table) for table in listed}
    compared = [m for m in masked if keys is None or loosely_folded(m.table) in keys]
    return _ComparedMasks(sum(m.masked_columns for m in compared), [m.table for m in compared])


def check_sequences_ahead(ctx: StepContext, source: SourcePrerequisites, target: Sequence[SequenceValue]) -> None:
    """A SqlDb copy's target sequences must be ahead of the source's already: DMS copies rows only, the source's
    only advance until the freeze, and validation compares them after the copy (`validation.compare_sequences`)."""
    database = ctx.database
    settings = database.validation
    if "sequences" in source.unread or not (settings.row_counts or settings.checksums):
        return
    if source.sees_every_sequence is False:
        raise StepFailure(
            "%s: the DAG's login on source server %s may not see every sequence of database %s: sys.sequences shows a "
            "login only the sequences it holds a permission on, unless it holds VIEW DEFINITION on the database (SELECT, "
            "db_datareader, is none on a sequence), so validate, which compares a copy's sequences, would fail after the "
            "copy. Nothing is started: in %s, GRANT VIEW DEFINITION TO <its user>, then run again"
            % (database.name, database.source_server, quote_name(database.source_database), database.source_database))
    behind = compare_sequences(source.sequences, target)
    if not behind:
        return
    more = len(behind) - SHOWN_MISMATCHES
    raise StepFailure(
        "%s: SqlDb target database %s on %s has %d sequence(s) not ahead of the source's already (%s%s). DMS "
        "copies rows only, and the source's sequences advance until the freeze, so validate would fail after the "
        "copy. Nothing is started: deploy the missing ones, and on the target RESTART each with a value beyond what "
        "the source's will have reached by the freeze (the one named is the source's now), then run again"
        % (database.name, database.target_database, database.target_server, len(behind),
           "; ".join(behind[:SHOWN_MISMATCHES]), " (and %d more)" % more if more > 0 else "")
    )


def _reads_masks(ctx: StepContext, where: str, login: str, masked: _ComparedMasks, database: str) -> StepFailure:
    return StepFailure(
        "%s: validation compares checksums, and reads %s as %s, which lacks UNMASK there, so it would read %s as "
        "their masks and fail the tables holding them after the cutover: %s"
        % (ctx.database.name, where, login, masked, _grant_unmask(database)))


def _grant_unmask(database: str) -> str:
    """The advice to a login reading masks (DMS's copy, validation's checksums) in `database`."""
    return "in %s, GRANT UNMASK TO <its user> (or ALTER ROLE db_owner ADD MEMBER <its user>), then run again" % database


def check_encryption_key(ctx: StepContext, source: SourcePrerequisites) -> None:
    """SQL VM targets only (see the module's doc for managed instances and SqlDb)."""
    database = ctx.database
    if database.target_kind != "SqlVm":
        return
    thumbprint = source.encryption_thumbprint
    matching = None if thumbprint is None else ctx.sql.target_keys_matching(database, thumbprint)
    if matching is None or matching > 0:
        return
    raise StepFailure(
        "%s: source database %s is encrypted (TDE) by the key of thumbprint %s, which SQL Server on %s does not hold "
        "in master (no certificate of that thumbprint with its private key, no such asymmetric key): DMS could not "
        "restore its backups. Back up the certificate with its private key on %s (BACKUP CERTIFICATE ... WITH "
        "PRIVATE KEY) and create it in master on the VM (CREATE CERTIFICATE ... FROM FILE ... WITH PRIVATE KEY), "
        "then run again"
        % (database.name, database.source_database, thumbprint, database.target_server, database.source_server)
    )


def check_restore_room(ctx: StepContext, admitted: Sequence[DatabaseMigration] = (), purpose: str = "restore-room",
                       source: Optional[SourcePrerequisites] = None) -> Optional[RestoreRoom]:
    """SqlMi and SqlVm: the room on the target must hold this database's files and those of
    `admitted` (the plan's restores into the same target that DMS runs already) whose target
    database is not there yet (the module's doc). `source`: this database's files read already.
    Returns what it read of the target (None: not a restore)."""
    database = ctx.database
    if not database.restores_backups:
        return None
    restores = [database] + list(admitted)
    sizes, room = ctx.sql.restore_room(restores, purpose, None if source is None else {database.name: source.file_sizes})
    own = sizes.get(database.name)
    if own is None or room.present is None or database.target_database.lower() in room.present:
        return room
    others = [(r, sizes[r.name]) for r in admitted if sizes.get(r.name) is not None and r.target_database.lower() not in room.present]
    if database.target_kind == "SqlMi":
        _check_instance_room(ctx, own, others, room)
    else:
        _check_volume_room(ctx, own, others, room)
    return room


def check_room_at_admission(ctx: StepContext, migrations: Iterable[Tuple[str, str, MigrationStatus]]) -> None:
    """`check_restore_room` at admission (`start_migration`), with the plan's other databases into
    the same target that DMS runs already (`migrations`: what DMS lists on the service). A plan with
    no other database into that target was judged by preflight."""
    database, plan = ctx.database, ctx.plan
    sharing = [d for d in plan.databases if d.name != database.name and d.target_server == database.target_server]
    if not database.restores_backups or not sharing:
        return
    latest = migrations_by_database(plan, migrations)
    service = ctx.services.dms.migration_service_id
    # One DMS still cancels, or still copies though its last ARM operation failed, may still restore into the
    # target (`MigrationStatus.still_runs_in_dms`). A foreign migration into another database's target (another
    # source database's, a person's) is no restore of this plan's: its files are not that database's
    # (`migration_stage.foreign_because`).
    admitted = [d for d in sharing if d.name in latest and latest[d.name].still_runs_in_dms
                and foreign_because(latest[d.name], d.source_database, service) is None]
    # Keyed by what DMS runs into the target: through Data Factory the read takes pokes, and if a
    # migration into it starts or ends meanwhile the room is read again rather than judged stale.
    picture = ";".join("%s=%s:%s" % (d.name, latest[d.name].migration_operation_id, latest[d.name].still_runs_in_dms)
                       for d in sharing if d.name in latest)
    check_restore_room(ctx, admitted, "admission-room-%s" % hashlib.sha256(picture.encode("utf-8")).hexdigest()[:12])


def _check_instance_room(ctx: StepContext, own: FileSizes, others: List[Tuple[DatabaseMigration, FileSizes]], room: RestoreRoom) -> None:
    database = ctx.database
    if room.reserved_mb is None or room.used_mb is None:  # a new instance may not have reported yet
        return
    free_mb = room.reserved_mb - room.used_mb
    if own.total_mb + sum(files.total_mb for _, files in others) <= free_mb:
        return
    raise StepFailure(
        "%s: managed instance %s has %d MB of its %d MB reserved storage free (%d MB used by its database files), "
        "and restoring %s needs %d MB (its data and log files on %s)%s: increase the instance's storage "
        "(storageSizeInGB), free space on it or migrate a database to another target, then run again"
        % (database.name, database.target_server, max(free_mb, 0), room.reserved_mb, room.used_mb,
           database.source_database, own.total_mb, database.source_server, _besides([(r, f.total_mb) for r, f in others]))
    )


_FILE_KINDS: Dict[str, Callable[[FileSizes], int]] = {"data": lambda files: files.data_mb, "log": lambda files: files.log_mb}


def _check_volume_room(ctx: StepContext, own: FileSizes, others: List[Tuple[DatabaseMigration, FileSizes]], room: RestoreRoom) -> None:
    """Per volume of the default data and log paths (a path whose volume is not seen is not judged)."""
    database = ctx.database
    paths = {"data": room.data_path, "log": room.log_path}
    on_volume: Dict[str, Tuple[Volume, List[str]]] = {}
    for kind, path in paths.items():
        volume = room.volume_of(path)
        if volume is not None:
            on_volume.setdefault(volume.root, (volume, []))[1].append(kind)
    for volume, kinds in on_volume.values():
        def there(files: FileSizes) -> int:
            return sum(_FILE_KINDS[kind](files) for kind in kinds)
        besides = [(r, there(files)) for r, files in others]
        if there(own) + sum(mb for _, mb in besides) <= volume.free_mb:
            continue
        raise StepFailure(
            "%s: SQL Server on %s has %d MB free on volume %s, which holds its default %s (%s), and restoring %s "
            "needs %d MB there (its %s files on %s)%s: extend that volume (a larger disk, or one more in its storage "
            "pool), free space on it or change the instance's default data and log paths, then run again"
            % (database.name, database.target_server, max(volume.free_mb, 0), volume.root,
               " and ".join("%s path" % kind for kind in kinds), ", ".join(paths[kind] for kind in kinds),
               database.source_database, there(own), " and ".join(kinds), database.source_server, _besides(besides))
        )


def _besides(others: Sequence[Tuple[DatabaseMigration, int]]) -> str:
    """The plan's restores counted with this one's at admission, as a message part."""
    if not others:
        return ""
    return ", besides %d MB for the plan's restores into it that DMS runs already and that have not created their files yet (%s)" % (
        sum(mb for _, mb in others), ", ".join("%s: %s, %d MB" % (r.name, r.source_database, mb) for r, mb in others))


def _dms_login(ctx: StepContext, connection_id: str) -> Optional[str]:
    """The login DMS is given (`migration_request`): the Airflow connection's."""
    return ctx.services.connections.get(connection_id).login


def _judged(held: LoginPermission, dms_login: Optional[str]) -> bool:
    return bool(dms_login) and held.login_name.lower() == str(dms_login).lower()
