"""Coverage of one run, measured by coverage.py inside the forked run, per test when asked.

A run measured for coverage forks from a level that has not imported the project (level 1
at most): the project's modules are then imported under measurement, so their top-level
lines count as a cold `coverage run -m pytest` counts them.
"""

from __future__ import annotations

import os

from . import project
from .wire import send


class CoverageCollector:
    """A pytest plugin: starts coverage.py before collection and sends what it measured at the end."""

    def __init__(self, events, options: dict):
        import coverage

        self.events = events
        self.per_test = bool(options.get("perTest"))
        # The project's own coverage configuration (.coveragerc, [tool.coverage]) applies; no data file is written.
        self.cov = coverage.Coverage(data_file=None, config_file=True, branch=bool(options.get("branch")) or None)
        if not self.cov.config.source:
            self.cov.set_option("run:source", [project.ROOT])
        omit = list(self.cov.config.run_omit or [])
        self.cov.set_option("run:omit", omit + ["*/site-packages/*", "*/.venv/*", "*/venv/*"])
        self.cov.start()

    def pytest_runtest_logstart(self, nodeid, location):
        if self.per_test:
            self.cov.switch_context(nodeid)

    def pytest_runtest_logfinish(self, nodeid, location):
        if self.per_test:
            self.cov.switch_context("")

    def pytest_sessionfinish(self, session):
        self.cov.stop()
        try:
            files = self.files()
        except Exception as exc:  # a measurement that cannot be read is reported, not fatal to the run
            files = []
            send(self.events, {"t": "coverage", "files": [], "error": f"{type(exc).__name__}: {exc}"})
            return
        send(self.events, {"t": "coverage", "files": files})

    def files(self) -> list[dict]:
        data = self.cov.get_data()
        out = []
        for path in sorted(data.measured_files()):
            if not path.endswith(".py") or not os.path.abspath(path).startswith(project.ROOT + os.sep):
                continue
            analysis = self.cov._analyze(path)
            statements = sorted(analysis.statements)
            executed = sorted(set(statements) - set(analysis.missing))
            entry = {"file": os.path.abspath(path), "statements": statements, "executed": executed}
            if data.has_arcs():
                entry["branches"] = {str(line): list(counts) for line, counts in analysis.branch_stats().items()}
                targets = branch_targets(analysis)
                if targets is not None:
                    entry["branchTargets"] = targets
            if self.per_test:
                contexts = data.contexts_by_lineno(path)
                entry["tests"] = {str(line): [c for c in names if c] for line, names in contexts.items() if any(names)}
            out.append(entry)
        return out


def branch_targets(analysis) -> dict | None:
    """Line -> [[target line, taken], ...]: which way each branch goes, not only how many were taken.

    A negative target is coverage.py's exit from the code object (a return or the end of a function).
    None when this coverage.py cannot say (executed_branch_arcs came with coverage 6).
    """
    executed = getattr(analysis, "executed_branch_arcs", None)
    if executed is None:
        return None
    taken = executed()
    missed = analysis.missing_branch_arcs()
    out = {}
    for line in set(taken) | set(missed):
        arcs = [[to, True] for to in taken.get(line, ())] + [[to, False] for to in missed.get(line, ())]
        # Source order, exits last: the order a reader meets the branches in.
        out[str(line)] = sorted(arcs, key=lambda a: (a[0] < 0, abs(a[0])))
    return out
