"""Whether a name DMS reports for a migration's source names the plan's source server.

DMS names a migration's source server in `sourceServerName` (read-only, "Name of the source sql
server"; the recorded examples answer "sourceserver" to a request whose dataSource was "aaa", so it
is not an echo of the request) and, where it returns it, `sourceSqlConnection.dataSource` (what the
request sent, `[protocol:]host[\\instance][,port]`). Either may be SQL Server's own name
(@@SERVERNAME: `MACHINE` or `MACHINE\\INSTANCE`) or a host a client reached it by, so a name is
compared with the plan's `host[\\instance]` and port, letter case aside:

- a protocol prefix (`tcp:`) is left out; a port is compared only where the name carries one;
- the instance must be the same (`MSSQLSERVER`, the default instance's name, is none);
- the machine must be the same name, or, where one side is a short name (no dot), the other's first
  DNS label (`SQL01` is `sql01.corp.contoso.com`); two qualified names, or an IP address, must be equal.

Anything else names another server. Which name DMS reports: the spec says only "Name of the source
sql server"; the sessions Azure PowerShell recorded against the service (Azure/azure-powershell
`src/DataMigration/DataMigration.Autorest/test/New-AzDataMigrationDatabaseMigrationSqlDb.Recording.json`,
SqlDb, 2022-03-30-preview) answer the request's dataSource `AALAB03-2K8.REDMOND.CORP.MICROSOFT.COM`
as `sourceServerName` as sent (qualified: SQL Server's own name, @@SERVERNAME, has no domain), in the create's
response and in the GET after it, InProgress; the same migration's Succeeded GET
(`Get-AzDataMigrationToSqlDb.Recording.json`) carries a placeholder; their SqlMi and SqlVm sessions
(2021-10-30-preview) carry no `sourceServerName`. Nothing recorded shows a SqlMi or SqlVm migration's,
nor this DAG's API version: were it the machine's, a plan whose host is an IP address, a DNS alias,
an Availability Group listener or a named instance reached by its port alone could not be matched
to it. So another name makes a migration doubtful, never foreign
(`migration_stage.Standing.unmatched_source_server`): forward steps go on with it, and the rollback
cancels it or removes its target only where this run created it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

DEFAULT_INSTANCE = "mssqlserver"
_PROTOCOL = re.compile(r"^(?:tcp|np|lpc|admin):", re.IGNORECASE)
_IPV4 = re.compile(r"^[0-9]{1,3}(?:\.[0-9]{1,3}){3}$")


@dataclass(frozen=True)
class ServerAddress:
    machine: str  # lower case, without protocol, instance or port
    instance: str  # lower case; "" for the default instance
    port: Optional[str]  # as written (digits without leading zeros), None where the name has none


def parse_address(text: str) -> ServerAddress:
    """`[protocol:]host[\\instance][,port]` in its parts."""
    name, _, port = _PROTOCOL.sub("", text.strip()).lower().partition(",")
    machine, _, instance = name.partition("\\")
    instance = instance.strip()
    port = port.strip()
    return ServerAddress(
        machine=machine.strip(),
        instance="" if instance == DEFAULT_INSTANCE else instance,
        port=(str(int(port)) if port.isdigit() else port) or None,
    )


def names_same_server(reported: str, host: str, port: int) -> bool:
    """Whether `reported` (a name DMS gives) names the server at the plan's `host[\\instance]` and `port`."""
    theirs, ours = parse_address(reported), parse_address(host)
    if theirs.instance != ours.instance:
        return False
    if theirs.port is not None and theirs.port != str(port):
        return False  # another port of the machine: another instance
    return _same_machine(theirs.machine, ours.machine)


def _same_machine(theirs: str, ours: str) -> bool:
    if not theirs or not ours:
        return False
    if theirs == ours:
        return True
    if _IPV4.match(theirs) or _IPV4.match(ours) or ("." in theirs and "." in ours):
        return False
    return theirs.split(".")[0] == ours.split(".")[0]
