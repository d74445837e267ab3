"""A run's results in memory and on disk.

On disk a run folder holds one Parquet file per table, ``run.json`` (resolved config, seed,
version, git commit, timings, invariant results) and the plots. Every file is written to a
temporary name and renamed into place, and ``run.json`` is written last: a folder with a
``run.json`` is a complete run, whatever happened to the process.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

TABLES: tuple[str, ...] = ("providers", "models", "tiers", "enterprises", "market")
# the columns that key each table's rows; every other column is a number
TABLE_KEYS: dict[str, tuple[str, ...]] = {"providers": ("month", "provider", "origin"),
                                          "models": ("month", "model", "provider", "tier"),
                                          "tiers": ("month", "tier"), "enterprises": ("month",), "market": ("month",)}
RUN_FILE = "run.json"
EXPERIMENT_FILE = "experiment.json"  # a sweep's claims and their hash, written when it starts

# every table's columns, in order: the output contract (README "Outputs"); a test holds the
# tables a run writes to it, so that a calibration target or a claim naming a column can be
# checked before anything is simulated
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "providers": ("month", "provider", "origin", "revenue_usd", "calls", "tokens", "usage_share", "spend_share",
                  "token_share", "serving_cost_usd", "gross_margin_usd", "fixed_cost_usd", "operating_income_usd",
                  "cumulative_operating_income_usd"),
    "models": ("month", "model", "provider", "tier", "price_in_usd_per_mtok", "price_out_usd_per_mtok", "ability",
               "calls", "tokens", "revenue_usd"),
    "tiers": ("month", "tier", "revenue_usd", "calls", "tokens", "usage_share", "spend_share", "token_share"),
    "enterprises": ("month", "spend_usd", "router_fees_usd", "integration_cost_usd", "no_routing_spend_usd",
                    "router_spend_usd", "router_no_routing_spend_usd", "router_calls", "router_frontier_calls",
                    "tasks_demanded", "tasks_served", "tasks_unmet", "tasks_throttled", "tasks_below_requirement",
                    "expected_successes", "adopters", "active_enterprises", "cap_hits", "at_cap", "overspend_usd",
                    "runaway_events", "max_bill_to_budget", "downgraded", "budget_periods_closed",
                    "budget_periods_overrun", "overrun_demanded_usd", "overrun_budget_usd", "overrun_excess_sum",
                    "vendor_switches", "switched_past_year",
                    "savings_usd", "savings_share", "router_savings_share", "router_frontier_call_share",
                    "success_rate", "n_agents", "adopter_share", "active_share", "at_cap_share", "budget_overrun_share",
                    "budget_overspend_mean",
                    "vendor_switch_share", "switched_past_year_share"),
    "market": ("month", "total_spend_usd", "calls", "tokens", "hhi_spend", "hhi_usage", "frontier_revenue_usd",
               "frontier_calls", "frontier_revenue_per_frontier_call_usd", "frontier_revenue_per_call_usd",
               "frontier_usage_share", "frontier_spend_share", "frontier_token_share", "adoption_share",
               "savings_share"),
}


@dataclass
class Results:
    """The tables of one run (pandas DataFrames, tidy long format) and its metadata."""

    providers: pd.DataFrame
    models: pd.DataFrame
    tiers: pd.DataFrame
    enterprises: pd.DataFrame
    market: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)
    enterprise_panel: pd.DataFrame | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by name (the panel only when it was collected)."""
        out = {name: getattr(self, name) for name in TABLES}
        if self.enterprise_panel is not None:
            out["enterprise_panel"] = self.enterprise_panel
        return out


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    The temporary file is created with mode 0666 less the umask, like any other file the run
    writes (``tempfile.mkstemp`` would make every table 0600).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_tables(results: Results, out_dir: Path) -> None:
    """Write every table as ``<name>.parquet``."""
    for name, frame in results.tables().items():
        atomic_write(out_dir / f"{name}.parquet", lambda p, f=frame: f.to_parquet(p, index=False))


def write_metadata(metadata: dict[str, Any], out_dir: Path) -> None:
    """Write ``run.json`` (last: its presence marks the run complete)."""
    text = json.dumps(metadata, indent=2, sort_keys=True, default=str)
    atomic_write(out_dir / RUN_FILE, lambda p: p.write_text(text + "\n"))


def load_run(path: str | Path) -> Results:
    """Read a run folder written by ``routesim`` back into :class:`Results`."""
    path = Path(path)
    meta_file = path / RUN_FILE
    if not meta_file.exists():
        raise FileNotFoundError(f"{path} is not a complete run: {RUN_FILE} is missing.")
    frames = {name: pd.read_parquet(path / f"{name}.parquet") for name in TABLES}
    panel_file = path / "enterprise_panel.parquet"
    panel = pd.read_parquet(panel_file) if panel_file.exists() else None
    return Results(**frames, metadata=json.loads(meta_file.read_text()), enterprise_panel=panel)
