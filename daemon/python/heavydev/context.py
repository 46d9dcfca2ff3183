"""What a warm level's imports read from the process's context, and putting a run where a cold run would be.

Importing a module runs its top-level code once, in the warm level, with the context of
whoever built that level. Whatever that code read (environment variables, the working
folder, sys.argv) is baked into the level. So each level records what its imports read,
and the daemon forks a run from it only when the run's context gives the same answers.
Everything a cold interpreter reads before any import (PYTHON* variables, locale, TZ)
counts as read by the first level.
"""

from __future__ import annotations

import builtins
import os
import sys
import warnings

from . import project

# Read by the interpreter at start-up (hash seed, paths, flags, encodings), before any Python
# code can be watched reading them: always part of the first level's key.
STARTUP_PREFIXES = ("PYTHON", "LC_")
STARTUP_NAMES = ("LANG", "LANGUAGE", "TZ")
# PYTHON* variables that cannot change what an import did: each run applies PYTHONWARNINGS
# itself; the others are read later, only by what uses them, or only by an interactive session.
STARTUP_EXCEPT = ("PYTHONWARNINGS", "PYTHONBREAKPOINT", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX",
                  "PYTHONUNBUFFERED", "PYTHONSTARTUP", "PYTHONINSPECT")


# Functions that read a path relative to the working folder when given one.
PATH_READERS = ("listdir", "scandir", "stat", "open")


def is_startup_variable(name: str) -> bool:
    if name in STARTUP_EXCEPT:
        return False
    return name in STARTUP_NAMES or name.startswith(STARTUP_PREFIXES)


def startup_reads(environ) -> dict:
    return {name: value for name, value in environ.items() if is_startup_variable(name)}


class RecordingArgv(list):
    """sys.argv while a level imports: notes whether anything looked at it."""

    recorder: "Recorder | None" = None

    def _seen(self):
        if RecordingArgv.recorder is not None and RecordingArgv.recorder.at_import_time():
            RecordingArgv.recorder.argv = True


def _watch(name):
    original = getattr(list, name)

    def method(self, *args, **kwargs):
        self._seen()
        return original(self, *args, **kwargs)

    method.__name__ = name
    return method


for _name in ("__getitem__", "__iter__", "__len__", "__contains__", "__eq__", "__ne__", "__repr__", "__str__",
              "__reversed__", "__add__", "__mul__", "__lt__", "__le__", "__gt__", "__ge__", "copy",
              "index", "count"):
    if callable(getattr(list, _name, None)):
        setattr(RecordingArgv, _name, _watch(_name))


