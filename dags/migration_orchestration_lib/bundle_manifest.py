"""The DAG folder holds one bundle, whole: importing this module checks it, once per process.

Every bundle the constructs make ships `migration_bundle_manifest.json` beside the DAG file: the
SHA-256 of each file it puts in the DAG folder (the DAG file, this library, the rendered plan and
its schema), by its path below the folder. Hosts write the folder file by file (Fabric's files API,
blobs, config maps), so an apply that stops midway leaves old modules with a new plan, or the
reverse; the DAG would then run migrations with a library that does not match its plan. Importing
this module (the DAG file and the package's `__init__` do, before anything else) refuses such a
folder with one message naming the files that differ, so no task is built or run from it: a worker
imports the DAG file before each task too.

Only the listed files count: a file the folder holds beside them (a user's own DAG, the Fabric
uploader's `fabric_upload_manifest.json`, a module an earlier bundle had) is not read. Without a
manifest the folder mixes this library with an earlier bundle's files (every bundle with this
module ships one), unless it is the package's source tree, which has `source-tree.txt` instead.
Standard library only: it must run whatever else in the folder is from another bundle.
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Dict, List

MANIFEST_FILE_NAME = "migration_bundle_manifest.json"
# In the package's source tree (dags/), never in a bundle: there the library runs unstamped.
SOURCE_TREE_MARKER = "source-tree.txt"
# How many differing files the message names before it counts the rest.
_NAMED_FILES = 5
_APPLY_AGAIN = (
    "No migration task runs from this folder. Run terraform apply again, which writes the whole bundle "
    "(where you copy the bundle yourself, copy its whole dags/ folder again)"
)


class MixedBundleError(ImportError):
    """The DAG folder's files are not those of one bundle."""


def check_dag_folder(folder: str) -> None:
    """Every file the folder's manifest lists is there with its SHA-256; raises MixedBundleError otherwise."""
    manifest_path = os.path.join(folder, MANIFEST_FILE_NAME)
    if not os.path.exists(manifest_path):
        if os.path.exists(os.path.join(folder, SOURCE_TREE_MARKER)):
            return
        raise MixedBundleError(
            "the DAG folder %s has no %s, which every bundle of this DAG's library ships: the folder mixes this library "
            "with files of an earlier bundle (an apply or upload that stopped midway, or files copied without it). %s"
            % (folder, MANIFEST_FILE_NAME, _APPLY_AGAIN)
        )
    listed = _listed_files(manifest_path)
    differing = []  # type: List[str]
    for path in sorted(listed):
        try:
            with open(os.path.join(folder, *path.split("/")), "rb") as file:
                digest = hashlib.sha256(file.read()).hexdigest()
        except FileNotFoundError:
            differing.append("%s (missing)" % path)
            continue
        except OSError as error:
            differing.append("%s (unreadable: %s)" % (path, error.strerror))
            continue
        if digest != listed[path]:
            differing.append(path)
    if differing:
        named = ", ".join(differing[:_NAMED_FILES])
        more = " and %d more" % (len(differing) - _NAMED_FILES) if len(differing) > _NAMED_FILES else ""
        raise MixedBundleError(
            "the DAG folder %s mixes files of two bundles (an apply or upload that stopped midway): these differ from "
            "its %s: %s%s. %s" % (folder, MANIFEST_FILE_NAME, named, more, _APPLY_AGAIN)
        )


def _listed_files(manifest_path: str) -> Dict[str, str]:
    """The manifest's `files`: path below the DAG folder -> hex SHA-256."""
    try:
        with open(manifest_path, "rb") as file:
            files = json.loads(file.read().decode("utf-8")).get("files")
    except (ValueError, AttributeError):
        files = None
    if not isinstance(files, dict) or not files or not all(
        isinstance(path, str) and _is_relative(path) and isinstance(digest, str) for path, digest in files.items()
    ):
        raise MixedBundleError(
            "%s is not a bundle manifest (a JSON object whose files maps each file's path below the DAG folder to its "
            "SHA-256): it was cut short or changed by hand. %s" % (manifest_path, _APPLY_AGAIN)
        )
    return {path: digest.lower() for path, digest in files.items()}


def _is_relative(path: str) -> bool:
    return path != "" and not path.startswith("/") and all(part not in ("", ".", "..") for part in path.split("/"))


check_dag_folder(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
