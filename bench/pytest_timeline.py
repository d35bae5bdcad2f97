"""A pytest plugin that shows where a parallel test run's time goes: per xdist worker, how long
it was busy, and per test module, its summed time, its CPU, its start and end, and its workers.

    PYTHONPATH=bench PYTEST_ADDOPTS="-p pytest_timeline" make test  # the table at the end
    LAAMBDA_TIMELINE=run.json ...                      # also writes every phase as JSON

A worker busy for the whole run means the run waits for work (CPU), not for a free worker.
Times are seconds of wall clock, from each report's start and stop (setup, call, teardown).
CPU is the seconds of user and system time the worker process and the children it waited for
used during the phase (getrusage: a child counts when it is reaped, so a module's long-lived
process counts at its teardown; a process another parent reaps, or a container, is not counted).
"""

from __future__ import annotations

import json
import os
import resource
from collections import defaultdict
from collections.abc import Generator
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
    cpu: float  # seconds of user + system time (see the module's docstring)


_phases: list[Phase] = []
_cpu_at_last_report = 0.0


def _cpu_used() -> float:
    """Seconds of user + system time of this process and its reaped children, so far."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def pytest_collection_finish() -> None:
    """Count CPU from the first test on, not the start-up's."""
    global _cpu_at_last_report
    _cpu_at_last_report = _cpu_used()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport() -> Generator[None, Any, None]:
    """Attach the CPU the phase used to its report (user_properties reach the controller)."""
    global _cpu_at_last_report
    outcome = yield
    now = _cpu_used()
    outcome.get_result().user_properties.append(("cpu", now - _cpu_at_last_report))
    _cpu_at_last_report = now


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    gateway = getattr(getattr(report, "node", None), "gateway", None)
    worker = gateway.id if gateway is not None else "main"
    cpu = 0.0
    for name, value in report.user_properties:
        if name == "cpu" and isinstance(value, float):
            cpu += value
    _phases.append(Phase(report.nodeid, report.when, report.start, report.stop, worker, cpu))


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
    write(f"  CPU of the workers and their reaped children: {sum(p.cpu for p in _phases):.0f} s")
    summed = {m: sum(p.stop - p.start for p in phases) for m, phases in by_module.items()}
    for module, total in sorted(summed.items(), key=lambda item: -item[1])[:25]:
        phases = by_module[module]
        start = min(p.start for p in phases) - t0
        stop = max(p.stop for p in phases) - t0
        module_cpu = sum(p.cpu for p in phases)
        workers = ",".join(sorted({p.worker for p in phases}))
        when = f"{start:6.1f}-{stop:6.1f}"
        write(f"  {total:6.1f} s  {module_cpu:6.1f} CPU-s  {when}  {module}  ({workers})")
    write("  by CPU:")
    used = {m: sum(p.cpu for p in phases) for m, phases in by_module.items()}
    for module, cpu in sorted(used.items(), key=lambda item: -item[1])[:25]:
        write(f"  {cpu:6.1f} CPU-s  {summed[module]:6.1f} s  {module}")
