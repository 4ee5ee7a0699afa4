"""The verdict of scripts/checkov_scan.py on made-up scan results, and how it splits checkov's output by
host (stdlib unittest: the checkov venv has no pytest)."""

import json
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from checkov_scan import HostScan, attribute, judge, read_reports  # noqa: E402


def failing(check_id: str, resource: str = "azurerm_key_vault.vault") -> dict:
    return {"check_id": check_id, "check_name": f"name of {check_id}", "resource": resource, "file_path": "/stack/cdk.tf.json"}


def scan(host: str, *checks: str, parsing_errors: int = 0) -> HostScan:
    return HostScan(host, [f"{host}-stack"], passed=10, failures=[failing(c) for c in checks], parsing_errors=parsing_errors)


class JudgeTest(unittest.TestCase):
    def test_every_failure_turned_off_where_it_fails_passes(self):
        verdict = judge(
            [scan("kubernetes", "CKV_A"), scan("external", "CKV_A", "CKV_B")],
            skips={"CKV_A"},
            host_skips={"external": {"CKV_B"}},
        )
        self.assertEqual(verdict.problems, [])
        self.assertEqual(
            verdict.lines[1], "external (external-stack): 10 passed, 0 failed (2 failing results of skipped checks)"
        )

    def test_a_host_skip_does_not_turn_the_check_off_on_another_host(self):
        verdict = judge(
            [scan("kubernetes", "CKV_B"), scan("external", "CKV_B")], skips=set(), host_skips={"external": {"CKV_B"}}
        )
        self.assertEqual(
            verdict.problems, ["kubernetes: CKV_B name of CKV_B: azurerm_key_vault.vault in /stack/cdk.tf.json"]
        )

    def test_a_host_skip_that_no_longer_fails_on_its_host_is_stale(self):
        verdict = judge(
            [scan("kubernetes", "CKV_B"), scan("external")], skips=set(), host_skips={"external": {"CKV_B"}, "kubernetes": {"CKV_B"}}
        )
        self.assertEqual(
            verdict.problems, ["external: .checkov-hosts.yaml skips CKV_B, which does not fail on this host's stacks"]
        )

    def test_a_skip_for_every_host_that_fails_nowhere_is_stale(self):
        verdict = judge([scan("kubernetes"), scan("fabric")], skips={"CKV_GONE"}, host_skips={})
        self.assertEqual(verdict.problems, [".checkov.yaml skips CKV_GONE, which fails on no host's stacks"])

    def test_a_stack_checkov_cannot_parse_is_not_clean(self):
        verdict = judge([scan("dataFactory", parsing_errors=1)], skips=set(), host_skips={})
        self.assertEqual(
            verdict.problems, ["dataFactory: checkov could not parse 1 stack(s), so found nothing there"]
        )

    def test_skips_for_a_host_that_was_not_scanned_are_reported(self):
        verdict = judge([scan("kubernetes")], skips=set(), host_skips={"fabirc": {"CKV_B"}})
        self.assertEqual(verdict.problems, [".checkov-hosts.yaml lists host fabirc, whose stacks were not scanned"])

    def test_a_host_without_any_result_is_not_clean(self):
        verdict = judge([HostScan("fabric", ["fabric-stack"], passed=0)], skips=set(), host_skips={})
        self.assertEqual(verdict.problems, ["fabric: checkov reported no result for its stacks"])


SCRATCH = Path("/scan")
HOST_STACKS = {
    "kubernetes": [SCRATCH / "kubernetes" / "contoso-sql", SCRATCH / "kubernetes" / "contoso-sql-airflow"],
    "fabric": [SCRATCH / "fabric" / "contoso-fab"],
}


def result(check_id: str, stack: str, resource: str = "azurerm_key_vault.vault") -> dict:
    """A record of checkov's JSON report, with the fields the scan reads."""
    return {
        "check_id": check_id,
        "check_name": f"name of {check_id}",
        "resource": resource,
        "file_path": f"/{Path(stack).name}/cdk.tf.json",
        "file_abs_path": f"{stack}/cdk.tf.json",
    }


def report(passed: list[dict], failed: list[dict], parsing_errors: list[str] = ()) -> dict:
    return {
        "check_type": "terraform_json",
        "results": {"passed_checks": passed, "failed_checks": failed, "skipped_checks": [], "parsing_errors": list(parsing_errors)},
        "summary": {"passed": len(passed), "failed": len(failed), "parsing_errors": len(parsing_errors)},
    }


class AttributeTest(unittest.TestCase):
    def test_each_result_goes_to_the_host_whose_stacks_hold_its_file(self):
        kubernetes_failure = result("CKV_K", "/scan/kubernetes/contoso-sql-airflow")
        fabric_failure = result("CKV_F", "/scan/fabric/contoso-fab")
        scans = attribute(
            [
                report(
                    passed=[result("CKV_P", "/scan/kubernetes/contoso-sql"), result("CKV_P", "/scan/kubernetes/contoso-sql-airflow")],
                    failed=[kubernetes_failure, fabric_failure],
                    parsing_errors=["/scan/fabric/contoso-fab/cdk.tf.json"],
                )
            ],
            HOST_STACKS,
        )
        self.assertEqual(
            [(s.host, s.stacks, s.passed, s.failures, s.parsing_errors) for s in scans],
            [
                ("kubernetes", ["contoso-sql", "contoso-sql-airflow"], 2, [kubernetes_failure], 0),
                ("fabric", ["contoso-fab"], 0, [fabric_failure], 1),
            ],
        )

    def test_a_result_repeated_in_a_later_report_counts_once(self):
        first = report(passed=[result("CKV_P", "/scan/kubernetes/contoso-sql")], failed=[result("CKV_K", "/scan/kubernetes/contoso-sql")])
        merged = report(
            passed=[result("CKV_P", "/scan/kubernetes/contoso-sql"), result("CKV_P", "/scan/fabric/contoso-fab")],
            failed=[result("CKV_K", "/scan/kubernetes/contoso-sql")],
        )
        scans = attribute([first, merged], HOST_STACKS)
        self.assertEqual([(s.host, s.passed, len(s.failures)) for s in scans], [("kubernetes", 1, 1), ("fabric", 1, 0)])

    def test_a_result_outside_every_hosts_stacks_stops_the_scan(self):
        with self.assertRaisesRegex(SystemExit, "/scan/contoso-other/cdk.tf.json, which is in no host's stacks"):
            attribute([report(passed=[result("CKV_P", "/scan/contoso-other")], failed=[])], HOST_STACKS)

    def test_reads_every_document_checkov_prints_one_per_directory(self):
        # A list when several frameworks report; a bare summary for a directory without any result.
        kubernetes = [report(passed=[result("CKV_P", "/scan/kubernetes/contoso-sql")], failed=[])]
        fabric = report(passed=[result("CKV_P", "/scan/fabric/contoso-fab")], failed=[result("CKV_F", "/scan/fabric/contoso-fab")])
        empty_directory = {"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0, "resource_count": 0}
        output = "\n".join(json.dumps(document, indent=4) for document in (kubernetes, empty_directory, fabric)) + "\n"
        scans = attribute(read_reports(output), HOST_STACKS)
        self.assertEqual([(s.host, s.passed, len(s.failures)) for s in scans], [("kubernetes", 1, 0), ("fabric", 1, 1)])

if __name__ == "__main__":
    unittest.main()
