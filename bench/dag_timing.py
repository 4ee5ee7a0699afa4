"""DAG timings for the benchmark (run by bench/run.mjs with .venv/bin/python).

    python bench/dag_timing.py parse --dag-file F --plan NAME=PLAN.json ... [--reps N] [--profile NAME]
    python bench/dag_timing.py rehearsal --dag-dir D --plan PLAN.json [--profile]

Prints one JSON document on stdout.

`parse` mirrors the scheduler's DAG file processor: this process imports Airflow once (timed and
reported apart: the scheduler pays it once, not per parse), then every parse runs in a forked
child, as Airflow's processor does, so each one imports `migration_orchestration_lib` afresh and
builds the DAG: `DagBag(<dag file>, include_examples=False)` with MIGRATION_PLAN_PATH pointing at
the plan. A second parse in the same child ("warm") shows how much of the first was module
import. The first round is a warm-up (disk cache, .pyc files) and is not reported.

`rehearsal` creates the metadata DB (SQLite in a temporary AIRFLOW_HOME, timed apart), then
builds the DAG for the plan in rehearsal mode (MIGRATION_DRY_RUN=1, simulated world in a
temporary directory) and runs `dag.test()`: wall time, run state, task-instance states.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import shutil
import sys
import tempfile
import time


def isolated_environment(home: str, dags_folder: str) -> None:
    """Same setup as dags/tests/conftest.py: nothing from the machine leaks in."""
    for name in list(os.environ):
        if name.startswith(("MIGRATION_", "AZURE_", "AIRFLOW__")):
            del os.environ[name]
    os.environ.update(
        {
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "SequentialExecutor",
            "AIRFLOW__CORE__DAGS_FOLDER": dags_folder,
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "600",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:///%s/airflow.db" % home,
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, dags_folder)


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def dag_bag(dag_file: str):
    """DagBag(<file>): Airflow 3 moved it and reads LOAD_EXAMPLES from the configuration only."""
    try:
        from airflow.dag_processing.dagbag import DagBag

        return DagBag(dag_folder=dag_file)
    except ImportError:
        from airflow.models.dagbag import DagBag

        return DagBag(dag_folder=dag_file, include_examples=False)


def parse_once(dag_file: str, plan_path: str, profile: bool) -> dict:
    os.environ["MIGRATION_PLAN_PATH"] = plan_path
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    bag = dag_bag(dag_file)
    if profiler:
        profiler.disable()
    first = time.perf_counter() - started
    result = {
        "seconds": first,
        "import_errors": {str(k): str(v)[-2000:] for k, v in bag.import_errors.items()},
        "dags": len(bag.dags),
        "tasks": sum(len(dag.tasks) for dag in bag.dags.values()),
        "max_rss_mb": max_rss_mb(),
    }
    if profiler:
        result["profile"] = profile_summary(profiler)
    else:
        # Same process again: migration_orchestration_lib is imported now, only the DAG is built.
        started = time.perf_counter()
        dag_bag(dag_file)
        result["warm_seconds"] = time.perf_counter() - started
    return result


def profile_summary(profiler: cProfile.Profile, limit: int = 25) -> dict:
    out = {}
    for key in ("cumulative", "tottime"):
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        stats.strip_dirs().sort_stats(key).print_stats(limit)
        out[key] = stream.getvalue()
    return out


def in_child(function, *args) -> dict:
    """Runs function(*args) in a forked child and returns its JSON-able result."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        try:
            payload = json.dumps({"ok": True, "value": function(*args)})
        except BaseException as error:  # report, never hang the parent
            payload = json.dumps({"ok": False, "error": "%s: %s" % (type(error).__name__, error)})
        with os.fdopen(write_fd, "w") as stream:
            stream.write(payload)
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as stream:
        data = stream.read()
    os.waitpid(pid, 0)
    result = json.loads(data or '{"ok": false, "error": "child died"}')
    if not result["ok"]:
        raise RuntimeError(result["error"])
    return result["value"]


