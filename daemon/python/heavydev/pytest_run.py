"""Runs pytest in a forked child of a warm level, as a cold `python -m pytest` would run."""

from __future__ import annotations

import os
import signal
import socket
import sys
import traceback

from . import project
from .context import apply_warning_options, enter_context, pytest_argv0
from .project import is_third_party
from .wire import connect, send


class Reporter:
    """A pytest plugin that streams one event per test to the daemon."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.compare: dict[str, tuple[str, str, str]] = {}
        self.current: str | None = None
        self.imports: ImportLog | None = None

    def emit(self, message: dict) -> None:
        try:
            send(self.sock, message)
        except OSError:
            pass

    def pytest_collection_finish(self, session):
        items = []
        for item in session.items:
            path, line, _ = item.location
            items.append({"nodeid": item.nodeid, "file": os.path.join(str(session.config.rootpath), path),
                          "line": (line or 0) + 1, "name": item.name})
        self.emit({"t": "collected", "items": items})

    def pytest_runtest_logstart(self, nodeid, location):
        self.current = nodeid
        self.emit({"t": "start", "nodeid": nodeid})

    def pytest_assertrepr_compare(self, config, op, left, right):
        if self.current:
            self.compare[self.current] = (op, safe_repr(left), safe_repr(right))
        return None

    def pytest_runtest_logreport(self, report):
        outcome = None
        if report.when == "call":
            outcome = report.outcome
            if hasattr(report, "wasxfail"):
                outcome = "xfailed" if report.skipped else "xpassed"
        elif report.failed:
            outcome = "error"
        elif report.skipped:
            outcome = "xfailed" if hasattr(report, "wasxfail") else "skipped"
        if outcome is None:
            return
        path, line, _ = report.location
        event = {
            "t": "result",
            "nodeid": report.nodeid,
            "outcome": outcome,
            "when": report.when,
            "duration": report.duration,
            "file": os.path.join(project.ROOT, path),
            "line": (line or 0) + 1,
            "stdout": report.capstdout,
            "stderr": report.capstderr,
        }
        if report.failed:
            event["message"] = report.longreprtext
            crash = getattr(report.longrepr, "reprcrash", None)
            if crash is not None:
                event["failure"] = {"message": crash.message, "file": crash.path, "line": crash.lineno}
            if report.nodeid in self.compare:
                op, left, right = self.compare[report.nodeid]
                event["compare"] = {"op": op, "actual": left, "expected": right}
        elif outcome == "skipped" and isinstance(report.longrepr, tuple):
            event["message"] = report.longrepr[2]
        self.emit(event)

    def pytest_runtest_logfinish(self, nodeid, location):
        self.emit({"t": "finish", "nodeid": nodeid})

    def pytest_sessionfinish(self, session):
        if self.imports is not None:
            self.emit({"t": "imports", "imports": self.imports.files()})


# The wrappers sit between a test and the import it makes, so they must leave no trace a cold
# run would not have. Their frames carry __tracebackhide__ (pytest leaves them out of failure
# tracebacks), and their file name holds "importlib" and "_bootstrap", which is how the warnings
# machinery recognises import-system frames: warn(..., stacklevel=2) at a module's top level then
# still names the line that imported it, not this file.
_WRAPPER_FILENAME = "<heavy: importlib._bootstrap import log>"
_IMPORT_WRAPPERS = """
def __import__(name, globals=None, locals=None, fromlist=(), level=0):
    __tracebackhide__ = True
    module = original_import(name, globals, locals, fromlist, level)
    if log.current is not None:
        log.note(getattr(module, "__name__", name) if level else name, fromlist)
    return module


def import_module(name, package=None):
    __tracebackhide__ = True
    module = original_import_module(name, package)
    if log.current is not None:
        log.note(module.__name__, ())
    return module
