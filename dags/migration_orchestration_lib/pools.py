"""The Airflow pools each task runs in, from the contract the deployment creates them from."""
from __future__ import annotations

import json
import os
from typing import Dict, Mapping, Optional

POOLS_CONTRACT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "contracts", "airflow_pools.json")


def load_pools(path: str = POOLS_CONTRACT) -> Mapping[str, object]:
    with open(path, "r", encoding="utf-8") as handle:
        return json.load(handle)


def pool_by_task(contract: Optional[Mapping[str, object]] = None) -> Dict[str, str]:
    """Task name (within a database's group) -> pool name; tasks not listed use Airflow's default pool."""
    pools = (contract or load_pools())["pools"]
    return {task: pool["name"] for pool in pools for task in pool["tasks"]}  # type: ignore[index]


def pool_slots(plan_concurrency: Mapping[str, int], contract: Optional[Mapping[str, object]] = None) -> Dict[str, int]:
    """Pool name -> slots for a rendered plan's `concurrency` (what a deployment creates)."""
    slots: Dict[str, int] = {}
    for pool in (contract or load_pools())["pools"]:  # type: ignore[union-attr]
        field = pool.get("slotsFrom")
        slots[pool["name"]] = plan_concurrency[field.split(".", 1)[1]] if field else pool["slots"]
    return slots