def command_parse(args: argparse.Namespace) -> dict:
    dag_file = os.path.abspath(args.dag_file)
    home = tempfile.mkdtemp(prefix="bench-airflow-home-")
    isolated_environment(home, os.path.dirname(dag_file))
    started = time.perf_counter()
    import airflow  # noqa: F401  (configuration, settings, ORM: the scheduler's one-time cost)

    # The processor module (DagBag, DAG, BaseOperator, TaskInstance...) is loaded in the scheduler
    # before it forks a file processor; only what the DAG file adds is paid per parse.
    import airflow.dag_processing.processor  # noqa: F401

    airflow_import = time.perf_counter() - started
    plans = [entry.split("=", 1) for entry in args.plan]
    results = {name: [] for name, _ in plans}
    for round_number in range(args.reps + 1):
        for name, path in plans:
            measured = in_child(parse_once, dag_file, os.path.abspath(path), False)
            if measured["import_errors"]:
                raise SystemExit("DAG import error with plan %s: %s" % (name, measured["import_errors"]))
            if round_number > 0:  # round 0 is the warm-up
                results[name].append(measured)
    profile = None
    if args.profile:
        path = dict(plans)[args.profile]
        profile = {"plan": args.profile, **in_child(parse_once, dag_file, os.path.abspath(path), True)}
    shutil.rmtree(home, ignore_errors=True)
    return {
        "python": sys.version.split()[0],
        "airflow": airflow.__version__,
        "airflow_import_seconds": airflow_import,
        "parses": results,
        "profile": profile,
    }


def command_rehearsal(args: argparse.Namespace) -> dict:
    home = tempfile.mkdtemp(prefix="bench-airflow-home-")
    world = tempfile.mkdtemp(prefix="bench-rehearsal-")
    isolated_environment(home, os.path.abspath(args.dag_dir))
    os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"  # as the test suite: no example connections etc.
    os.environ["MIGRATION_DRY_RUN"] = "1"
    os.environ["MIGRATION_SIMULATION_DIR"] = world
    os.environ["MIGRATION_PLAN_PATH"] = os.path.abspath(args.plan)
    import logging

    from airflow.utils import db

    started = time.perf_counter()
    db.resetdb()
    db_seconds = time.perf_counter() - started
    logging.disable(logging.WARNING)  # dag.test() logs every task at INFO; not what is measured

    from migration_orchestration_lib.dag_factory import build_dag_from_plan_file

    started = time.perf_counter()
    dag = build_dag_from_plan_file(os.path.abspath(args.plan))
    build_seconds = time.perf_counter() - started
    # Count what dag.test() sleeps (it sleeps 1 s whenever only rescheduled sensors are left).
    slept = {"calls": 0, "seconds": 0.0}
    real_sleep = time.sleep

    def counting_sleep(seconds):
        slept["calls"] += 1
        slept["seconds"] += seconds
        real_sleep(seconds)

    time.sleep = counting_sleep
    profiler = cProfile.Profile() if args.profile else None
    cpu_before = os.times()
    started = time.perf_counter()
    try:
        if profiler:
            profiler.enable()
        dag_run = dag.test()
    finally:
        if profiler:
            profiler.disable()
        time.sleep = real_sleep
    test_seconds = time.perf_counter() - started
    cpu_after = os.times()
    cpu_seconds = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    if dag_run is None:  # Airflow 2.6
        from airflow.models.dagrun import DagRun

        dag_run = DagRun.find(dag_id=dag.dag_id)[0]
    states = {}
    for ti in dag_run.get_task_instances():
        states[str(ti.state)] = states.get(str(ti.state), 0) + 1
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(world, ignore_errors=True)
    return {
        "db_init_seconds": db_seconds,
        "build_seconds": build_seconds,
        "test_seconds": test_seconds,
        "test_cpu_seconds": cpu_seconds,
        "slept_calls": slept["calls"],
        "slept_seconds": slept["seconds"],
        "state": str(dag_run.state),
        "tasks": len(dag.tasks),
        "task_states": states,
        "max_rss_mb": max_rss_mb(),
        "profile": profile_summary(profiler, 40) if profiler else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    parse = commands.add_parser("parse")
    parse.add_argument("--dag-file", required=True)
    parse.add_argument("--plan", action="append", required=True, help="NAME=path/to/plan.json")
    parse.add_argument("--reps", type=int, default=3)
    parse.add_argument("--profile", help="NAME of a plan to parse once more under cProfile")
    rehearsal = commands.add_parser("rehearsal")
    rehearsal.add_argument("--dag-dir", required=True)
    rehearsal.add_argument("--plan", required=True)
    rehearsal.add_argument("--profile", action="store_true", help="run dag.test() under cProfile")
    args = parser.parse_args()
    result = command_parse(args) if args.command == "parse" else command_rehearsal(args)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
