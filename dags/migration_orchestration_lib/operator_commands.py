"""The Airflow CLI command the DAG's messages print for a person to run, every word quoted for a POSIX
shell: a record's key may hold the source database's name, which SQL Server lets hold spaces, `$`, `;`,
`&` or `(` (the plan refuses only brackets, quotes and control characters). Unquoted, the shell would
split such a key, or run what follows a `;`. Where the command runs on each host: README, "Running the
runbook's Airflow steps"."""
from __future__ import annotations

import shlex


def variables_set(key: str, value: str = "") -> str:
    """`airflow variables set KEY VALUE` (the same on Airflow 2.6 to 3.3); an empty value clears a record."""
    return "airflow variables set %s %s" % (shlex.quote(key), shlex.quote(value))
