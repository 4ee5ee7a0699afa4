"""When a name DMS reports names the plan's source server (`source_server_names`), per form a host takes."""
from __future__ import annotations

import pytest

from migration_orchestration_lib.source_server_names import ServerAddress, names_same_server, parse_address

pytestmark = pytest.mark.airflow26  # cheap: proves it on Python 3.8 too


@pytest.mark.parametrize("text, address", [
    ("sql01", ServerAddress("sql01", "", None)),
    ("SQL01.Corp.Contoso.com,1433", ServerAddress("sql01.corp.contoso.com", "", "1433")),
    ("tcp:sql01\\Sales,01433", ServerAddress("sql01", "sales", "1433")),
    ("sql01\\MSSQLSERVER", ServerAddress("sql01", "", None)),
    ("10.0.0.5, 50000", ServerAddress("10.0.0.5", "", "50000")),
])
def test_a_name_in_its_parts(text, address):
    assert parse_address(text) == address


# (plan host, plan port, name DMS reports, the same server?)
CASES = [
    ("sql01.corp.contoso.com", 1433, "SQL01", True),  # the machine's own name (@@SERVERNAME)
    ("sql01.corp.contoso.com", 1433, "sql01.corp.contoso.com", True),
    ("sql01.corp.contoso.com", 1433, "tcp:SQL01.CORP.CONTOSO.COM,1433", True),
    ("sql01", 1433, "sql01.corp.contoso.com", True),
    ("sql01.corp.contoso.com", 1433, "sql02", False),
    ("sql01.corp.contoso.com", 1433, "sql01.corp.fabrikam.com", False),  # both qualified: equal or not the same
    ("sql01.corp.contoso.com", 1433, "sql01,1444", False),  # another port: another instance
    ("sql01.corp.contoso.com", 1433, "SQL01\\HR", False),
    ("sql01\\Sales", 1433, "SQL01\\SALES", True),
    ("sql01\\Sales", 50000, "tcp:sql01.corp.contoso.com\\sales,50000", True),
    ("sql01\\Sales", 1433, "SQL01", False),  # the default instance is another
    ("sql01.corp.contoso.com", 50000, "SQL01\\SALES", False),  # a named instance reached by its port alone: in doubt, not ours
    ("10.0.0.5", 1433, "tcp:10.0.0.5,1433", True),
    ("10.0.0.5", 1433, "10.0.0.6", False),
    ("10.0.0.5", 1433, "SQL01", False),  # an IP address cannot be told to be that machine: not ours
    ("10.0.0.5", 1433, "10", False),  # an IP address has no first label
    ("sql01.corp.contoso.com", 1433, ",1433", False),
]


@pytest.mark.parametrize("host, port, reported, same", CASES)
def test_when_a_reported_name_is_the_plans_source_server(host, port, reported, same):
    assert names_same_server(reported, host, port) is same