class Recorder:
    """Records reads of the environment, the working folder and sys.argv made by module-level code.

    Only reads made while some module's top-level code runs count: pytest reading
    PYTEST_ADDOPTS while the first level loads plugins is configuration, done again by each
    run; a module reading DATABASE_URL at import is state the run inherits.
    """

    def __init__(self):
        self.env: dict[str, str | None] = {}
        self.listed = False
        self.cwd = False
        self.argv = False
        self.writes: list[tuple[str, str | None]] = []
        self._saved = {}

    def at_import_time(self) -> bool:
        frame = sys._getframe(2)
        while frame is not None:
            if frame.f_code.co_name == "<module>":
                name = frame.f_globals.get("__name__", "")
                if name != "__main__" and not name.startswith("heavydev"):
                    return True
            frame = frame.f_back
        return False

    def __enter__(self) -> "Recorder":
        rec = self
        environ_class = type(os.environ)
        getitem, setitem, delitem = environ_class.__getitem__, environ_class.__setitem__, environ_class.__delitem__
        iterate, length = environ_class.__iter__, environ_class.__len__
        getcwd, getcwdb = os.getcwd, os.getcwdb
        self._saved = {"class": (environ_class, getitem, setitem, delitem, iterate, length), "cwd": (getcwd, getcwdb),
                       "paths": {name: getattr(os, name) for name in PATH_READERS}, "open": builtins.open}

        def __getitem__(self, key):
            try:
                value = getitem(self, key)
            except KeyError:
                if rec.at_import_time():
                    rec.env.setdefault(key, None)
                raise
            if rec.at_import_time():
                rec.env.setdefault(key, value)
            return value

        def __setitem__(self, key, value):
            if rec.at_import_time():
                rec.writes.append((key, value))
            setitem(self, key, value)

        def __delitem__(self, key):
            if rec.at_import_time():
                rec.writes.append((key, None))
            delitem(self, key)

        def __iter__(self):
            if rec.at_import_time():
                rec.listed = True
            return iterate(self)

        def __len__(self):
            if rec.at_import_time():
                rec.listed = True
            return length(self)

        def cwd_str():
            if rec.at_import_time():
                rec.cwd = True
            return getcwd()

        def cwd_bytes():
            if rec.at_import_time():
                rec.cwd = True
            return getcwdb()

        environ_class.__getitem__ = __getitem__
        environ_class.__setitem__ = __setitem__
        environ_class.__delitem__ = __delitem__
        environ_class.__iter__ = __iter__
        environ_class.__len__ = __len__
        os.getcwd, os.getcwdb = cwd_str, cwd_bytes
        # Opening or listing a relative path at import time reads the working folder too. Patched
        # only while a level imports (an audit hook could never be removed, and runs would pay for it).
        for name, function in self._saved["paths"].items():
            setattr(os, name, self._relative_reader(function, default_is_cwd=name in ("listdir", "scandir")))
        builtins.open = self._relative_reader(self._saved["open"])
        RecordingArgv.recorder = self
        return self

    def __exit__(self, *exc) -> None:
        environ_class, getitem, setitem, delitem, iterate, length = self._saved["class"]
        environ_class.__getitem__ = getitem
        environ_class.__setitem__ = setitem
        environ_class.__delitem__ = delitem
        environ_class.__iter__ = iterate
        environ_class.__len__ = length
        os.getcwd, os.getcwdb = self._saved["cwd"]
        for name, function in self._saved["paths"].items():
            setattr(os, name, function)
        builtins.open = self._saved["open"]
        RecordingArgv.recorder = None

    def _relative_reader(self, function, default_is_cwd: bool = False):
        rec = self

        def reader(*args, **kwargs):
            path = args[0] if args else kwargs.get("file", kwargs.get("path"))
            if isinstance(path, bytes):
                path = os.fsdecode(path)
            relative = (path is None and default_is_cwd) or (isinstance(path, (str, os.PathLike)) and not os.path.isabs(os.fspath(path)))
            if relative and not rec.cwd and rec.at_import_time():
                rec.cwd = True
            return function(*args, **kwargs)

        reader.__wrapped__ = function
        return reader

    def report(self) -> dict:
        """The level's key, as the daemon matches runs against it."""
        out: dict = {"env": dict(self.env)}
        if self.listed:
            out["allEnv"] = dict(os.environ)
        if self.cwd:
            out["cwd"] = os.getcwd()
        if self.argv:
            out["argv"] = list(sys.argv)
        return out


# ---------------------------------------------------------------- levels and runs

# What the warm process's own imports wrote into os.environ (a cold run's imports write it too).
ENV_WRITES: list[tuple[str, str | None]] = []
# The interpreter's warning filters before anything was imported (PYTHONWARNINGS is kept
# out of the warm process's environment), so a run can apply its own on top.
BASE_FILTERS: list = []
# The entry of sys.path that stands for the working folder (python -m puts it first).
LEVEL_CWD: list[str] = []


def pytest_argv0() -> str:
    """What sys.argv[0] is in `python -m pytest`."""
    import pytest

    return os.path.join(os.path.dirname(os.path.abspath(pytest.__file__)), "__main__.py")


def start_process() -> None:
    """Called first in the warm process: sys.path and filters as `python -m pytest` from the root would have them."""
    BASE_FILTERS[:] = list(warnings.filters)
    helpers = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != helpers]
    sys.path.insert(0, project.ROOT)
    LEVEL_CWD[:] = [project.ROOT]


def enter_context(env: dict | None, cwd: str | None, argv: list[str] | None) -> None:
    """Puts a level being built (or a run) in a client's context: environment, folder, sys.path[0], argv."""
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
        for key, value in ENV_WRITES:
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    cwd = cwd or project.ROOT
    os.chdir(cwd)
    if sys.path and LEVEL_CWD and sys.path[0] == LEVEL_CWD[0]:
        sys.path[0] = cwd
    else:
        sys.path.insert(0, cwd)
    LEVEL_CWD[:] = [cwd]
    if argv is not None:
        if not isinstance(sys.argv, RecordingArgv):
            sys.argv = RecordingArgv(sys.argv)
        list.__setitem__(sys.argv, slice(None), argv)


def keep_env_writes(recorder: Recorder) -> None:
    ENV_WRITES.extend(recorder.writes)


def apply_warning_options() -> None:
    """The run's PYTHONWARNINGS, applied as the interpreter would have at start-up."""
    options = [o for o in os.environ.get("PYTHONWARNINGS", "").split(",") if o]
    sys.warnoptions[:] = options
    warnings.filters[:] = BASE_FILTERS
    if options:
        warnings._processoptions(options)  # prints "Invalid -W option ignored" as the interpreter does
    warnings._filters_mutated()
    getattr(warnings, "onceregistry", {}).clear()
