"""One SQL Server under two host names: what SQL Server answers about its databases' identity.

`sql_statements.source_identity` reads the server's own name (@@SERVERNAME, else
SERVERPROPERTY('ServerName')) and the database's `database_guid`; the fake answers as SQL Server does:
the same database reached through an alias, an FQDN or an IP address is one database of one named server."""

from __future__ import annotations

from migration_orchestration_lib import sql_statements as statements
from migration_rehearsal.sql_world import SqlEngine, rows_as_dicts
from migration_rehearsal.world import World

ALIAS_HOST = "sales-listener.corp.contoso.com"


# --- the fake SQL Server: what real SQL Server answers ------------------------------------------


def test_the_same_database_reached_through_two_host_names_is_one_database_of_one_named_server(tmp_path):
    world = World(str(tmp_path))
    world.add_server("sql01")
    world.add_server_alias("sql01", "sales-listener")
    world.add_server_alias("sql01", "10.0.0.5")
    world.put_database("sql01", "Sales")
    world.put_database("sql01", "Hr")
    engine = SqlEngine(world)

    def identity(host, database="Sales"):
        cursor = engine.connect(server=host, user="u", password="p", autocommit=True).cursor()
        cursor.execute(statements.source_identity(database))
        return statements.parse_source_identity(rows_as_dicts(cursor))

    [first] = {identity(host) for host in ("sql01.corp.contoso.com", "sql01", ALIAS_HOST, "10.0.0.5,1433")}
    assert first.server_name == "sql01"  # its own name, not the host the connection named
    assert identity("sql01", "Hr").database_guid != first.database_guid
    assert identity("sql01", "Missing") is None
    world.drop_database("sql01", "Sales")
    world.put_database("sql01", "Sales")  # a new database of that name is another database
    assert identity("sql01").database_guid != first.database_guid


def test_servername_and_serverproperty_servername_answer_the_servers_own_name(tmp_path):
    world = World(str(tmp_path))
    world.add_server("sql01")
    world.add_server_alias("sql01", "sales-listener")
    cursor = SqlEngine(world).connect(server=ALIAS_HOST, user="u", password="p", autocommit=True).cursor()
    cursor.execute("SELECT @@SERVERNAME AS configured, CONVERT(nvarchar(128), SERVERPROPERTY('ServerName')) AS instance;")
    assert rows_as_dicts(cursor) == [{"configured": "sql01", "instance": "sql01"}]
