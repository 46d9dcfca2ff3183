"""Plain restarts: `[tool.heavy.serve] command = [...]`, and platforms without fork().

The command is stopped and started again on every save, with nothing kept warm. It binds
its own socket (we cannot hand an arbitrary server ours), so the old one is stopped first
and the new one counts as serving once the port accepts a connection.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time

from . import project
from .serve_watch import Rules, Watcher


def say(text: str) -> None:
    sys.stderr.write(f"heavy serve: {text}\n")
    sys.stderr.flush()


def die_with_parent_process() -> None:
    """SIGTERM when whatever started us (the CLI, the debug adapter) dies, so the server stops with it."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def command_for(settings: dict) -> list[str]:
    if settings["command"]:
        values = {"${host}": settings["host"], "${port}": str(settings["port"]), "${app}": settings["app"]}
        return [values.get(a, a) for a in settings["command"]] + list(settings["extra"])
    host, port = settings["host"], str(settings["port"])
    if settings["framework"] == "flask":
        return [sys.executable, "-m", "flask", "--app", settings["app"], "run", "--host", host, "--port", port, *settings["extra"]]
    if settings["framework"] == "sanic":
        return [sys.executable, "-m", "sanic", settings["app"], "--single-process", "--host", host, "--port", port, *settings["extra"]]
    return [sys.executable, "-m", "uvicorn", settings["app"], "--host", host, "--port", port, *settings["extra"]]


def answers(host: str, port: int) -> bool:
    address = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
    try:
        socket.create_connection((address, port), timeout=0.2).close()
        return True
    except OSError:
        return False


class Restarter:
    def __init__(self, settings: dict):
        self.settings = settings
        self.process: subprocess.Popen | None = None
        self.stopping = False

    def stop_process(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        kill = getattr(os, "killpg", None)
        try:
            if kill:
                kill(process.pid, signal.SIGTERM)
            else:
                process.terminate()
            process.wait(self.settings["shutdown_timeout"])
        except subprocess.TimeoutExpired:
            kill(process.pid, signal.SIGKILL) if kill else process.kill()
            process.wait()
        except ProcessLookupError:
            pass

    def start(self, changed: list[str]) -> None:
        started = time.monotonic()
        self.stop_process()
        self.settings["dotenv"].apply()  # the .env as it is now (this process runs no app code)
        options = {"start_new_session": True} if os.name == "posix" else {}
        self.process = subprocess.Popen(command_for(self.settings), cwd=project.ROOT, **options)
        while not self.stopping and self.process.poll() is None and not answers(self.settings["host"], self.settings["port"]):
            time.sleep(0.02)
        took = (time.monotonic() - started) * 1000
        if self.process.poll() is not None:
            say(f"the server exited with code {self.process.returncode}; it starts again on the next save")
        elif changed:
            print(f"restarted in {took:.0f} ms ({changed[0]}{f' and {len(changed) - 1} more' if len(changed) > 1 else ''})", flush=True)
        else:
            print(f"serving on http://{self.settings['host']}:{self.settings['port']} (restarted on each save)", flush=True)


def plain_restart(settings: dict) -> int:
    if not hasattr(os, "fork") and not settings["command"]:
        say("this platform has no fork(): every reload restarts the server process, with nothing kept warm")
    restarter = Restarter(settings)

    def on_signal(*_):
        restarter.stopping = True

    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), on_signal)
    watcher = Watcher(Rules(project.ROOT, settings.get("watch"), settings.get("ignore"), settings["dotenv"].path))
    restarter.start([])
    while not restarter.stopping:
        fd = watcher.fileno()
        if fd is not None:
            if not select.select([fd], [], [], 0.5)[0]:
                continue
        else:
            time.sleep(Watcher.POLL_SECONDS)
        batch = watcher.batch()
        if batch and not restarter.stopping:
            restarter.start(sorted(os.path.relpath(p, project.ROOT) for p in batch))
    restarter.stop_process()
    return 0
