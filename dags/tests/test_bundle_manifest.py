"""A DAG folder that mixes two bundles' files refuses to import, naming them (bundle_manifest.py).

The hosts write the folder file by file; an apply that stops midway leaves old modules beside a new
plan or the reverse. The bundle's manifest (`migration_bundle_manifest.json`, written at synth) lists
the SHA-256 of every file it puts there; the DAG checks the folder against it before anything else
of its library loads. The folders here are parsed as Airflow parses a DAGs folder: in a process of
their own, with the folder on sys.path (this test process imports the library from dags/).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DAGS_DIR, load_plan_document, write_bundle
from migration_orchestration_lib.bundle_manifest import MANIFEST_FILE_NAME, MixedBundleError, check_dag_folder
from migration_orchestration_lib.dag_factory import DAG_ID

pytestmark = [pytest.mark.airflow210, pytest.mark.airflow26, pytest.mark.airflow31]

LIBRARY = "migration_orchestration_lib"
# What the synth writes (lib/private/dag-bundle-loader.ts), for a DAG folder and a plan made here;
# __tests__/constructs/dag-bundle.test.ts holds it to the manifest it writes for this fixture.
FIXTURE = DAGS_DIR.parent / "__tests__" / "constructs" / "fixtures" / "stamped-bundle"
APPLY_AGAIN = (
    "No migration task runs from this folder. Run terraform apply again, which writes the whole bundle "
    "(where you copy the bundle yourself, copy its whole dags/ folder again)"
)

PARSE = """
import json, os, sys
try:
    from airflow.dag_processing.dagbag import DagBag  # Airflow 3.2+
except ImportError:
    from airflow.models.dagbag import DagBag
parsed = {}
for folder in sys.argv[1:]:
    # As a DAG processor of its own: the folder on sys.path (Airflow puts its DAGs folder there), no module of another.
    sys.path.insert(0, folder)
    for name in [name for name in sys.modules if name.split(".")[0] == "migration_orchestration_lib"]:
        del sys.modules[name]
    bag = DagBag(dag_folder=folder)
    errors = {os.path.relpath(path, folder): message for path, message in bag.import_errors.items()}
    parsed[folder] = {"dag_ids": sorted(bag.dag_ids), "errors": errors}
    sys.path.remove(folder)
