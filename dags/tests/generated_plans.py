"""Large plans for the tests: a line-for-line port of `bench/gen-plan.mjs` (same seeded PRNG, same
random draws in the same order), so `generate_plan(n)` is the document `node bench/gen-plan.mjs n`
writes: hubs, waves, long chains and fan-in sinks over SqlMi/SqlDb/SqlVm targets, some renamed.

    python dags/tests/generated_plans.py 1000 plan.json    # the plan as JSON (for measurements)
"""
from __future__ import annotations

import json
import math
import sys
from typing import Callable, Dict, List

SUBSCRIPTION = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-data-prod/providers"
APPS = ["crm", "erp", "hr", "sales", "billing", "payroll", "inventory", "shipping", "web", "audit", "claims", "ledger"]
_UINT32 = 0xFFFFFFFF


def prng(seed: int) -> Callable[[], float]:
    """mulberry32, as in gen-plan.mjs (JavaScript's 32-bit integer arithmetic, unsigned)."""
    state = [seed & _UINT32]

    def random() -> float:
        state[0] = (state[0] + 0x6D2B79F5) & _UINT32
        t = state[0]
        t = ((t ^ (t >> 15)) * (t | 1)) & _UINT32
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & _UINT32)) & _UINT32
        return ((t ^ (t >> 14)) & _UINT32) / 4294967296

    return random


def _pad(i: int, width: int = 2) -> str:
    return str(i).zfill(width)


def generate_plan(count: int) -> dict:
    if count < 1:
        raise ValueError("database count must be a positive integer, got %r" % count)
    random = prng(0x5EED + count)

    def pick(items: list):
        return items[int(random() * len(items))]

    source_servers = []
    for i in range(max(1, math.ceil(count / 40))):
        server = {"name": "sql%s" % _pad(i + 1), "host": "sql%s.corp.contoso.com" % _pad(i + 1)}
        if i % 5 == 4:
            server.update(authentication="WindowsAuthentication", port=14330)
        server["backupFileShare"] = {
            "path": "\\\\fileserver%s\\sqlbackups\\sql%s" % (_pad(i % 3 + 1), _pad(i + 1)),
            "connectionId": "smb_sql%s" % _pad(i + 1),
        }
        source_servers.append(server)

    def servers_of(kind: str, per: int, prefix: str, resource_path: str) -> List[dict]:
        return [
            {
                "name": "%s-%s" % (prefix, _pad(i + 1)),
                "kind": kind,
                "resourceId": "%s/%s/%s-contoso-%s" % (SUBSCRIPTION, resource_path, prefix, _pad(i + 1)),
            }
            for i in range(max(1, math.ceil(count / per)))
        ]

    targets = {
        "SqlMi": servers_of("SqlMi", 120, "mi", "Microsoft.Sql/managedInstances"),
        "SqlDb": servers_of("SqlDb", 150, "sqldb", "Microsoft.Sql/servers"),
        "SqlVm": servers_of("SqlVm", 200, "vm", "Microsoft.SqlVirtualMachine/sqlVirtualMachines"),
    }
    names = ["%s_%s" % (APPS[i % len(APPS)], _pad(i, 4)) for i in range(count)]
    depends_on = _dependencies(count, names, random)

    databases = []
    for i, name in enumerate(names):
        if count <= 3:
            kind = ["SqlMi", "SqlDb", "SqlVm"][i]
        else:
            r = random()
            kind = "SqlMi" if r < 0.55 else "SqlDb" if r < 0.85 else "SqlVm"
        database: Dict = {
            "name": name,
            "source": {
                "server": source_servers[i % len(source_servers)]["name"],
                "database": "%s_%s" % (APPS[i % len(APPS)].upper(), _pad(i, 4)),
            },
            "target": {"server": pick(targets[kind])["name"]},
            "mode": "offline" if kind == "SqlDb" else ("online" if random() < 0.7 else "offline"),
        }
        if i % 7 == 3:
            database["target"]["database"] = "%s_migrated" % name
        if depends_on[i]:
            database["dependsOn"] = depends_on[i]
        r = random()
        if r < 0.2:
            database["validation"] = {"rowCounts": True, "checksums": True}
        elif r < 0.3:
            database["validation"] = {"rowCounts": True, "checksums": False, "tables": ["dbo.Customers", "dbo.Orders", "sales.OrderLines"]}
        if random() < 0.1:
            database["timeoutMinutes"] = 1440
        databases.append(database)

    return {
        "name": "bench-%d" % count,
        "location": "westeurope",
        "tags": {"owner": "platform-team", "cost-center": "4711", "environment": "bench"},
        "notifications": {"emails": ["dba-oncall@contoso.com", "platform@contoso.com"], "longRunningMinutes": 90},
        "airflow": {"host": "kubernetes", "sqlAccess": "direct", "kubernetes": {"maxNodes": 8 if count > 200 else 4}},
        "sourceServers": source_servers,
        "targetServers": targets["SqlMi"] + targets["SqlDb"] + targets["SqlVm"],
        "backupStorage": {
            "storageAccountResourceId": "%s/Microsoft.Storage/storageAccounts/stcontosobackups" % SUBSCRIPTION,
            "connectionId": "backup_storage_key",
        },
        "databases": databases,
    }


