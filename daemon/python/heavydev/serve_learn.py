"""Third-party modules an app imports only once it runs, learned from the serving child and
imported into the warm parent, so that later versions find them already imported.

The probe in Engine.warm() sees what importing the app imports. What the app imports later
(a database driver on its lifespan's first connection, anyio's asyncio backend on the first
sync endpoint, FastAPI's lifespan helpers) every new version imported again, on the path from
save to first response: about 80 ms of the bench's heavier app's reload. The serving child says
which modules it imported ("imports a b c"); the idle parent imports them, never a project module.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types

from .project import is_third_party
from .warm import freeze, import_clean

# Debuggers and this package import their own modules into a child (debugpy follows forks):
# those belong to the child that imported them, not to the warm parent.
NOT_LEARNED = ("heavydev", "pydevd", "_pydevd", "_pydev", "debugpy", "__main__", "__mp_main__")


class Reporter:
    """In the serving child: `check()` on each server tick says which modules arrived since the last one."""

    def __init__(self, say):
        self.say = say
        self.known = set(sys.modules)
        self.count = len(self.known)

    def check(self) -> None:
        if len(sys.modules) == self.count:  # the idle case: one comparison per tick
            return
        try:
            self._report()
        except Exception:  # noqa: BLE001 - runs on the server's tick: learning must never stop the app
            self.count = len(sys.modules)

    def _report(self) -> None:
        fresh = []
        for name, module in list(sys.modules.items()):
            if name in self.known:
                continue
            self.known.add(name)
            if module is not None and not name.startswith(NOT_LEARNED) and is_third_party(module):
                fresh.append(name)
        self.count = len(sys.modules)
        if fresh:
            self.say("imports " + " ".join(fresh))


class ProjectRefused(importlib.abc.MetaPathFinder):
    """While the parent learns: importing a project module fails (code imported there could never reload)."""

    def find_spec(self, name, path=None, target=None):
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.origin and not is_third_party(types.SimpleNamespace(__file__=spec.origin)):
            raise ImportError(f"{name} is the project's: the warm parent does not import it")
        return None  # the usual finders import it


class Learner:
    """In the warm parent: names heard from children, imported when the parent is idle."""

    def __init__(self):
        self.pending: list[str] = []
        self.tried: set[str] = set()  # one attempt each: a module that fails here is the child's to import

    def hear(self, line: str) -> None:
        for name in line.split()[1:]:
            if name not in self.tried and name not in sys.modules:
                self.tried.add(name)
                self.pending.append(name)

    def learn(self) -> int:
        """Imports what was heard (in the children's order) and freezes the heap again; how many imported."""
        if not self.pending:
            return 0
        names, self.pending = self.pending, []
        refuse = ProjectRefused()
        sys.meta_path.insert(0, refuse)
        try:
            loaded, _, _ = import_clean(names, set())
        finally:
            sys.meta_path.remove(refuse)
        freeze()  # the new modules' objects join the frozen heap the next children share
        return loaded
