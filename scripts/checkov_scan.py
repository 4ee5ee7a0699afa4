"""Scans the synthesized stacks of each Airflow host with checkov and judges the result.

Usage: checkov_scan.py CHECKOV SKIPS HOST_SKIPS HOST=STACK_DIR[,STACK_DIR...] ...

SKIPS is `.checkov.yaml` (checks off for every host); HOST_SKIPS is `.checkov-hosts.yaml` (checks off
for one host's stacks only, so that a skip a host needs cannot hide the same problem on another).
checkov runs once, without any skip, with one `-d` per host (it builds a graph per directory, so one
host's resources cannot satisfy another's graph checks; one process pays checkov's start-up once);
each result goes to the host whose stacks hold its file. The verdict then needs every host to have
results, every failing check to be skipped for that host, every host skip to fail on its host, and
every skip in SKIPS to fail on at least one host, so that no skip outlives its reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# checkov 3.3.30's JSON parser reads every top-level block as `{label: body}`: it fails on the
# unlabelled `removed` block and on the list of `moved` blocks, neither of which holds a resource,
# and on the `terraform` block's string `required_version`.
UNSCANNABLE_BLOCKS = ("removed", "moved")
UNSCANNABLE_SETTINGS = ("required_version",)


@dataclass
class HostScan:
    """What checkov found on one host's stacks, without any skip."""

    host: str
    stacks: list[str]
    passed: int
    failures: list[dict] = field(default_factory=list)
    parsing_errors: int = 0

    @property
    def failing_checks(self) -> set[str]:
        return {failure["check_id"] for failure in self.failures}


@dataclass
class Verdict:
    problems: list[str]
    lines: list[str]


def judge(scans: list[HostScan], skips: set[str], host_skips: dict[str, set[str]]) -> Verdict:
    problems: list[str] = []
    lines: list[str] = []
    scanned = {scan.host for scan in scans}
    for host in sorted(set(host_skips) - scanned):
        problems.append(f".checkov-hosts.yaml lists host {host}, whose stacks were not scanned")
    for scan in scans:
        allowed = skips | host_skips.get(scan.host, set())
        failed = [failure for failure in scan.failures if failure["check_id"] not in allowed]
        turned_off = len(scan.failures) - len(failed)
        lines.append(
            f"{scan.host} ({', '.join(scan.stacks)}): {scan.passed} passed, {len(failed)} failed"
            f" ({turned_off} failing results of skipped checks)"
        )
        for failure in failed:
            problems.append(
                f"{scan.host}: {failure['check_id']} {failure['check_name']}: {failure['resource']} in {failure['file_path']}"
            )
        if not (scan.passed or scan.failures or scan.parsing_errors):
            problems.append(f"{scan.host}: checkov reported no result for its stacks")
        if scan.parsing_errors:
            problems.append(f"{scan.host}: checkov could not parse {scan.parsing_errors} stack(s), so found nothing there")
        for check in sorted(host_skips.get(scan.host, set()) - scan.failing_checks):
            problems.append(f"{scan.host}: .checkov-hosts.yaml skips {check}, which does not fail on this host's stacks")
    failing_anywhere = set().union(*(scan.failing_checks for scan in scans)) if scans else set()
    for check in sorted(skips - failing_anywhere):
        problems.append(f".checkov.yaml skips {check}, which fails on no host's stacks")
    return Verdict(problems, lines)


