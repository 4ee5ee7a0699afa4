"""The verdict of scripts/checkov_scan.py on made-up scan results (stdlib unittest: the checkov venv has no pytest)."""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from checkov_scan import HostScan, judge  # noqa: E402


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


if __name__ == "__main__":
    unittest.main()
