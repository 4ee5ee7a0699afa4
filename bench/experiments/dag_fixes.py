"""One-off measurements behind the DAG fix proposals in bench/analysis.md (not part of `npm run bench`).

Run with .venv/bin/python after `npm run bench` (needs bench/.work/plans/):

    .venv/bin/python bench/experiments/dag_fixes.py wiring [PLAN.json]
    .venv/bin/python bench/experiments/dag_fixes.py renamed-target

Both copy dags/ to bench/.work/exp/dags_patched and apply the proposed change there (dags/ itself
is never touched), then measure the original and the patched copy side by side:

  wiring          dag_factory.py wires dependencies by adding task ids to upstream_task_ids /
                  downstream_task_ids instead of `>>`. Airflow's `>>` checks that both tasks are in
                  one DAG by putting task.dag in a set: DAG.__hash__ hashes a tuple of every task id,
                  so each `>>` costs O(tasks) and building the DAG O(tasks x edges). Checks that
                  both builds give the same graph (every task's upstream and downstream ids and
                  trigger rule), then times DagBag parses of both with bench/dag_timing.py.
  renamed-target  simulation.py fingerprints tables by (database name, table), so a database whose
                  target name differs from its source name (target.database) fails validation in
                  every rehearsal. Patched: a target database is fingerprinted under its source
                  database's name. Rehearses a copy of the example plan where database_1 is renamed
                  on the target, with the original and the patched simulation.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WORK = os.path.join(ROOT, "bench", ".work")
PATCHED = os.path.join(WORK, "exp", "dags_patched")
TIMING = os.path.join(ROOT, "bench", "dag_timing.py")

WIRING_REPLACEMENTS = [
    (
        "                groups[dependency].last >> groups[database.name].first",
        "                _wire(groups[dependency].last, groups[database.name].first)",
    ),
    (
        "            [tasks.last, tasks.rollback] >> outcome",
        "            _wire(tasks.last, outcome)\n            _wire(tasks.rollback, outcome)",
    ),
    ("            upstream >> downstream", "            _wire(upstream, downstream)"),
    ("        chain >> undo", "        for task in chain:\n            _wire(task, undo)"),
]
WIRING_FUNCTION = '''

def _wire(upstream, downstream) -> None:
    """`upstream >> downstream` for two operators already in the same DAG, without `>>`'s check,
    which hashes the DAG (a tuple of every task id): O(tasks) per edge."""
    upstream.downstream_task_ids.add(downstream.task_id)
    downstream.upstream_task_ids.add(upstream.task_id)
'''

SIMULATION_REPLACEMENTS = [
    (
        '        digest = int(hashlib.sha256(("%s/%s" % (database, table)).encode()).hexdigest()[:8], 16)',
        '        source_database = self._source_database(connection_id, database)\n'
        '        digest = int(hashlib.sha256(("%s/%s" % (source_database, table)).encode()).hexdigest()[:8], 16)',
    ),
    (
        "    def _target_state(self, connection_id: str, database: str) -> Optional[str]:",
        '''    def _source_database(self, connection_id: str, database: str) -> str:
        """A migrated database holds its source's rows, whatever its name on the target."""
        if connection_id in self._source_connections:
            return database
        for plan_database in self._plan.databases:
            target = self._plan.target_of(plan_database)
            if target.connection_id == connection_id and plan_database.target_database.lower() == database.lower():
                return plan_database.source_database
        return database

    def _target_state(self, connection_id: str, database: str) -> Optional[str]:''',
    ),
]


def patched_copy(file_name: str, replacements, append: str = "") -> None:
    shutil.rmtree(PATCHED, ignore_errors=True)
    shutil.copytree(os.path.join(ROOT, "dags"), PATCHED, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    path = os.path.join(PATCHED, "migration_orchestration_lib", file_name)
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    for old, new in replacements:
        if text.count(old) != 1:
            raise SystemExit("cannot apply the change to %s: %r not found exactly once (dags/ changed?)" % (file_name, old))
        text = text.replace(old, new)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text + append)


def run_json(args) -> dict:
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


GRAPH_SCRIPT = r"""
import json, os, sys, tempfile
home = tempfile.mkdtemp()
os.environ.update({"AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                   "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:///%s/a.db" % home})
sys.path.insert(0, sys.argv[1])
from migration_orchestration_lib.dag_factory import build_dag_from_plan_file
dag = build_dag_from_plan_file(sys.argv[2])
print(json.dumps({t.task_id: [sorted(t.upstream_task_ids), sorted(t.downstream_task_ids), str(t.trigger_rule)] for t in dag.tasks}))
"""


def wiring(plan: str) -> None:
    patched_copy("dag_factory.py", WIRING_REPLACEMENTS, WIRING_FUNCTION)
    graphs = [run_json(["-c", GRAPH_SCRIPT, folder, plan]) for folder in (os.path.join(ROOT, "dags"), PATCHED)]
    print("same graph: %s (%d tasks)" % (graphs[0] == graphs[1], len(graphs[0])))
    for label, folder in (("original", os.path.join(ROOT, "dags")), ("patched", PATCHED)):
        result = run_json([TIMING, "parse", "--dag-file", os.path.join(folder, "migration_orchestration.py"), "--plan", "p=" + plan, "--reps", "5"])
        parses = sorted(p["seconds"] for p in result["parses"]["p"])
        print("%-9s DagBag parse: median %.2f s (min %.2f, max %.2f) of 5" % (label, parses[2], parses[0], parses[-1]))


def renamed_target() -> None:
    patched_copy("simulation.py", SIMULATION_REPLACEMENTS)
    with open(os.path.join(WORK, "plans", "default.json"), encoding="utf-8") as handle:
        document = json.load(handle)
    document["databases"][0]["target"]["database"] = document["databases"][0]["source"]["database"] + "_migrated"
    plan = os.path.join(tempfile.mkdtemp(prefix="bench-renamed-"), "renamed.json")
    with open(plan, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
    for label, folder in (("original", os.path.join(ROOT, "dags")), ("patched", PATCHED)):
        result = run_json([TIMING, "rehearsal", "--dag-dir", folder, "--plan", plan])
        print("%-9s rehearsal: %s, %s" % (label, result["state"], result["task_states"]))


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "wiring":
        wiring(os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else os.path.join(WORK, "plans", "gen-1000.json"))
    elif command == "renamed-target":
        renamed_target()
    else:
        raise SystemExit(__doc__)
