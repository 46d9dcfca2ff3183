"""The warm levels, each a fork of the one below, built for a client's context.

- Level 0, the process the daemon starts: pytest and its plugins.
- Level 1, per context: every third-party module a collection of the project imports.
- Level 2, per context: the project's own modules too.

A level is built in a fork with the context of the run it is for (environment, working
folder, sys.argv) and records what its imports read of it (see context.py). A module that
warns while imported is left out, together with the modules importing it, so each run
imports it itself and pytest sees the warning where a cold run sees it. Finding that out
takes a first attempt; the daemon then asks for the level again without those modules.
"""

from __future__ import annotations

import os
import sys
import time

from . import context
from .context import Recorder, enter_context, keep_env_writes, pytest_argv0, startup_reads
from .warm import (Server, WarningsSeen, exact_bytecode_cache, file_stamps, freeze, import_clean, load_plugins,
                   plugin_packages, probe_modules, site_dirs, top_level_names)


def pycache_dir(socket_path: str) -> str:
    return os.environ.get("HEAVY_PYCACHE") or os.path.join(os.path.dirname(socket_path), "pycache")


def level_context(message: dict) -> None:
    enter_context(message.get("env"), message.get("cwd"), [pytest_argv0(), *(message.get("args") or [])])


def build_level1(socket_path: str, message: dict, third_party: list[str], project_modules: list[str]) -> None:
    """In a fresh fork of level 0: import the third-party modules for one context, then serve."""
    began = time.time()
    level_context(message)
    with Recorder() as reads:
        loaded, tainted, said = import_clean(third_party, set(message.get("exclude") or []))
    hello = {"hello": "worker", "level": 1, "pid": os.getpid(), "ctx": message.get("ctx")}
    server = Server(socket_path, hello, on_message=lambda m: on_level1_message(server, socket_path, m, project_modules))
    if tainted:
        server.send({"t": "tainted", "names": sorted(tainted), "warnings": said[:20]})
        os._exit(0)
    keep_env_writes(reads)
    freeze()
    server.send({"t": "ready", "level": 1, "pid": os.getpid(), "ctx": message.get("ctx"), "reads": reads.report(),
                 "tops": top_level_names(), "cwd": os.getcwd(), "modules": loaded, "warm_seconds": time.time() - began})
    server.loop()


def on_level1_message(server: Server, socket_path: str, message: dict, project_modules: list[str]) -> None:
    if message.get("t") == "level2":
        server.fork_level(lambda: build_level2(socket_path, message, project_modules))


def build_level2(socket_path: str, message: dict, project_modules: list[str]) -> None:
    """In a fresh fork of level 1: import the project's own modules for one context, then serve."""
    began = time.time()
    level_context(message)
    # From here on every import is the project's: bytecode validated exactly (see exact_bytecode_cache).
    exact_bytecode_cache(pycache_dir(socket_path))
    with Recorder() as reads:
        _, tainted, said = import_clean(project_modules, set(message.get("exclude") or []))
    hello = {"hello": "worker", "level": 2, "pid": os.getpid(), "ctx": message.get("ctx"), "stamp": message.get("stamp")}
    server = Server(socket_path, hello)
    if tainted:
        server.send({"t": "tainted", "names": sorted(tainted), "warnings": said[:20]})
        os._exit(0)
    keep_env_writes(reads)
    files = file_stamps(project_modules)
    freeze()
    server.send({"t": "ready", "level": 2, "pid": os.getpid(), "ctx": message.get("ctx"), "stamp": message.get("stamp"),
                 "reads": reads.report(), "cwd": os.getcwd(), "files": files, "warm_seconds": time.time() - began})
    server.loop()


def serve(socket_path: str, pytest_args: list[str], attached: bool = False) -> None:
    """Level 0: pytest and its plugins, then fork higher levels as the daemon asks."""
    started = time.time()
    context.start_process()
    sys.argv = context.RecordingArgv([sys.argv[0]])
    with Recorder() as reads, WarningsSeen() as seen:
        import pytest

        list.__setitem__(sys.argv, slice(None), [pytest_argv0(), *pytest_args])
        load_plugins(pytest_args)
    server = Server(socket_path, {"hello": "worker", "level": 0, "pid": os.getpid(), "attached": attached})
    keep_env_writes(reads)
    found = probe_modules(pytest_args)
    skip = plugin_packages()
    third_party = [n for n in found.get("third_party", []) if n.split(".")[0] not in skip]
    project_modules = found.get("project", [])
    key = reads.report()
    key["env"].update(startup_reads(os.environ))
    unusable = None
    if seen.seen:
        # pytest or a plugin warned while imported; a cold run shows that before any filter of
        # pytest's applies. Runs that set PYTHONWARNINGS (absent here) therefore start cold, and
        # if the interpreter's default filters would show it, every run does.
        key["env"]["PYTHONWARNINGS"] = None
        if any(shown_by_default(category) for _, _, category in seen.seen):
            unusable = f"pytest or a plugin warns when imported: {seen.seen[0][1]}"
    freeze()

    def on_message(message: dict) -> None:
        if message.get("t") == "level1":
            server.fork_level(lambda: build_level1(socket_path, message, third_party, project_modules))

    server.on_message = on_message
    server.send({"t": "ready", "level": 0, "pid": os.getpid(), "python": sys.executable, "version": sys.version.split()[0],
                 "pytest": pytest.__version__, "warm_seconds": time.time() - started, "site": site_dirs(),
                 "reads": key, "tops": top_level_names(), "cwd": os.getcwd(), "argv0": pytest_argv0(),
                 "startup": {"prefixes": list(context.STARTUP_PREFIXES), "names": list(context.STARTUP_NAMES),
                             "except": list(context.STARTUP_EXCEPT)},
                 "unusable": unusable, "thirdParty": len(third_party), "project": len(project_modules)})
    server.loop()


def shown_by_default(category: type) -> bool:
    """Whether the interpreter's own filters (no -W, no PYTHONWARNINGS) would print a warning raised outside __main__."""
    return not issubclass(category, (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning))


def run_cold(socket_path: str, run: dict) -> None:
    """A run no warm level can serve (its environment differs in what even pytest's import read): this process is it."""
    from .pytest_run import run_child

    context.start_process()
    run_child(socket_path, run)
