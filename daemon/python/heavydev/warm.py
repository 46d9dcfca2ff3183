"""Warm levels: which modules to import, importing them cleanly, and the fork-and-reap server."""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import sys
import threading
import time
import warnings

from .proc import become_subreaper  # noqa: F401  (serve.py takes it from here with the rest)
from .project import is_test_module, is_third_party
from .wire import connect, send


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
    """Collects the project in a throwaway child and returns the modules it loaded, by kind, in import order."""

    def collect() -> None:
        import pytest

        pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *pytest_args])

    return probe_imports(collect)


def probe_imports(load) -> dict:
    """Runs `load()` in a throwaway fork and returns the modules it left imported, by kind, in import order.

    {"third_party": [...], "project": [...]}, plus "error" (the exception's type name) when
    `load` raised. The test daemon's load collects the tests; the serve engine's imports
    the app. The fork's output goes to /dev/null: whatever it prints, the real run prints.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        found: dict = {"third_party": [], "project": []}
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            try:
                load()
            except BaseException as exc:
                found["error"] = type(exc).__name__
            for name, mod in list(sys.modules.items()):
                if mod is None or name == "__main__" or name.startswith("heavydev"):
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


def import_chain() -> list[str]:
    """The modules whose top-level code is running right now, outermost first."""
    chain = []
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "<module>":
            name = frame.f_globals.get("__name__", "")
            if name and name != "__main__" and not name.startswith("heavydev"):
                chain.append(name)
        frame = frame.f_back
    return chain[::-1]


class WarningsSeen:
    """Every warning raised inside the block, whatever the filters, with the imports it was raised under.

    A module that warns when imported cannot be imported warm: pytest shows (or, under an
    `error` filter, fails on) that warning where the run imports it. So such modules, and
    the modules importing them, are left for each run to import itself.
    """

    def __init__(self):
        self.seen: list[tuple[list[str], str, type]] = []
        self._catch = warnings.catch_warnings()

    def __enter__(self) -> "WarningsSeen":
        self._catch.__enter__()
        warnings.simplefilter("always")

        def show(message, category, filename, lineno, file=None, line=None):
            self.seen.append((import_chain(), f"{category.__name__}: {message} ({filename}:{lineno})", category))

        warnings.showwarning = show
        return self

    def __exit__(self, *exc) -> None:
        self._catch.__exit__(*exc)


def excluded(name: str, exclude: set[str]) -> bool:
    parts = name.split(".")
    return any(".".join(parts[:i]) in exclude for i in range(1, len(parts) + 1))


def import_clean(names: list[str], exclude: set[str]) -> tuple[int, set[str], list[str]]:
    """Imports `names` in order, except `exclude` and their submodules.

    Returns how many were imported, the modules that raised warnings while importing (with
    every module that was importing them, and every later one that imports any of them),
    and the warnings themselves. One attempt finds them all, so the next one is clean.
    """
    import builtins
    import importlib

    loaded = 0
    tainted: set[str] = set()
    said: list[str] = []
    requested: dict[str, set[str]] = {}
    original_import = builtins.__import__
    current: list[set[str]] = []

    def __import__(name, globals=None, locals=None, fromlist=(), level=0):
        module = original_import(name, globals, locals, fromlist, level)
        if current:
            base = getattr(module, "__name__", name) if level else name
            current[0].add(base)
            for sub in fromlist or ():
                if isinstance(sub, str):
                    current[0].add(f"{base}.{sub}")
        return module

    builtins.__import__ = __import__
    try:
        for name in names:
            if name in sys.modules or excluded(name, exclude):
                continue
            current[:] = [requested.setdefault(name, set())]
            with WarningsSeen() as seen:
                try:
                    importlib.import_module(name)
                    loaded += 1
                except BaseException:  # a module that cannot be imported alone is imported by its user later
                    pass
            current[:] = []
            for chain, text, _ in seen.seen:
                tainted.add(name)
                tainted.update(chain)
                said.append(text)
    finally:
        builtins.__import__ = original_import
    # A module imported after a tainted one found it loaded and raised nothing; it still imports it.
    grew = bool(tainted)
    while grew:
        grew = False
        for name, wanted in requested.items():
            if name not in tainted and any(excluded(w, tainted) for w in wanted):
                tainted.add(name)
                grew = True
    return loaded, tainted, said


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


def file_stamps(names: list[str]) -> list:
    """[file, mtime_ns, size] of each module's source, to tell when a level is stale."""
    files = []
    for name in names:
        mod = sys.modules.get(name)
        path = getattr(mod, "__file__", None)
        if path and path.endswith(".py"):
            try:
                st = os.stat(path)
                files.append([os.path.abspath(path), str(st.st_mtime_ns), st.st_size])
            except OSError:
                pass
    return files


