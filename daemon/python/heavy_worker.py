"""The Python side of Heavy Dev's warm test daemon.

The daemon (Node) starts this with the project's interpreter, or the Test Daemon profile
starts it under the debugger. It connects back to the daemon's private Unix socket and:

1. imports pytest and every third-party module a collection of the project loads (the
   slow part of a cold run), then freezes the heap with gc.freeze() so forked children
   do not copy it on first garbage collection;
2. forks a fresh child for every run. The child imports the project's own modules,
   conftest files and tests itself, so no run ever sees project code older than the
   files on disk, nor state left by another run (environment, globals, monkeypatches).

Third-party modules never change while you edit; when they might (lock files,
site-packages, pytest configuration, .env), the daemon replaces this process.

Wire format on every connection: one JSON object per line. A run's child opens two
connections of its own: "out" (raw terminal bytes after the hello line, so even a
crashing test's output arrives) and "events" (structured per-test results).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import select
import signal
import socket
import sys
import threading
import time
import traceback

ROOT = os.getcwd()


def connect(path: str, hello: dict) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    sock.sendall((json.dumps(hello) + "\n").encode())
    return sock


def send(sock: socket.socket, message: dict, lock: threading.Lock | None = None) -> None:
    data = (json.dumps(message, default=str) + "\n").encode()
    if lock:
        with lock:
            sock.sendall(data)
    else:
        sock.sendall(data)


# ---------------------------------------------------------------- warming


def is_third_party(module) -> bool:
    path = getattr(module, "__file__", None)
    if not path:
        return True  # builtins and namespace packages cost nothing to keep
    path = os.path.abspath(path)
    if os.sep + "site-packages" + os.sep in path or os.sep + "dist-packages" + os.sep in path:
        return True
    return not path.startswith(ROOT + os.sep)


def is_test_module(name: str, module) -> bool:
    """Test modules and conftest files are pytest's to import (it rewrites their asserts)."""
    parts = name.split(".")
    if any(p in ("tests", "test", "testing", "conftest") or p.startswith("test_") or p.endswith("_test") for p in parts):
        return True
    path = getattr(module, "__file__", None) or ""
    return os.path.basename(path) == "conftest.py"


def plugin_packages() -> set[str]:
    """Top-level packages of pytest plugins (entry points): pytest must import them itself to rewrite their asserts."""
    names: set[str] = set()
    try:
        from importlib.metadata import entry_points

        for ep in entry_points(group="pytest11"):
            names.add(ep.value.split(":")[0].split(".")[0])
    except Exception:
        pass
    return names


def probe_modules(pytest_args: list[str]) -> dict:
    """Collects the project in a throwaway child and returns the modules it loaded, by kind."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        found = {"third_party": [], "project": []}
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            import pytest

            pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *pytest_args])
            for name, mod in list(sys.modules.items()):
                if mod is None or name == "__main__":
                    continue
                if is_third_party(mod):
                    found["third_party"].append(name)
                elif not is_test_module(name, mod):
                    found["project"].append(name)
        finally:
            os.write(write_fd, json.dumps(found).encode())
            os.close(write_fd)
            os._exit(0)
    os.close(write_fd)
    chunks = []
    while True:
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(pid, 0)
    try:
        return json.loads(b"".join(chunks) or b"{}")
    except ValueError:
        return {}


def import_all(names: list[str]) -> int:
    import importlib
    import warnings

    loaded = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pytest shows import-time warnings in each run, where they belong
        for name in names:
            if name in sys.modules:
                continue
            try:
                importlib.import_module(name)
                loaded += 1
            except BaseException:  # a module that cannot be imported alone is imported by its user later
                pass
    return loaded


def load_plugins(pytest_args: list[str]) -> None:
    """Imports pytest's plugins the way pytest does, through its assertion-rewriting import hook.

    A run then finds them imported and rewritten, as a cold run would have them, with no
    "already imported" warning. Conftest files are left out: they are the project's.
    """
    try:
        from _pytest.config import _prepareconfig

        config = _prepareconfig(["--noconftest", "-p", "no:cacheprovider", *pytest_args])
        config._ensure_unconfigure()
    except BaseException:
        pass  # an older or newer pytest: runs import the plugins themselves


def warm_level1(pytest_args: list[str]) -> tuple[int, list[str]]:
    """Level 1: pytest and third-party imports. Returns the count and the project modules seen."""
    import pytest  # noqa: F401
    import _pytest.config  # noqa: F401

    found = probe_modules(pytest_args)
    load_plugins(pytest_args)
    skip = plugin_packages()
    third_party = [n for n in found.get("third_party", []) if n.split(".")[0] not in skip]
    loaded = import_all(third_party)
    gc.collect()
    gc.freeze()
    return loaded, found.get("project", [])


def warm_level2(project_modules: list[str]) -> list:
    """Level 2: the project's own modules. Returns [file, mtime_ns, size] for each, to detect staleness."""
    import_all(project_modules)
    files = []
    for name in project_modules:
        mod = sys.modules.get(name)
        path = getattr(mod, "__file__", None)
        if path and path.endswith(".py"):
            try:
                st = os.stat(path)
                files.append([os.path.abspath(path), str(st.st_mtime_ns), st.st_size])
            except OSError:
                pass
    gc.collect()
    gc.freeze()
    return files


