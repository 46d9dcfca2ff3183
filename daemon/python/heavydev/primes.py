"""Primed runs: a fork that prepares pytest for a request ahead of it.

People re-run the same test over and over. After a run, the daemon asks level 2 to
"prime" the same request: a fork that does everything pytest.main does before it looks
at a test (parse the arguments and ini files, load plugins and the initial conftest
files), then waits. The next identical request only has to collect and run. A prime is
used only if every file it imported and every folder pytest searched for conftest.py is
unchanged; otherwise it is thrown away and the run forks afresh, so results are those
of a cold run either way.
"""

from __future__ import annotations

import os
import sys

from . import project
from .project import is_third_party
from .pytest_run import enter_run, leave, prog_name, run_plugins, run_to_end
from .warm import freeze
from .wire import send


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
        return _prepareconfig(args, plugins, prog=prog_name())
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
    for folder in {project.ROOT, str(getattr(config, "rootpath", project.ROOT))}:
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
            # Heavy's own plugins (results, imports, file filter) only record or filter.
            if not (module.startswith(("_pytest.", "heavydev.")) or module in MARKER_ONLY_PLUGINS):
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
    freeze()
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

