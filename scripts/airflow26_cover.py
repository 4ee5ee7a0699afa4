"""Which tests of the named files the Python 3.8 run (pytest marker airflow26) needs: the fewest seconds of tests that,
with the run's other tests, reach every line and branch of the DAG's code the whole run reaches (dags/README.md,
"Python 3.8"). Greedy by new arcs per second, one test function (all its parameters) at a time.

Measure the run first, on Python 3.8 with every test of the named files marked airflow26 (coverage 7.6.1, pytest-cov
5.0.0 and pytest-xdist 3.6.1 installed with `pip install --target DIR`, DIR on PYTHONPATH):

    cd dags && PYTHONPATH=$PWD:DIR ../.venv-airflow26/bin/python -m pytest -q -p no:cacheprovider -m airflow26 tests \
        -n 2 --cov --cov-config=RC --cov-context=test --cov-report= --durations=0 > run.log
    (RC: [run] branch = True, source = migration_orchestration_lib, migration_orchestration, data_file = FILE,
    parallel = True)

then: python3 scripts/airflow26_cover.py FILE run.log dags/tests/test_a.py,dags/tests/test_b.py
It prints the test functions of those files to mark, and the seconds kept and left out per file; a second
measurement of the marked selection must reach the same arcs (--compare FILE2)."""
from __future__ import annotations

import argparse
import collections
import re
import sqlite3


def arcs_by_test(data_file: str) -> dict[str, set]:
    """Each test function's arcs (file, from line, to line) of the DAG's code, from coverage's per-test contexts."""
    database = sqlite3.connect(data_file)
    contexts = dict(database.execute("select id, context from context"))
    paths = dict(database.execute("select id, path from file"))
    arcs: dict[str, set] = collections.defaultdict(set)
    for context_id, file_id, start, end in database.execute("select context_id, file_id, fromno, tono from arc"):
        context = contexts[context_id]
        if context:  # "": what importing the modules ran, which every run does
            arcs[test_function(context.split("|")[0])].add((paths[file_id], start, end))
    return arcs


def test_function(node_id: str) -> str:
    """tests/test_a.py::test_b[x-y] -> test_a.py::test_b"""
    return node_id.split("[")[0].split("/")[-1]


def seconds_by_test(durations_log: str) -> dict[str, float]:
    seconds: dict[str, float] = collections.defaultdict(float)
    for match in re.finditer(r"^([0-9.]+)s (?:call|setup|teardown)\s+(\S+)", durations_log, re.M):
        seconds[test_function(match.group(2))] += float(match.group(1))
    return seconds


def select(arcs: dict[str, set], seconds: dict[str, float], files: set[str]) -> list[str]:
    candidates = {test for test in set(arcs) | set(seconds) if test.split("::")[0] in files}
    reached = set().union(*(arcs[test] for test in arcs if test not in candidates))
    everything = set().union(*arcs.values())
    chosen = []
    while reached != everything:
        best = max(candidates - set(chosen), key=lambda test: len(arcs[test] - reached) / (seconds[test] + 0.05))
        chosen.append(best)
        reached |= arcs[best]
    return sorted(chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_file")
    parser.add_argument("durations_log")
    parser.add_argument("files", help="comma-separated test files whose tests may be left out of the run")
    parser.add_argument("--compare", help="a second measurement: must reach the same arcs as the first")
    arguments = parser.parse_args()
    arcs = arcs_by_test(arguments.data_file)
    if arguments.compare:
        first, second = set().union(*arcs.values()), set().union(*arcs_by_test(arguments.compare).values())
        print("arcs: %d and %d; reached by the first only: %d" % (len(first), len(second), len(first - second)))
        raise SystemExit(0 if first <= second else 1)
    seconds = seconds_by_test(open(arguments.durations_log).read())
    files = {path.split("/")[-1] for path in arguments.files.split(",")}
    chosen = select(arcs, seconds, files)
    kept, left = collections.Counter(), collections.Counter()
    for test in set(arcs) | set(seconds):
        if test.split("::")[0] in files:
            (kept if test in chosen else left)[test.split("::")[0]] += seconds[test]
    for test in chosen:
        print(test)
    for name in sorted(files):
        print("# %s: %.1f s kept, %.1f s left out" % (name, kept[name], left[name]))


if __name__ == "__main__":
    main()