def scan_hosts(checkov: str, host_stacks: dict[str, list[Path]], scratch: Path) -> list[HostScan]:
    copies: dict[str, list[Path]] = {}
    for host, stack_dirs in host_stacks.items():
        copies[host] = []
        for stack_dir in stack_dirs:
            stack = json.loads((stack_dir / "cdk.tf.json").read_text())
            for block in UNSCANNABLE_BLOCKS:
                stack.pop(block, None)
            for setting in UNSCANNABLE_SETTINGS:
                stack.get("terraform", {}).pop(setting, None)
            copy = scratch / host / stack_dir.name
            copy.mkdir(parents=True)
            (copy / "cdk.tf.json").write_text(json.dumps(stack))
            copies[host].append(copy)
    # From an empty directory: checkov would otherwise read .checkov.yaml, and its skips, from the working directory.
    empty = scratch / "cwd"
    empty.mkdir()
    directories = [arg for host in copies for arg in ("-d", str(scratch / host))]
    run = subprocess.run(
        [checkov, "--framework", "terraform_json", *directories, "--skip-download", "-o", "json", "--compact"],
        cwd=empty,
        capture_output=True,
        text=True,
    )
    try:
        reports = read_reports(run.stdout)
    except json.JSONDecodeError:
        reports = []
    if not reports:
        raise SystemExit(f"error: checkov printed no report (exit {run.returncode}):\n{run.stderr}")
    return attribute(reports, copies)


def read_reports(output: str) -> list[dict]:
    """The reports in checkov's JSON output: one document per `-d`, each a report or a list of them."""
    decoder = json.JSONDecoder()
    reports: list[dict] = []
    rest = output.strip()
    while rest:
        document, end = decoder.raw_decode(rest)
        reports += document if isinstance(document, list) else [document]
        rest = rest[end:].lstrip()
    return reports


def attribute(reports: list[dict], host_stacks: dict[str, list[Path]]) -> list[HostScan]:
    """Gives each result to the host whose stacks hold its file.

    checkov 3.3.30 merges the results of each `-d` into those before it and prints the merged report
    after each directory, so a result repeated in a later report counts once.
    """
    owners = {stack.resolve(): host for host, stacks in host_stacks.items() for stack in stacks}

    def owner(path: str) -> str:
        for directory in Path(path).resolve().parents:
            if directory in owners:
                return owners[directory]
        raise SystemExit(f"error: checkov reported a result for {path}, which is in no host's stacks")

    def identity(check: dict) -> tuple[str, str, str]:
        return check["check_id"], check["resource"], check["file_abs_path"]

    passed: dict[str, set[tuple]] = {host: set() for host in host_stacks}
    failed: dict[str, dict[tuple, dict]] = {host: {} for host in host_stacks}
    unparsed: dict[str, set[str]] = {host: set() for host in host_stacks}
    # A directory without any result prints only a summary.
    for results in (report["results"] for report in reports if "results" in report):
        for check in results["passed_checks"]:
            passed[owner(check["file_abs_path"])].add(identity(check))
        for check in results["failed_checks"]:
            failed[owner(check["file_abs_path"])][identity(check)] = check
        for path in results["parsing_errors"]:
            unparsed[owner(path)].add(path)
    return [
        HostScan(
            host=host,
            stacks=[stack.name for stack in stacks],
            passed=len(passed[host]),
            failures=list(failed[host].values()),
            parsing_errors=len(unparsed[host]),
        )
        for host, stacks in host_stacks.items()
    ]


def read_skips(path: Path) -> set[str]:
    return set(yaml.safe_load(path.read_text())["skip-check"])


def read_host_skips(path: Path) -> dict[str, set[str]]:
    return {host: set(checks) for host, checks in (yaml.safe_load(path.read_text()) or {}).items()}


def main(argv: list[str]) -> int:
    checkov, skips_file, host_skips_file, *groups = argv
    skips, host_skips = read_skips(Path(skips_file)), read_host_skips(Path(host_skips_file))
    host_stacks = {host: [Path(d) for d in dirs.split(",")] for host, dirs in (group.split("=", 1) for group in groups)}
    with tempfile.TemporaryDirectory() as scratch:
        scans = scan_hosts(checkov, host_stacks, Path(scratch))
    verdict = judge(scans, skips, host_skips)
    for line in verdict.lines:
        print(line)
    for problem in verdict.problems:
        print(f"error: {problem}", file=sys.stderr)
    host_skip_count = sum(len(checks) for checks in host_skips.values())
    state = "each verified to still fail" if not verdict.problems else "see the errors above"
    print(
        f"checkov: {len(skips)} checks off for every host (.checkov.yaml), {host_skip_count} for one host"
        f" (.checkov-hosts.yaml); {state}"
    )
    return 1 if verdict.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
