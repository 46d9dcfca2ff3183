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


def probe_modules(pytest_args: list[str]) -> list[str]:
    """Collects the project in a throwaway child and returns the third-party modules it loaded."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        names: list[str] = []
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            import pytest

            pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *pytest_args])
            names = [name for name, mod in list(sys.modules.items()) if mod is not None and is_third_party(mod)]
        finally:
            os.write(write_fd, json.dumps(names).encode())
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
        return json.loads(b"".join(chunks) or b"[]")
    except ValueError:
        return []


def warm(pytest_args: list[str]) -> int:
    import importlib

    import pytest  # noqa: F401
    import _pytest.config  # noqa: F401

    loaded = 0
    for name in probe_modules(pytest_args):
        if name in sys.modules or name == "__main__":
            continue
        try:
            importlib.import_module(name)
            loaded += 1
        except BaseException:  # a module that cannot be imported alone is imported by its user later
            pass
    gc.collect()
    gc.freeze()
    return loaded


# ---------------------------------------------------------------- the run child


class Reporter:
    """A pytest plugin that streams one event per test to the daemon."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.compare: dict[str, tuple[str, str, str]] = {}
        self.current: str | None = None

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


def safe_repr(value) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 10000 else text[:10000] + "..."


def run_child(socket_path: str, run: dict) -> None:
    """Runs pytest once; never returns."""
    code = 3
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        out = connect(socket_path, {"hello": "out", "id": run["id"]})
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
        sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
        events = connect(socket_path, {"hello": "events", "id": run["id"]})
        env = run.get("env") or {}
        for key, value in env.items():
            os.environ[key] = value
        if run.get("color"):
            os.environ.setdefault("FORCE_COLOR", "1")
        os.chdir(run.get("cwd") or ROOT)
        gc.unfreeze()
        import pytest

        args = list(run.get("args") or [])
        if run.get("color") and not any(a.startswith("--color") for a in args):
            args.insert(0, "--color=yes")
        code = int(pytest.main(args, plugins=[Reporter(events)]))
        sys.stdout.flush()
        sys.stderr.flush()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        code = 2
    except BaseException:
        traceback.print_exc()
        code = 3
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        os._exit(code)


# ---------------------------------------------------------------- the warm parent


def serve(socket_path: str, pytest_args: list[str]) -> None:
    started = time.time()
    control = connect(socket_path, {"hello": "worker", "pid": os.getpid()})
    lock = threading.Lock()
    import pytest

    modules = warm(pytest_args)
    send(control, {"t": "ready", "pid": os.getpid(), "python": sys.executable, "version": sys.version.split()[0],
                   "pytest": pytest.__version__, "warm_seconds": time.time() - started, "modules": modules}, lock)
    children: dict[int, int] = {}  # pid -> run id
    registry = threading.Lock()  # a child may exit before its pid is recorded

    def reap() -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                time.sleep(0.05)
                continue
            with registry:
                run_id = children.pop(pid, None)
            if run_id is None:
                continue
            message = {"t": "exited", "id": run_id, "pid": pid}
            if os.WIFSIGNALED(status):
                message["signal"] = signal.Signals(os.WTERMSIG(status)).name
            else:
                message["code"] = os.WEXITSTATUS(status)
            try:
                send(control, message, lock)
            except OSError:
                return

    threading.Thread(target=reap, daemon=True).start()
    buffer = b""
    while True:
        data = control.recv(65536)
        if not data:
            # The daemon is gone: take the running tests down with us.
            for pid in list(children):
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
                with registry:
                    pid = os.fork()
                    if pid == 0:
                        control.close()
                        run_child(socket_path, message)
                    children[pid] = message["id"]
                send(control, {"t": "started", "id": message["id"], "pid": pid}, lock)
            elif kind == "cancel":
                for pid, run_id in list(children.items()):
                    if run_id == message["id"]:
                        try:
                            os.kill(pid, signal.SIGKILL if message.get("force") else signal.SIGINT)
                        except ProcessLookupError:
                            pass
            elif kind == "stop":
                os._exit(0)


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
    socket_path = args.connect or os.environ.get("HEAVY_WORKER_SOCKET")
    if not socket_path:
        sys.stderr.write("heavy: no daemon to serve: start it with `heavy daemon start` (or the Test Daemon profile)\n")
        sys.exit(2)
    try:
        import pytest  # noqa: F401
    except ModuleNotFoundError:
        sys.stderr.write(f"heavy: pytest is not installed in {sys.executable}. Install it: {sys.executable} -m pip install pytest\n")
        sys.exit(3)
    serve(socket_path, args.pytest_args)


if __name__ == "__main__":
    main()
