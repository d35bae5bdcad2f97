"""A pytest plugin that shows where a parallel test run's time goes: per xdist worker, how long
it was busy, and per test module, its summed time, its start and end, and its workers.

    PYTHONPATH=bench PYTEST_ADDOPTS="-p pytest_timeline" make test  # the table at the end
    LAAMBDA_TIMELINE=run.json ...                      # also writes every phase as JSON

A worker busy for the whole run means the run waits for work (CPU), not for a free worker.
Times are seconds of wall clock, from each report's start and stop (setup, call, teardown).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class Phase:
    """One phase (setup, call or teardown) of one test, on one worker."""

    nodeid: str
    when: str
    start: float  # seconds since the epoch
    stop: float
    worker: str  # the xdist worker's id ("gw0"), or "main" without xdist


_phases: list[Phase] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    gateway = getattr(getattr(report, "node", None), "gateway", None)
    worker = gateway.id if gateway is not None else "main"
    _phases.append(Phase(report.nodeid, report.when, report.start, report.stop, worker))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not _phases:  # the controller reports, once
        return
    if path := os.environ.get("LAAMBDA_TIMELINE"):
        with open(path, "w") as out:
            json.dump([asdict(phase) for phase in _phases], out)
    write = terminalreporter.write_line
    t0 = min(phase.start for phase in _phases)
    span = max(phase.stop for phase in _phases) - t0
    write(f"timeline: {span:.1f} s from the first test's start to the last one's end")
    by_worker: dict[str, list[Phase]] = defaultdict(list)
    by_module: dict[str, list[Phase]] = defaultdict(list)
    for phase in _phases:
        by_worker[phase.worker].append(phase)
        by_module[phase.nodeid.split("::", 1)[0]].append(phase)
    for worker, phases in sorted(by_worker.items()):
        busy = sum(phase.stop - phase.start for phase in phases)
        write(f"  {worker}: busy {busy:.1f} s")
    summed = {m: sum(p.stop - p.start for p in phases) for m, phases in by_module.items()}
    for module, total in sorted(summed.items(), key=lambda item: -item[1])[:25]:
        phases = by_module[module]
        start = min(p.start for p in phases) - t0
        stop = max(p.stop for p in phases) - t0
        workers = ",".join(sorted({p.worker for p in phases}))
        write(f"  {total:6.1f} s  {start:6.1f}-{stop:6.1f}  {module}  ({workers})")