def exact_bytecode_cache(prefix: str) -> None:
    """Bytecode caches that cannot serve stale code.

    CPython and pytest's assertion rewriter both validate a .pyc by the source's mtime in
    whole seconds and its size, so an edit and its undo in the same second, at the same
    size, would run the old code. Runs use a private cache (sys.pycache_prefix, so the
    project's own __pycache__ is untouched) in which a .pyc counts only if it was written
    after the source last changed.
    """
    import importlib.machinery as machinery

    sys.pycache_prefix = prefix
    sys.dont_write_bytecode = False  # the private cache never touches the project's folders

    original_path_stats = machinery.SourceFileLoader.path_stats

    def path_stats(self, path):
        stats = original_path_stats(self, path)
        st = os.stat(path)
        # Microseconds, so the 32-bit mtime field in the header changes with any edit.
        stats["mtime"] = st.st_mtime_ns // 1000
        return stats

    machinery.SourceFileLoader.path_stats = path_stats

    try:
        from _pytest.assertion import rewrite
    except ImportError:
        return
    original_read_pyc = getattr(rewrite, "_read_pyc", None)
    if original_read_pyc is None:
        return

    def read_pyc(source, pyc, *args, **kwargs):
        try:
            if os.stat(source).st_mtime_ns >= os.stat(pyc).st_mtime_ns:
                return None
        except OSError:
            return None
        return original_read_pyc(source, pyc, *args, **kwargs)

    rewrite._read_pyc = read_pyc


# ---------------------------------------------------------------- the run child


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
            "file": os.path.join(ROOT, path),
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


class ImportLog:
    """What each test file's collection and tests import, including imports made at run time.

    heavy watch and continuous runs re-run a test file when a module it imports changes. A
    module loaded with importlib.import_module() (or an import inside a fixture) is not in
    the static import graph; recording the import requests made while each file is
    collected or its tests run fills that gap.
    """

    def __init__(self):
        import builtins
        import importlib

        self.current: str | None = None
        self.rootpath = ROOT
        self.names: dict[str, set[str]] = {}
        original_import = builtins.__import__
        original_import_module = importlib.import_module
        log = self

        def __import__(name, globals=None, locals=None, fromlist=(), level=0):
            module = original_import(name, globals, locals, fromlist, level)
            if log.current is not None:
                log.note(getattr(module, "__name__", name) if level else name, fromlist)
            return module

        def import_module(name, package=None):
            module = original_import_module(name, package)
            if log.current is not None:
                log.note(module.__name__, ())
            return module

        builtins.__import__ = __import__
        importlib.import_module = import_module

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
    return plugins


def safe_repr(value) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 10000 else text[:10000] + "..."