def _dependencies(count: int, names: List[str], random: Callable[[], float]) -> List[List[str]]:
    """dependsOn lists (names) for each index; every dependency points to an earlier index."""
    deps = [set() for _ in range(count)]
    if count <= 3:
        if count == 3:
            deps[2] = {0, 1}
        return [[names[j] for j in sorted(d)] for d in deps]
    hubs = min(5, max(1, count // 50))
    chains = 3 if count >= 60 else 0
    chain_length = min(40, count // 20)
    sinks = min(5, max(1, count // 100)) if count >= 20 else 0
    # Layout: [hubs][waves][chains][sinks]
    wave_start = hubs
    chain_start = count - sinks - chains * chain_length
    wave_count = max(2, math.floor(math.sqrt(chain_start - wave_start) / 2 + 0.5))  # Math.round

    def wave_of(i: int) -> int:
        return ((i - wave_start) * wave_count) // (chain_start - wave_start)

    wave_members: List[List[int]] = [[] for _ in range(wave_count)]
    for i in range(wave_start, chain_start):
        wave_members[wave_of(i)].append(i)

    for i in range(wave_start, chain_start):
        wave = wave_of(i)
        if wave > 0 and random() < 0.9:
            previous = wave_members[wave - 1]
            links = 2 if random() < 0.3 else 1
            for _ in range(links):
                deps[i].add(previous[int(random() * len(previous))])
        if random() < 0.1:
            deps[i].add(int(random() * hubs))  # fan-out from a hub
    for c in range(chains):
        first = chain_start + c * chain_length
        deps[first].add(c % hubs)
        for k in range(1, chain_length):
            deps[first + k].add(first + k - 1)
    for s in range(sinks):
        i = count - sinks + s
        fan_in = min(i, 10 + int(random() * 31))
        while len(deps[i]) < fan_in:
            deps[i].add(int(random() * i))
    return [[names[j] for j in sorted(d)] for d in deps]


def rendered(document: dict) -> dict:
    """The generated plan as `renderMigrationPlan` writes it: every default filled (the DAG reads
    only rendered plans). The defaults are lib/plan's; this fills only what the generator omits."""
    kinds = {server["name"]: server["kind"] for server in document["targetServers"]}
    document = dict(document, airflow={"host": "kubernetes", "sqlAccess": "direct"})
    document["concurrency"] = {"maxMigrationsPerService": 10, "maxMigrationsPerSourceServer": 2, "maxSqlStepsPerRuntime": 4}
    for server in document["sourceServers"]:
        server.setdefault("port", 1433)
        server.setdefault("authentication", "SqlAuthentication")
        server.setdefault("connectionId", "mssql_source_%s" % server["name"].replace("-", "_"))
        server.setdefault("connectionStringSecretName", "%s-connection-string" % server["name"])
    for server in document["targetServers"]:
        server.setdefault("connectionId", "mssql_target_%s" % server["name"].replace("-", "_"))
    for database in document["databases"]:
        database["target"].setdefault("database", database["source"]["database"])
        database["target"]["kind"] = kinds[database["target"]["server"]]
        database.setdefault("dependsOn", [])
        database.setdefault("validation", {"rowCounts": True, "checksums": False})
        database.setdefault("timeoutMinutes", 720)
        database.setdefault("sourceFreeze", "readOnly")
        database.setdefault("allowSourceWritesDuringCopy", False)
    return document


if __name__ == "__main__":
    size, out = int(sys.argv[1]), sys.argv[2]
    with open(out, "w", encoding="utf-8") as stream:
        json.dump(generate_plan(size), stream, indent=1)
