"""Summarises an `airflow dags test` log of the migration DAG: events, task states, outcome."""
from __future__ import annotations

import json
import re
import sys

EVENT = re.compile(r"migration event (\{.*\})\s*$")
TASK_STATE = re.compile(r"Marking task as (\w+)\. dag_id=\S+, task_id=([\w.]+),")
RUN_STATE = re.compile(r"DagRun Finished: .* state=(\w+)")
OUTCOME = re.compile(r"AirflowFailException: (migration run failed: .*)$")


def main(log_path: str) -> int:
    events, states, run_state, outcome = [], {}, None, None
    with open(log_path, encoding="utf-8", errors="replace") as log:
        for line in log:
            if match := EVENT.search(line):
                events.append(json.loads(match.group(1)))
            elif match := TASK_STATE.search(line):
                states[match.group(2)] = match.group(1)
            elif match := RUN_STATE.search(line):
                run_state = match.group(1)
            elif match := OUTCOME.search(line):
                outcome = match.group(1)
    print("\nEvents")
    for event in events:
        print(f"  {event['Database']:<24} {event['Phase']:<20} {event['Status']:<10} {event['Message']}")
    print("\nTasks")
    for task, state in sorted(states.items()):
        print(f"  {task:<48} {state}")
    never_ran = sorted({e["Database"] for e in events} ^ {t.split(".")[0] for t in states if "." in t})
    if never_ran:
        print(f"  (no events at all for: {', '.join(never_ran)})")
    print(f"\nRun: {run_state or 'unknown (see the Airflow log)'}" + (f" - {outcome}" if outcome else ""))
    return 0 if run_state == "success" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