def enter_run(socket_path: str, hello: dict, run: dict) -> tuple[list[socket.socket], list[str]]:
    """Puts this fresh fork where a cold run started from the client's shell would be.

    Returns its connections (output, events) and pytest's arguments.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    out = connect(socket_path, {"hello": "out", **hello})
    os.dup2(out.fileno(), 1)
    os.dup2(out.fileno(), 2)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
    events = connect(socket_path, {"hello": "events", **hello})
    env = run.get("env")
    if env is not None:
        # Exactly the client's environment, as a cold run started from its shell would see.
        os.environ.clear()
        os.environ.update(env)
    if run.get("color"):
        os.environ.setdefault("FORCE_COLOR", "1")
    os.chdir(run.get("cwd") or ROOT)
    # Usage messages and --help name the program from argv[0] (before pytest 9): say "pytest".
    sys.argv = ["pytest"]
    args = list(run.get("args") or [])
    if run.get("color") and not any(a.startswith("--color") for a in args):
        args.insert(0, "--color=yes")
    return [out, events], args


def pytest_main(args: list[str], plugins: list) -> int:
    """pytest.main(), naming itself "pytest" in usage messages, as on the command line."""
    import inspect

    import pytest
    from _pytest import config as pytest_config

    main = getattr(pytest_config, "_main", None)
    if main is not None and "prog" in inspect.signature(main).parameters:
        return int(main(args=args, plugins=plugins, prog="pytest"))
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
    """Runs pytest once; never returns."""
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


# ---------------------------------------------------------------- primed runs
#
# People re-run the same test over and over. After a run, the daemon asks level 2 to
# "prime" the same request: a fork that does everything pytest.main does before it looks
# at a test (parse the arguments and ini files, load plugins and the initial conftest
# files), then waits. The next identical request only has to collect and run. A prime is
# used only if every file it imported and every folder pytest searched for conftest.py is
# unchanged; otherwise it is thrown away and the run forks afresh, so results are those
# of a cold run either way.


def primable(args: list[str]) -> bool:
    try:
        from _pytest.config import _prepareconfig  # noqa: F401
    except ImportError:
        return False
    # pytest answers a lone --version without parsing anything.
    return args.count("--version") + args.count("-V") != 1


def prepare_config(args: list[str], plugins: list):
    """The first half of pytest's main(): everything before pytest_cmdline_main."""
    import pytest
    from _pytest.config import _prepareconfig

    os.environ["PYTEST_VERSION"] = pytest.__version__
    import inspect

    if "prog" in inspect.signature(_prepareconfig).parameters:
        return _prepareconfig(args, plugins, prog="pytest")
    return _prepareconfig(args, plugins)


def finish_main(config) -> int:
    """The second half of pytest's main(), with its handling of usage errors."""
    from _pytest.config import ExitCode, UsageError

    try:
        try:
            ret = config.hook.pytest_cmdline_main(config=config)
            try:
                return int(ExitCode(ret))
            except ValueError:
                return int(ret)
        finally:
            config._ensure_unconfigure()
    except UsageError as exc:
        try:
            from _pytest.config import print_usage_error

            print_usage_error(exc, file=sys.stderr)
        except ImportError:  # before pytest 9
            from _pytest._io import TerminalWriter

            tw = TerminalWriter(sys.stderr)
            for msg in exc.args:
                tw.line(f"ERROR: {msg}\n", red=True)
        return int(ExitCode.USAGE_ERROR)