def top_level_names() -> list[str]:
    """Top-level modules found on sys.path: a working folder holding one of these would shadow it."""
    return sorted(n for n, m in list(sys.modules.items()) if "." not in n and getattr(m, "__file__", None))


def freeze() -> None:
    """Forked children then do not copy the heap on their first garbage collection."""
    gc.collect()
    gc.freeze()


def exact_bytecode_cache(prefix: str) -> None:
    """Bytecode caches that cannot serve stale code.

    CPython and pytest's assertion rewriter both validate a .pyc by the source's mtime in
    whole seconds and its size, so an edit and its undo in the same second, at the same
    size, would run the old code. Runs use a private cache (sys.pycache_prefix, so the
    project's own __pycache__ is untouched) in which a .pyc counts only if it was written
    after the source last changed.
    """
    import importlib.machinery as machinery

    if getattr(sys, "_heavy_exact_cache", False):
        return
    sys._heavy_exact_cache = True
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
    """A warm level: forks one child per run (or prime, or higher level) and reports how each ended."""

    def __init__(self, socket_path: str, hello: dict, on_message=None):
        self.socket_path = socket_path
        self.control = connect(socket_path, hello)
        self.lock = threading.Lock()
        self.children: dict[int, str] = {}  # pid -> run id
        self.registry = threading.Lock()  # a child may exit before its pid is recorded
        self.draining = False  # replaced by a newer level: exit after the last run
        self.levels: set[int] = set()  # pids of levels forked from this one
        self.primes: dict[str, tuple[int, int, int]] = {}  # prime id -> (pid, go fd, answer fd)
        self.on_message = on_message

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

    def fork_level(self, build) -> None:
        """Forks a higher level; `build` runs in the child and never returns."""
        with self.registry:
            pid = self.fork()
            if pid == 0:
                try:
                    build()
                finally:
                    os._exit(0)
            self.levels.add(pid)

    def prime(self, message: dict) -> None:
        from .primes import prime_child

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
        os.close(go_fd)
        os.close(answer_fd)
        signal_group(pid, signal.SIGKILL)  # one still preparing would otherwise compete with runs for the CPU

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
        signal_group(pid, signal.SIGKILL)
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
                self.levels.discard(pid)
            if run_id is None:
                continue  # a level, a prime given up, or a process a test left behind (this is its subreaper)
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

    def start_run(self, message: dict) -> None:
        from .pytest_run import run_child

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

    def loop(self) -> None:
        become_subreaper()
        threading.Thread(target=self.reap, daemon=True).start()
        buffer = b""
        while True:
            data = self.control.recv(65536)
            if not data:
                # The daemon is gone: take the running tests down with us.
                for pid in list(self.children):
                    signal_group(pid, signal.SIGKILL)
                os._exit(0)
            buffer += data
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                self.handle(json.loads(line))

    def handle(self, message: dict) -> None:
        kind = message.get("t")
        if kind == "run":
            self.start_run(message)
        elif kind == "prime":
            self.prime(message)
        elif kind == "unprime":
            for prime_id in [message["id"]] if message.get("id") else list(self.primes):
                self.unprime(prime_id)
        elif kind == "cancel":
            for pid, run_id in list(self.children.items()):
                if run_id == message["id"]:
                    # The whole process group, as Ctrl+C in a terminal reaches a test's own subprocesses too.
                    signal_group(pid, signal.SIGKILL if message.get("force") else signal.SIGINT)
        elif kind == "drain":
            for prime_id in list(self.primes):
                self.unprime(prime_id)
            with self.registry:
                self.draining = True
                if not self.children:
                    os._exit(0)
        elif kind == "stop":
            os._exit(0)
        elif self.on_message:
            self.on_message(message)


def signal_group(pid: int, sig: int) -> None:
    """Signals a run and the processes it started (each run leads its own process group)."""
    try:
        os.killpg(pid, sig)
        return
    except (ProcessLookupError, PermissionError, OSError):
        pass
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
