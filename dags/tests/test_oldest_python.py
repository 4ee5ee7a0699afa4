"""The DAG's code uses nothing newer than the oldest Python a host runs it on (Data Factory's Airflow 2.6.3 on Python
3.8, dags/airflow-environments.txt), in every file, including code no test runs on that Python: vermin reads the
source for the syntax, standard-library modules, functions and arguments each Python version added. What it cannot
see (a method of a value whose type it does not know) the airflow26 run proves by executing the DAG's code on Python
3.8 through the tests that reach it."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import DAGS_DIR, environments

DAG_CODE = [DAGS_DIR / "migration_orchestration.py", DAGS_DIR / "migration_orchestration_lib"]


def oldest_python() -> tuple[int, int]:
    return min(tuple(int(part) for part in row["python"].split(".")[:2]) for row in environments())


def needs_newer_python(target: tuple[int, int], paths) -> str:
    """vermin's report of what in `paths` needs a Python newer than `target` ("" when nothing does)."""
    command = [sys.executable, "-c", "import sys; from vermin import main; sys.exit(main())",
               "-t=%d.%d-" % target, "--violations", "--no-tips", "--eval-annotations", "-q", *map(str, paths)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr  # 1: a file needs a newer Python; anything else: vermin failed
    return done.stdout.strip() if done.returncode else ""


def test_the_dags_code_needs_nothing_newer_than_the_oldest_python_a_host_runs():
    assert oldest_python() == (3, 8)  # Data Factory's Airflow 2.6.3: update the docstring when the table changes
    assert needs_newer_python(oldest_python(), DAG_CODE) == ""


@pytest.mark.parametrize("source, named", [
    ("import zoneinfo\n", "'zoneinfo' module requires !2, 3.9"),  # without cutover_windows' fallback to the backport
    ("import functools\n\n@functools.cache\ndef f():\n    return 1\n", "'functools.cache' member requires !2, 3.9"),
    ("def f(value):\n    match value:\n        case 1:\n            return 1\n", "pattern matching requires !2, 3.10"),
    ("def f(a, b):\n    return list(zip(a, b, strict=True))\n", "'zip(strict)' requires !2, 3.10"),
    ("def f(a: list[int]) -> int:\n    return len(a)\n", "builtin generic type annotation (list[..]) requires !2, 3.9"),
])
def test_code_a_newer_python_added_is_named_with_the_version_it_needs(tmp_path, source, named):
    path = tmp_path / "step.py"
    path.write_text(source)
    assert named in needs_newer_python((3, 8), [path])
