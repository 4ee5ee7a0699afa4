"""Where the tests' throwaway files go (`conftest.takes_throwaway_files`): a tmpfs only with room to spare."""
from __future__ import annotations

import os

import pytest

import conftest

SHM = "/dev/shm"


@pytest.mark.skipif(not conftest._memory_backed(SHM), reason="no tmpfs at /dev/shm here")
def test_a_tmpfs_with_room_takes_them(monkeypatch):
    monkeypatch.setattr(conftest, "_room_in", lambda directory: conftest.TMPFS_ROOM_NEEDED)
    assert conftest.takes_throwaway_files(SHM)


@pytest.mark.skipif(not conftest._memory_backed(SHM), reason="no tmpfs at /dev/shm here")
def test_a_containers_small_tmpfs_does_not(monkeypatch):
    # Docker's default /dev/shm: 64 MB, which four environments' worlds and metadata databases would fill
    monkeypatch.setattr(conftest, "_room_in", lambda directory: 64 * 1024 ** 2)
    assert not conftest.takes_throwaway_files(SHM)


def test_a_folder_on_disk_does_not(tmp_path, monkeypatch):
    disk = tmp_path / "disk"
    disk.mkdir()
    monkeypatch.setattr(conftest, "_room_in", lambda directory: 100 * conftest.TMPFS_ROOM_NEEDED)
    monkeypatch.setattr(conftest, "_memory_backed", lambda directory: directory == SHM)
    assert not conftest.takes_throwaway_files(str(disk))
    assert os.path.isdir(disk)


def test_a_process_a_test_starts_keeps_its_airflow_home_inside_this_ones_even_when_killed():
    """A worker killed with os._exit skips atexit: its Airflow home goes with this process's."""
    import subprocess
    import sys

    child = subprocess.run(
        [sys.executable, "-c", "import os, conftest; print(os.environ['AIRFLOW_HOME'], flush=True); os._exit(9)"],
        cwd=str(conftest.TESTS_DIR), capture_output=True, text=True, timeout=120,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(conftest.TESTS_DIR), str(conftest.DAGS_DIR)])),
    )
    assert child.returncode == 9, child.stderr
    home = child.stdout.strip().splitlines()[-1]
    assert os.path.dirname(home) == os.environ["AIRFLOW_HOME"]
