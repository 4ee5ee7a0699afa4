"""Scans the synthesized stacks of each Airflow host with checkov and judges the result.

Usage: checkov_scan.py CHECKOV SKIPS HOST_SKIPS HOST=STACK_DIR[,STACK_DIR...] ...

SKIPS is `.checkov.yaml` (checks off for every host); HOST_SKIPS is `.checkov-hosts.yaml` (checks off
for one host's stacks only, so that a skip a host needs cannot hide the same problem on another).
checkov runs once per host without any skip; the verdict then needs every failing check to be
skipped for that host, every host skip to fail on its host, and every skip in SKIPS to fail on at
least one host, so that no skip outlives its reason.
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
# unlabelled `removed` block and on the list of `moved` blocks, neither of which holds a resource.
UNSCANNABLE_BLOCKS = ("removed", "moved")


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
        if scan.parsing_errors:
            problems.append(f"{scan.host}: checkov could not parse {scan.parsing_errors} stack(s), so found nothing there")
        for check in sorted(host_skips.get(scan.host, set()) - scan.failing_checks):
            problems.append(f"{scan.host}: .checkov-hosts.yaml skips {check}, which does not fail on this host's stacks")
    failing_anywhere = set().union(*(scan.failing_checks for scan in scans)) if scans else set()
    for check in sorted(skips - failing_anywhere):
        problems.append(f".checkov.yaml skips {check}, which fails on no host's stacks")
    return Verdict(problems, lines)


def scan_host(checkov: str, host: str, stack_dirs: list[Path], scratch: Path) -> HostScan:
    copies = scratch / host
    for stack_dir in stack_dirs:
        stack = json.loads((stack_dir / "cdk.tf.json").read_text())
        for block in UNSCANNABLE_BLOCKS:
            stack.pop(block, None)
        (copies / stack_dir.name).mkdir(parents=True)
        (copies / stack_dir.name / "cdk.tf.json").write_text(json.dumps(stack))
    # From an empty directory: checkov would otherwise read .checkov.yaml, and its skips, from the working directory.
    empty = scratch / f"{host}-cwd"
    empty.mkdir()
    run = subprocess.run(
        [checkov, "--framework", "terraform_json", "-d", str(copies), "--skip-download", "-o", "json", "--quiet"],
        cwd=empty,
        capture_output=True,
        text=True,
    )
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"error: checkov printed no report for host {host} (exit {run.returncode}):\n{run.stderr}")
    reports = report if isinstance(report, list) else [report]
    # With nothing failing and --quiet, checkov prints only a summary.
    summaries = [r.get("summary", r) for r in reports]
    return HostScan(
        host=host,
        stacks=[stack_dir.name for stack_dir in stack_dirs],
        passed=sum(summary.get("passed", 0) for summary in summaries),
        failures=[failure for r in reports for failure in r.get("results", {}).get("failed_checks", [])],
        parsing_errors=sum(summary.get("parsing_errors", 0) for summary in summaries),
    )


def read_skips(path: Path) -> set[str]:
    return set(yaml.safe_load(path.read_text())["skip-check"])


def read_host_skips(path: Path) -> dict[str, set[str]]:
    return {host: set(checks) for host, checks in (yaml.safe_load(path.read_text()) or {}).items()}


def main(argv: list[str]) -> int:
    checkov, skips_file, host_skips_file, *groups = argv
    skips, host_skips = read_skips(Path(skips_file)), read_host_skips(Path(host_skips_file))
    with tempfile.TemporaryDirectory() as scratch:
        scans = []
        for group in groups:
            host, dirs = group.split("=", 1)
            scans.append(scan_host(checkov, host, [Path(d) for d in dirs.split(",")], Path(scratch)))
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