def inputs_of(config) -> list:
    """What a parsed config depends on: project files it imported and folders searched for conftest.py."""
    seen = []
    for mod in list(sys.modules.values()):
        path = getattr(mod, "__file__", None)
        # Installed packages (even a .venv inside the project) are the daemon's to watch.
        if path and path.endswith(".py") and not is_third_party(mod):
            seen.append(path)
    folders = getattr(config.pluginmanager, "_dirpath2confmods", None)
    if folders is None:
        return []  # a pytest that keeps no record: never trust a prime
    seen.extend(str(folder) for folder in folders)
    # The ini files pytest chose from (a new or edited one changes how the run is set up).
    for folder in {ROOT, str(getattr(config, "rootpath", ROOT))}:
        seen.extend(os.path.join(folder, name) for name in ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg"))
    if getattr(config, "inipath", None):
        seen.append(str(config.inipath))
    return stamp(seen)


def stamp(paths: list) -> list:
    stamps = []
    for path in paths:
        try:
            st = os.stat(path)
            stamps.append((path, st.st_mtime_ns, st.st_size))
        except OSError:
            stamps.append((path, None, None))
    return stamps


def unchanged(stamps: list) -> bool:
    if not stamps:
        return False
    for path, mtime, size in stamps:
        try:
            st = os.stat(path)
        except OSError:
            if mtime is not None:
                return False
            continue
        if st.st_mtime_ns != mtime or st.st_size != size:
            return False
    return True


# A prime goes further when nothing but pytest's own plugins (and two that only declare
# markers) take part in configuring and starting a session: it also runs pytest_configure
# and pytest_sessionstart (building the fixture manager alone is a quarter of a warm run)
# and waits inside pytest's own session, just before the terminal reporter prints its
# header and starts the clock. A plugin or conftest.py of the project's own that hooks
# into these steps may do anything there (start servers, write files), so its requests
# stop at the parsed configuration instead.

# Plugins known to do nothing in pytest_configure but declare markers.
MARKER_ONLY_PLUGINS = {"pytest_asyncio.plugin", "anyio.pytest_plugin"}
# pytest's own pytest_cmdline_main hooks; each but main's answers only for the options below.
KNOWN_CMDLINE_MAIN = {"_pytest.main", "_pytest.cacheprovider", "_pytest.fixtures", "_pytest.helpconfig",
                      "_pytest.mark", "_pytest.python", "_pytest.setuponly", "_pytest.setupplan"}
# Options that answer without a session, or whose configure step writes outside the process
# (--cache-clear, --junitxml, --pastebin, a log file).
NOT_IN_SESSION = ("help", "version", "markers", "showfixtures", "show_fixtures_per_test", "cacheshow",
                  "cacheclear", "xmlpath", "pastebin", "log_file")
# What pytest's cache plugins read when configured, and write back at the end of a session.
CACHE_KEYS = ("lastfailed", "nodeids", "stepwise")


def plugin_module(plugin) -> str:
    return getattr(plugin, "__name__", None) or type(plugin).__module__


def session_primable(config) -> bool:
    """True when configuring and starting a session ahead of the request is exactly what a cold run would do then."""
    if any(getattr(config.option, name, None) for name in NOT_IN_SESSION):
        return False
    try:
        if config.getini("log_file"):
            return False
    except ValueError:
        return False
    hooks = config.pluginmanager.hook
    for name in ("pytest_configure", "pytest_sessionstart", "pytest_plugin_registered", "pytest_cmdline_main"):
        for impl in getattr(hooks, name).get_hookimpls():
            module = plugin_module(impl.plugin)
            if name == "pytest_cmdline_main" and module not in KNOWN_CMDLINE_MAIN:
                return False
            if not (module.startswith("_pytest.") or module in MARKER_ONLY_PLUGINS):
                return False
    return True


def read_or_none(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def cache_contents(config):
    """What the cache files pytest_configure reads hold now (read before it reads them).

    By content, not time: every run rewrites `nodeids`, mostly with the same ids.
    """
    if not config.pluginmanager.has_plugin("cacheprovider"):
        return {}
    try:
        from _pytest.cacheprovider import resolve_from_str

        cache = resolve_from_str(config.getini("cache_dir"), config.rootpath)
    except (ImportError, ValueError, AttributeError):
        return None  # never trust this prime
    return {path: read_or_none(path) for path in (str(cache / "v" / "cache" / key) for key in CACHE_KEYS)}


def same_contents(contents) -> bool:
    return contents is not None and all(read_or_none(path) == data for path, data in contents.items())


def session_pause(events, go_fd: int, answer_fd: int, fresh):
    """A plugin that holds a primed session at the end of pytest_sessionstart until its request comes."""
    import pytest

    class SessionPause:
        went = False

        # trylast, and registered before the terminal reporter (also trylast): called after
        # the fixture manager is built, before the reporter prints its header and starts its clock.
        @pytest.hookimpl(trylast=True)
        def pytest_sessionstart(self, session):
            wait_for_go(events, go_fd, answer_fd, fresh)
            self.went = True

    return SessionPause()


def wait_for_go(events, go_fd: int, answer_fd: int, fresh) -> None:
    """Says "primed", waits for the request, and returns only if nothing it depends on changed."""
    gc.collect()
    gc.freeze()
    try:
        send(events, {"t": "primed"})
        go = os.read(go_fd, 1)
    except (OSError, KeyboardInterrupt):
        go = b""
    if not go:  # the parent is gone or dropped this prime
        leave(0)
    ok = fresh()
    os.write(answer_fd, b"1" if ok else b"0")
    if not ok:
        leave(0)


def prime_child(socket_path: str, prime: dict, go_fd: int, answer_fd: int) -> None:
    """Prepares a run ahead of its request and waits for "go"; never returns."""
    try:
        streams, args = enter_run(socket_path, {"prime": prime["id"]}, prime)
        events = streams[1]
        if not primable(args):
            raise RuntimeError("not primable")
        config = prepare_config(args, run_plugins(events, prime))
        stamps = inputs_of(config)
        pause = None
        if session_primable(config):
            contents = cache_contents(config)
            pause = session_pause(events, go_fd, answer_fd, lambda: unchanged(stamps) and same_contents(contents))
            config.pluginmanager.register(pause, "heavy-primed-session")
    except BaseException:
        leave(0)  # the daemon drops what this fork wrote; the run forks afresh
    if pause is None:  # primed up to the parsed configuration
        wait_for_go(events, go_fd, answer_fd, lambda: unchanged(stamps))
        run_to_end(lambda: finish_main(config), streams)

    def session() -> int:  # pytest's own session, holding at the pause until "go"
        try:
            return finish_main(config)
        finally:
            if not pause.went:
                leave(0)  # ended before its session started (an error while configuring): give up

    run_to_end(session, streams)


# ---------------------------------------------------------------- the warm parent


def site_dirs() -> list[str]:
    import site

    dirs = []
    try:
        dirs.extend(site.getsitepackages())
    except AttributeError:
        pass
    user = getattr(site, "getusersitepackages", None)
    if user and site.ENABLE_USER_SITE:
        dirs.append(user())
    return [d for d in dirs if os.path.isdir(d)]


class Server:
    """A warm process: forks one child per run and reports how each ended."""

    def __init__(self, socket_path: str, hello: dict):
        self.socket_path = socket_path
        self.control = connect(socket_path, hello)
        self.lock = threading.Lock()
        self.children: dict[int, str] = {}  # pid -> run id
        self.registry = threading.Lock()  # a child may exit before its pid is recorded
        self.draining = False  # replaced by a newer warm process: exit after the last run
        self.level2: int | None = None
        self.primes: dict[str, tuple[int, int, int]] = {}  # prime id -> (pid, go fd, answer fd)

    def fork(self) -> int:
        """fork(), with the child holding nothing of the parent's other children."""
        pid = os.fork()
        if pid == 0:
            self.control.close()
            for _, go_fd, answer_fd in self.primes.values():
                os.close(go_fd)
                os.close(answer_fd)
            self.primes.clear()
        return pid

    def prime(self, message: dict) -> None:
        go_r, go_w = os.pipe()
        answer_r, answer_w = os.pipe()
        with self.registry:
            pid = self.fork()
            if pid == 0:
                os.close(go_w)
                os.close(answer_r)
                prime_child(self.socket_path, message, go_r, answer_w)
        os.close(go_r)
        os.close(answer_w)
        self.primes[message["id"]] = (pid, go_w, answer_r)

    def unprime(self, prime_id: str) -> None:
        pid, go_fd, answer_fd = self.primes.pop(prime_id, (None, None, None))
        if pid is None:
            return
        os.close(go_fd)  # the prime sees end of file and exits
        os.close(answer_fd)

    def go(self, prime_id: str | None) -> int | None:
        """Starts a primed run; its pid, or None when the prime is gone or found stale."""
        prime = self.primes.pop(prime_id, None) if prime_id else None
        if prime is None:
            return None
        pid, go_fd, answer_fd = prime
        answer = b""
        try:
            os.write(go_fd, b"g")
            if select.select([answer_fd], [], [], 2.0)[0]:
                answer = os.read(answer_fd, 1)
        except OSError:
            pass
        os.close(go_fd)
        os.close(answer_fd)
        if answer == b"1":
            return pid
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return None

    def send(self, message: dict) -> None:
        send(self.control, message, self.lock)

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                time.sleep(0.05)
                continue
            with self.registry:
                run_id = self.children.pop(pid, None)
            if run_id is None:
                if pid == self.level2:
                    self.level2 = None
                continue
            message = {"t": "exited", "id": run_id, "pid": pid}
            if os.WIFSIGNALED(status):
                message["signal"] = signal.Signals(os.WTERMSIG(status)).name
            else:
                message["code"] = os.WEXITSTATUS(status)
            try:
                self.send(message)
            except OSError:
                return
            with self.registry:
                if self.draining and not self.children:
                    os._exit(0)

    def loop(self, on_message=None) -> None:
        threading.Thread(target=self.reap, daemon=True).start()
        buffer = b""
        while True:
            data = self.control.recv(65536)
            if not data:
                # The daemon is gone: take the running tests down with us.
                for pid in list(self.children):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                os._exit(0)
            buffer += data
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                message = json.loads(line)
                kind = message.get("t")
                if kind == "run":
                    # fork() while the reaper thread waits is safe: the child only runs pytest.
                    with self.registry:
                        pid = self.go(message.get("prime"))
                        primed = pid is not None
                        if pid is None:
                            pid = self.fork()
                            if pid == 0:
                                run_child(self.socket_path, message)
                        self.children[pid] = message["id"]
                    self.send({"t": "started", "id": message["id"], "pid": pid, "primed": primed})
                elif kind == "prime":
                    self.prime(message)
                elif kind == "unprime":
                    for prime_id in [message["id"]] if message.get("id") else list(self.primes):
                        self.unprime(prime_id)
                elif kind == "cancel":
                    for pid, run_id in list(self.children.items()):
                        if run_id == message["id"]:
                            try:
                                os.kill(pid, signal.SIGKILL if message.get("force") else signal.SIGINT)
                            except ProcessLookupError:
                                pass
                elif kind == "drain":
                    for prime_id in list(self.primes):
                        self.unprime(prime_id)
                    with self.registry:
                        self.draining = True
                        if not self.children:
                            os._exit(0)
                elif kind == "stop":
                    os._exit(0)
                elif on_message:
                    on_message(message)


def serve(socket_path: str, pytest_args: list[str], attached: bool = False) -> None:
    started = time.time()
    server = Server(socket_path, {"hello": "worker", "level": 1, "pid": os.getpid(), "attached": attached})
    import pytest

    modules, project = warm_level1(pytest_args)
    # After level 1, so third-party imports used the normal caches; everything imported from now on is exact.
    exact_bytecode_cache(os.environ.get("HEAVY_PYCACHE") or os.path.join(os.path.dirname(socket_path), "pycache"))
    server.send({"t": "ready", "level": 1, "pid": os.getpid(), "python": sys.executable, "version": sys.version.split()[0],
                 "pytest": pytest.__version__, "warm_seconds": time.time() - started, "modules": modules,
                 "site": site_dirs()})

    def on_message(message: dict) -> None:
        if message.get("t") != "level2":
            return
        # Level 2 is a fork of this process that adds the project's own modules. The daemon
        # asks for a new one whenever a file it imported changes, and retires the old one.
        with server.registry:
            pid = server.fork()
            if pid == 0:
                try:
                    began = time.time()
                    level2 = Server(socket_path, {"hello": "worker", "level": 2, "pid": os.getpid(), "stamp": message.get("stamp")})
                    files = warm_level2(project)
                    level2.send({"t": "ready", "level": 2, "pid": os.getpid(), "files": files, "stamp": message.get("stamp"),
                                 "warm_seconds": time.time() - began})
                    level2.loop()
                finally:
                    os._exit(0)
            server.level2 = pid

    server.loop(on_message)


def daemon_worker_socket(root: str) -> str:
    """Where the daemon for `root` waits for its worker; the same rule as daemon/server/paths.ts."""
    import hashlib
    import tempfile

    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        base = os.path.join(runtime, "heavy")
    else:
        base = os.path.join(tempfile.gettempdir(), f"heavy-{os.getuid()}")
    digest = hashlib.sha256(os.path.abspath(root).encode()).hexdigest()[:16]
    return os.path.join(base, f"{digest}.worker.sock")


def main() -> None:
    parser = argparse.ArgumentParser(description="Heavy Dev's warm pytest worker")
    parser.add_argument("--root", required=True)
    parser.add_argument("--connect", help="the daemon's worker socket")
    parser.add_argument("--attach", action="store_true", help="started by the Test Daemon profile: find the daemon's socket")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    global ROOT
    ROOT = os.path.abspath(args.root)
    os.chdir(ROOT)
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    socket_path = args.connect or os.environ.get("HEAVY_WORKER_SOCKET") or (daemon_worker_socket(ROOT) if args.attach else None)
    if not socket_path or (args.attach and not os.path.exists(socket_path)):
        sys.stderr.write(f"heavy: no test daemon is running for {ROOT}: start it with `heavy daemon start` (the Test Daemon profile starts it for you)\n")
        sys.exit(2)
    try:
        import pytest  # noqa: F401
    except ModuleNotFoundError:
        sys.stderr.write(f"heavy: pytest is not installed in {sys.executable}. Install it: {sys.executable} -m pip install pytest\n")
        sys.exit(3)
    if args.attach:
        print(f"heavy: serving the test daemon for {ROOT} under the debugger; tests run from the editor or `heavy test` stop at breakpoints")
    serve(socket_path, args.pytest_args, attached=args.attach)


if __name__ == "__main__":
    main()
