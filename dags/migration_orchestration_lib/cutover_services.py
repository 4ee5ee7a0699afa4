"""What the cutover gate reads from outside: the time and the approval records (production side).

`SystemClock`: real UTC; waiting, holding and releasing are no-ops (a rehearsal's simulated clock,
`rehearsal_cutover.SimulatedClock`, moves on instead). `AirflowVariableApprovals`: the approval
record is the Airflow Variable `migration_cutover_approval__<database>` (both channels write it;
the operator fallback is one `airflow variables set`). `AirflowVariableRecords`: the other records
kept between runs (`handoffs`, and the cutover admissions of `cutover_steps`). Tasks read Variables through the Task SDK
on Airflow 3 (the API server, not the metadata database) and `airflow.models.Variable` on 2.x.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import FrozenSet, Optional

from migration_orchestration_lib.airflow_compat import delete_variable, get_variable, set_variable, utc_now
from migration_orchestration_lib.cutover_gate import ApprovalRecord, approval_variable


class SystemClock:
    def now(self) -> datetime:
        return utc_now()

    def horizon(self) -> Optional[datetime]:
        """Past it a waiting database stops waiting (rehearsals only)."""
        return None

    def waiting_since(self, database: str, first_poke: datetime) -> datetime:
        return first_poke

    def wait(self, database: str, until: Optional[datetime], for_capacity: bool = False) -> timedelta:
        """A waiting poke ends; `until`: when its decision can change by time alone; `for_capacity`: a `start_migration`
        waiting for a place only time frees, not a gate. Returns the least real time before the next poke (a
        rehearsal's clock held for an answer: `rehearsal_cutover.ANSWER_POKE`)."""
        return timedelta(0)

    def waiting(self) -> FrozenSet[str]:
        """The databases whose waits only time ends (a rehearsal's gates, and waits for capacity they hold): none."""
        return frozenset()

    def goes_on(self, database: str) -> None:
        """The database waits no more before its gate (admitted to DMS): the simulated clock waits for it again."""

    def hold(self, database: str, window: Optional[str] = None, closes: Optional[datetime] = None) -> None:
        """The database's cutover begins (the simulated clock stops jumping while one runs)."""

    def placed(self, database: str, admitted: bool = False) -> bool:
        """The database's cutover found a place free (`cutover.maxConcurrent`; `admitted`: took it); whether the time
        moved on to it (a rehearsal's clock: its cutover begins at its place, not at its gate). Real time: it did not."""
        return False

    def release(self, database: str) -> None:
        """The database's cutover ended (migrated, back to replicating or rolled back)."""


class AirflowVariableRecords:
    """Small records the DAG keeps between runs (handoffs, cutover admissions, a source's access before
    the DAG froze it), one Airflow Variable each (empty: none)."""

    def get(self, key: str) -> Optional[str]:
        """The value; "" once cleared, None when Airflow holds no such Variable (never set, or lost)."""
        return get_variable(key)

    def put(self, key: str, value: str) -> None:
        set_variable(key, value)

    def delete(self, key: str) -> None:
        """No Variable left behind (read as None from then on): for scratch records, whose empty value means none."""
        delete_variable(key)


class AirflowVariableApprovals:
    def get(self, database: str) -> Optional[str]:
        return get_variable(approval_variable(database))

    def put(self, database: str, record: ApprovalRecord) -> None:
        set_variable(approval_variable(database), record.to_json())

    def clear(self, database: str) -> None:
        delete_variable(approval_variable(database))  # read as "" (`parse_record`): no Variable left per database
