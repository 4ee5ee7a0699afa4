"""The `airflow variables set` commands the DAG's messages print for a person: read by a POSIX shell as
printed, each gives Airflow's CLI the record's key and value whole, whatever the source database's name
holds (SQL Server allows spaces, `&`, `;`, `$` and parentheses in one; the plan refuses only brackets,
quotes and control characters). Before, the key was printed unquoted: the shell split it at the space,
ran the rest after `;` as another command, and Airflow wrote a record under another key."""
from __future__ import annotations

import shlex
from types import SimpleNamespace

import pytest

from migration_orchestration_lib import source_freeze
from migration_orchestration_lib.removed_databases import ListedDatabase, Stranded, stranded_message

# Every Airflow a host runs reads the printed commands with its own CLI parser.
pytestmark = [pytest.mark.airflow210, pytest.mark.airflow26, pytest.mark.airflow31]

HOSTILE = "Sales & Co; $(id) (EU)"
WRITABLE = '{"readOnly":false,"userAccess":"MULTI_USER"}'


def commands_in(message: str) -> list:
    """Each `airflow variables set` in the message as a shell reads it: (key, value)."""
    found = []
    start = message.find("airflow variables set ")
    while start >= 0:
        words = shlex.shlex(message[start:], posix=True, punctuation_chars="();")
        words.whitespace_split = True
        tokens = [words.get_token() for _ in range(5)]
        assert tokens[:3] == ["airflow", "variables", "set"], tokens
        found.append((tokens[3], tokens[4]))
        start = message.find("airflow variables set ", start + 1)
    return found


def parsed_by_airflow(key: str, value: str):
    """Airflow's own CLI parser reads the words (`airflow variables set KEY VALUE`)."""
    from airflow.cli.cli_parser import get_parser

    args = get_parser().parse_args(["variables", "set", key, value])
    return args.key, args.value


def test_the_commands_for_a_lost_record_of_the_access_before_a_freeze_give_airflow_the_key_whole():
    database = SimpleNamespace(source_server="sql01", source_database=HOSTILE)
    key = source_freeze.record_key(database)
    ctx = SimpleNamespace(services=SimpleNamespace(records=SimpleNamespace(get=lambda _key: None)))
    state = SimpleNamespace(is_read_only=True, user_access="MULTI_USER")
    now = SimpleNamespace(migration=object(), operation_id="op-1")

    message = source_freeze.unknown_freeze(ctx, database, state, now)

    commands = commands_in(message)
    assert commands == [(key, WRITABLE), (key, '{"readOnly":true,"userAccess":"MULTI_USER"}')], message
    assert [parsed_by_airflow(*command) for command in commands] == commands


def test_the_commands_for_a_database_removed_mid_migration_clear_its_record_under_its_own_key():
    listed = ListedDatabase(name="sales", source_server="sql01", source_database=HOSTILE, target_kind="SqlMi", migrated=False)
    key = source_freeze.record_key(listed)

    message = stranded_message(None, Stranded(database=listed, record=WRITABLE, migration=None, none_in_dms=True))

    commands = commands_in(message)
    assert commands == [(key, ""), (key, "")], message
    assert [parsed_by_airflow(*command) for command in commands] == commands