print(json.dumps(parsed))
"""


def stamp(folder: Path) -> None:
    """The manifest the synth writes: every file of the folder but the manifest and .airflowignore."""
    files = sorted(
        path for path in folder.rglob("*")
        if path.is_file() and path.name not in (MANIFEST_FILE_NAME, ".airflowignore") and "__pycache__" not in path.parts
    )
    listed = {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest() for path in files}
    (folder / MANIFEST_FILE_NAME).write_text(json.dumps({"description": "test", "files": listed}))


def deployed_folder(target: Path) -> Path:
    """A DAG folder as a host writes a bundle: the DAG file, its library, the plan and its schema, stamped."""
    folder = target / "dags"
    folder.mkdir(parents=True)
    shutil.copy(DAGS_DIR / "migration_orchestration.py", folder)
    shutil.copytree(DAGS_DIR / LIBRARY, folder / LIBRARY, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    write_bundle(folder, load_plan_document())
    shutil.copy(DAGS_DIR / "deployed.airflowignore", folder / ".airflowignore")
    stamp(folder)
    return folder


def with_users_files(folder: Path) -> None:
    # A user's own DAG, a file the Fabric uploader keeps, a stray module: not listed, so not checked.
    (folder / "team_dag.py").write_text(
        "from airflow import DAG\nimport migration_orchestration_lib.bundle_manifest\n"
        "dag = DAG('team_dag', schedule=None)\n"
    )
    (folder / "fabric_upload_manifest.json").write_text('{"files": []}')
    (folder / LIBRARY / "module_of_an_earlier_bundle.py").write_text("X = 1\n")


def with_a_library_file_of_another_version(folder: Path) -> None:
    with open(folder / LIBRARY / "steps.py", "a") as module:
        module.write("\n# the version before\n")


def with_an_old_dag_file(folder: Path) -> None:
    (folder / "migration_orchestration.py").write_text(
        '"""Apache Airflow DAG `database_migration_orchestration`, as a version before the manifest wrote it."""\n'
        "import os\n"
        "from migration_orchestration_lib.dag_factory import build_dag_from_plan_file\n"
        "dag = build_dag_from_plan_file(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'migration_plan.json'))\n"
    )


def with_a_library_from_before_the_manifest(folder: Path) -> None:
    (folder / LIBRARY / "bundle_manifest.py").unlink()
    (folder / LIBRARY / "__init__.py").write_text('"""The library behind the database_migration_orchestration DAG."""\n')
    (folder / MANIFEST_FILE_NAME).unlink()


def without_the_manifest(folder: Path) -> None:
    (folder / MANIFEST_FILE_NAME).unlink()


FOLDERS = {
    "intact, with a user's files": with_users_files,
    "a library file of another version": with_a_library_file_of_another_version,
    "an old DAG file": with_an_old_dag_file,
    "a library from before the manifest": with_a_library_from_before_the_manifest,
    "no manifest": without_the_manifest,
}


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    """Each of FOLDERS as a DAG processor parses it: (its path, its DAG ids and import errors by file)."""
    folders = {}
    for number, (name, change) in enumerate(FOLDERS.items()):
        folders[name] = deployed_folder(tmp_path_factory.mktemp("bundle%d" % number))
        change(folders[name])
    environment = dict(os.environ)
    environment.pop("MIGRATION_PLAN_PATH", None)
    output = subprocess.run(
        [sys.executable, "-c", PARSE] + [str(folder) for folder in folders.values()],
        capture_output=True, text=True, env=environment, check=True,
    )
    results = json.loads(output.stdout.strip().splitlines()[-1])
    return {name: (folder, results[str(folder)]) for name, folder in folders.items()}


def test_an_intact_bundle_imports_and_a_users_extra_files_do_not_matter(parsed):
    _, result = parsed["intact, with a user's files"]
    assert result == {"dag_ids": sorted([DAG_ID, "team_dag"]), "errors": {}}


MIXED = "the DAG folder {folder} mixes files of two bundles (an apply or upload that stopped midway)"


@pytest.mark.parametrize(
    "name, message",
    [
        (
            "a library file of another version",
            "MixedBundleError: " + MIXED + ": these differ from its migration_bundle_manifest.json: "
            "migration_orchestration_lib/steps.py. {apply_again}",
        ),
        ("an old DAG file", MIXED + ": these differ from its migration_bundle_manifest.json: migration_orchestration.py. "),
        (
            "a library from before the manifest",
            "ImportError: " + MIXED + ": this DAG file is newer than its migration_orchestration_lib, which lacks "
            "bundle_manifest.py. {apply_again}",
        ),
        (
            "no manifest",
            "the DAG folder {folder} has no migration_bundle_manifest.json, which every bundle of this DAG's library "
            "ships: the folder mixes this library with files of an earlier bundle (an apply or upload that stopped "
            "midway, or files copied without it). {apply_again}",
        ),
    ],
)
def test_a_folder_mixing_two_bundles_fails_the_dag_import_with_one_message(parsed, name, message):
    folder, result = parsed[name]
    assert result["dag_ids"] == []
    assert message.format(folder=folder, apply_again=APPLY_AGAIN) in result["errors"]["migration_orchestration.py"]


def test_the_manifest_the_synth_writes_passes_and_any_listed_file_changed_or_missing_fails(tmp_path):
    folder = tmp_path / "dags"
    shutil.copytree(FIXTURE, folder)
    check_dag_folder(str(folder))

    (folder / "migration_plan.json").write_text('{"name":"cafe"}\n')
    (folder / LIBRARY / "plan.py").unlink()
    with pytest.raises(MixedBundleError) as raised:
        check_dag_folder(str(folder))
    assert "these differ from its migration_bundle_manifest.json: migration_orchestration_lib/plan.py (missing), migration_plan.json. " in str(raised.value)


def test_the_message_counts_what_it_does_not_name(tmp_path):
    folder = tmp_path / "dags"
    shutil.copytree(FIXTURE, folder)
    manifest = json.loads((folder / MANIFEST_FILE_NAME).read_text())
    manifest["files"].update({"missing_%d.py" % n: "0" * 64 for n in range(7)})
    (folder / MANIFEST_FILE_NAME).write_text(json.dumps(manifest))
    (folder / "migration_orchestration.py").write_text("dag = 1\n")
    with pytest.raises(MixedBundleError) as raised:
        check_dag_folder(str(folder))
    assert (
        ": migration_orchestration.py, missing_0.py (missing), missing_1.py (missing), missing_2.py (missing), "
        "missing_3.py (missing) and 3 more. "
    ) in str(raised.value)


@pytest.mark.parametrize("content", ["", "{", '{"files": []}', '{"files": {}}', '{"files": {"../x.py": "ab"}}', '{"files": {"a.py": 1}}'])
def test_a_manifest_cut_short_or_changed_by_hand_fails(tmp_path, content):
    folder = tmp_path / "dags"
    shutil.copytree(FIXTURE, folder)
    (folder / MANIFEST_FILE_NAME).write_text(content)
    with pytest.raises(MixedBundleError) as raised:
        check_dag_folder(str(folder))
    assert str(raised.value) == (
        "%s is not a bundle manifest (a JSON object whose files maps each file's path below the DAG folder to its SHA-256): "
        "it was cut short or changed by hand. %s" % (folder / MANIFEST_FILE_NAME, APPLY_AGAIN)
    )


def test_the_package_source_tree_runs_unstamped():
    assert not (DAGS_DIR / MANIFEST_FILE_NAME).exists()
    check_dag_folder(str(DAGS_DIR))
