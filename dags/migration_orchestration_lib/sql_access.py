"""How the DAG's SQL steps reach SQL Server: one interface, two implementations.

- direct: a TDS connection from the Airflow worker (pymssql), for hosts with network reach;
- dataFactory: a Data Factory pipeline run (Lookup for queries, Script for statements), on the
  self-hosted integration runtime for sources and the managed virtual network for targets.

An operation is started with `submit` and finished with `result`, so a step waits for a slow one
(a pipeline run, a BACKUP LOG) in a sensor's reschedule mode without holding a worker slot.
`submit` is idempotent per `SqlOperation.key`: submitting a key again returns the operation already
started, so a crashed worker's re-run adopts it instead of running it twice. The statements
themselves are idempotent where they change anything (see `sql_statements`).

How a step uses it: on every poke `handle = access.submit(operation)` then `access.result(handle)`
(None: poke again later). Keep the key stable for one DAG run's step (run id, database, step):
pokes, retries and a crashed worker's successor then find the same operation, and a failed one
keeps failing (Data Factory already retried its activity). `not_before` (the try's first poke) keeps
the runs of a deleted DAG run that had the same run id from being taken for this one's. Put the try
number in the key only if an Airflow retry should run the SQL again. The direct implementation runs the batch inside
`submit` (its `result` is ready at once); the Data Factory one returns while the run is Queued.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, List, Mapping, Optional, Protocol, Sequence


SOURCE = "source"
TARGET = "target"
# Data Factory fails an activity run whose payload (its configuration with the batch in it, its dataset and linked
# service) is over 896 KB ("Bytes per payload for each activity run", Data Factory limits; error 2002 "The payload
# including configurations on activity/dataSet/linked service is too large"). A batch may take this much of it, as
# `batch_payload_bytes` measures it; the rest is left for the configuration around it.
BATCH_PAYLOAD_BUDGET_BYTES = 768 * 1024


def batch_payload_bytes(sql: str) -> int:
    """The batch's size as a JSON string with every character past ASCII escaped (`\\uXXXX`): at least its size as
    UTF-8 JSON, the payload's form on the wire."""
    return len(json.dumps(sql))


@dataclass(frozen=True)
class SqlEndpoint:
    """A database on one of the plan's servers."""

    role: str  # SOURCE or TARGET
    server_name: str  # the plan's server name (sourceServers[].name / targetServers[].name)
    database: str  # database to connect to: "master", except a SqlDb target's own (sql_statements.connect_database)


@dataclass(frozen=True)
class SqlOperation:
    """One T-SQL batch to run on one endpoint."""

    key: str  # idempotency key: the same key is the same operation, across retries and re-runs
    endpoint: SqlEndpoint
    sql: str
    returns_rows: bool  # a query (rows back) or a statement
    timeout_seconds: int = 3600
    # No run of the key begun before this is this operation's: a run deleted and triggered again under its
    # run id numbers its tries from 1 again, so its keys recur, and an earlier run's result would be taken
    # for this one's (a freeze the rollback undid since, read as in force). None: any within the adoption window.
    not_before: Optional[datetime] = None
    # Whether the batch may run again after it failed (Data Factory's retries of its activity, each for the whole
    # timeout): False for one whose timeout is what is left until a deadline, which a retry would run past.
    rerun_after_failure: bool = True


@dataclass(frozen=True)
class SqlOperationHandle:
    """What `submit` returns; small and JSON-friendly, so a step can keep it in XCom."""

    key: str
    reference: str  # a pipeline run id, or the direct implementation's own marker


@dataclass(frozen=True)
class SqlResult:
    rows: Sequence[Mapping[str, Any]] = field(default_factory=list)


class SqlOperationFailed(Exception):
    """The operation ran and failed (SQL error, pipeline run Failed/Cancelled); the message says why."""


class SqlAccess(Protocol):
    def submit(self, operation: SqlOperation) -> SqlOperationHandle:
        """Start the operation, or return the one already started with this key."""
        ...

    def result(self, handle: SqlOperationHandle) -> Optional[SqlResult]:
        """The result once finished; None while it runs; raises `SqlOperationFailed` when it failed."""
        ...

    def submitted(self, operation: SqlOperation) -> bool:
        """Whether an operation with this key was started (and `submit` would return it)."""
        ...


def rows_of(result: SqlResult) -> List[Mapping[str, Any]]:
    return list(result.rows)