"""


class ImportLog:
    """What each test file's collection and tests import, including imports made at run time.

    heavy watch and continuous runs re-run a test file when a module it imports changes. A
    module loaded with importlib.import_module() (or an import inside a fixture) is not in
    the static import graph; recording the import requests made while each file is
    collected or its tests run fills that gap.
    """

    def __init__(self):
        import builtins
        import functools
        import importlib

        self.current: str | None = None
        self.rootpath = project.ROOT
        self.names: dict[str, set[str]] = {}
        self.originals = (builtins.__import__, importlib.import_module)
        scope = {"original_import": builtins.__import__, "original_import_module": importlib.import_module, "log": self}
        exec(compile(_IMPORT_WRAPPERS, _WRAPPER_FILENAME, "exec"), scope)
        builtins.__import__ = functools.update_wrapper(scope["__import__"], builtins.__import__)
        importlib.import_module = functools.update_wrapper(scope["import_module"], importlib.import_module)

    def note(self, name: str, fromlist) -> None:
        names = self.names.setdefault(self.current, set())
        names.add(name)
        for sub in fromlist or ():
            if isinstance(sub, str) and sub != "*":
                names.add(f"{name}.{sub}")

    def pytest_collectstart(self, collector):
        path = getattr(collector, "path", None)
        if path is not None and str(path).endswith(".py"):
            self.current = str(path)

    def pytest_collectreport(self, report):
        self.current = None

    def pytest_configure(self, config):
        self.rootpath = str(config.rootpath)
        if config.getoption("tbstyle", "auto") == "native" or config.getoption("fulltrace", False):
            # These print every frame, ours too: the run keeps the plain import functions and
            # watch falls back to the static import graph for it.
            import builtins
            import importlib

            builtins.__import__, importlib.import_module = self.originals

    def pytest_runtest_logstart(self, nodeid, location):
        # Called before the test's fixtures are set up; node ids start with the file, relative to the rootdir.
        self.current = os.path.join(self.rootpath, nodeid.split("::")[0])

    def pytest_runtest_logfinish(self, nodeid, location):
        self.current = None

    def files(self) -> dict[str, list[str]]:
        out = {}
        for test_file, names in self.names.items():
            found = set()
            for name in names:
                # A name's parent packages are imported with it.
                parts = name.split(".")
                for i in range(1, len(parts) + 1):
                    mod = sys.modules.get(".".join(parts[:i]))
                    path = getattr(mod, "__file__", None)
                    if path and path.endswith(".py") and not is_third_party(mod):
                        found.add(os.path.abspath(path))
            found.discard(os.path.abspath(test_file))
            if found:
                out[os.path.abspath(test_file)] = sorted(found)
        return out


class OnlyFiles:
    """Collects only the given test files, inside whatever selection the arguments make.

    heavy watch re-runs pass the user's own arguments (paths, --ignore, -k, -m, testpaths)
    plus this, so a re-run never leaves the user's selection.
    """

    def __init__(self, files: list[str]):
        self.files = {os.path.realpath(f) for f in files}

    def pytest_ignore_collect(self, collection_path, config):
        path = str(collection_path)
        if not path.endswith(".py") or os.path.basename(path) in ("conftest.py", "__init__.py"):
            return None
        return True if os.path.realpath(path) not in self.files else None

    def pytest_collection_modifyitems(self, session, config, items):
        # Files named on the command line are collected without asking pytest_ignore_collect.
        keep = [item for item in items if os.path.realpath(str(item.path)) in self.files]
        if len(keep) != len(items):
            items[:] = keep


def run_plugins(events, run: dict) -> list:
    """The plugins every run gets: results to the daemon, what it imported, and an optional file filter."""
    reporter = Reporter(events)
    plugins = [reporter]
    if run.get("imports"):
        reporter.imports = ImportLog()
        plugins.append(reporter.imports)
    if run.get("onlyFiles") is not None:
        plugins.append(OnlyFiles(run["onlyFiles"]))
    if run.get("coverage"):
        try:
            from .coverage_run import CoverageCollector

            plugins.append(CoverageCollector(events, run["coverage"]))
        except ImportError:
            sys.stderr.write(f"heavy: coverage.py is not installed in {sys.executable}; install it: {sys.executable} -m pip install coverage\n")
            raise SystemExit(3)
    return plugins


def safe_repr(value) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 10000 else text[:10000] + "..."


def enter_run(socket_path: str, hello: dict, run: dict) -> tuple[list[socket.socket], list[str]]:
    """Puts this fresh fork where a cold `python -m pytest` started from the client's shell would be.

    Returns its connections (output, events) and pytest's arguments.
    """
    # Its own process group: a cancel reaches the processes a test started, as Ctrl+C does in a terminal.
    try:
        os.setpgid(0, 0)
    except OSError:
        pass
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    out = connect(socket_path, {"hello": "out", **hello})
    os.dup2(out.fileno(), 1)
    os.dup2(out.fileno(), 2)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
    events = connect(socket_path, {"hello": "events", **hello})
    args = list(run.get("args") or [])
    # The client's environment (the daemon adds FORCE_COLOR for a colour terminal), folder,
    # sys.path[0] and sys.argv, as `python -m pytest ARGS` would have them.
    enter_context(run.get("env"), run.get("cwd") or project.ROOT, [pytest_argv0(), *args])
    apply_warning_options()
    from .warm import exact_bytecode_cache

    exact_bytecode_cache(os.environ.get("HEAVY_PYCACHE") or os.path.join(os.path.dirname(socket_path), "pycache"))
    if run.get("color") and not any(a.startswith("--color") for a in args):
        args.insert(0, "--color=yes")
    return [out, events], args


def prog_name() -> str:
    """What pytest calls itself in usage messages, from sys.argv as on the command line."""
    from _pytest import config as pytest_config

    get = getattr(pytest_config, "_get_prog_name", None)
    return get(sys.argv) if get else "pytest"


def pytest_main(args: list[str], plugins: list) -> int:
    """pytest.main(), naming itself as on the command line in usage messages."""
    import inspect

    import pytest
    from _pytest import config as pytest_config

    main = getattr(pytest_config, "_main", None)
    if main is not None and "prog" in inspect.signature(main).parameters:
        return int(main(args=args, plugins=plugins, prog=prog_name()))
    return int(pytest.main(args, plugins=plugins))


def leave(code: int, streams: list | None = None) -> None:
    """Ends this fork. With `streams` (a run that ran to its end), says how first."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    if streams:
        # The daemon answers on "done" and end-of-stream, without waiting for this process
        # to be torn down and reaped; shutdown also ends the streams for any process a test
        # left behind holding our stdout.
        try:
            send(streams[1], {"t": "done", "code": code})
        except OSError:
            pass
        for stream in streams:
            try:
                stream.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    os._exit(code)


def run_to_end(body, streams: list) -> None:
    """Runs `body` (pytest, one way or another) and ends this fork with its exit code."""
    code = 3
    try:
        code = body()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        code = 2
    except BaseException:
        traceback.print_exc()
        code = 3
    finally:
        leave(code, streams)


def run_child(socket_path: str, run: dict) -> None:
    """Runs pytest once, in this fork or in a cold process; never returns."""
    streams: list = []

    def body() -> int:
        streams[:], args = enter_run(socket_path, {"id": run["id"]}, run)
        plugins = run_plugins(streams[1], run)
        # The heap stays frozen: pytest's gc.collect() calls then only walk what this run made.
        profile_to = os.environ.get("HEAVY_PROFILE_RUN")
        if not profile_to:
            return pytest_main(args, plugins)
        import cProfile  # for working on the daemon itself: where does a warm run spend its time?

        profiler = cProfile.Profile()
        code = int(profiler.runcall(pytest_main, args, plugins))
        profiler.dump_stats(profile_to)
        return code

    run_to_end(body, streams)
