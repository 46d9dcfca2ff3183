"""Plain restarts: `[tool.heavy.serve] command = [...]`, and platforms without fork().

The command is stopped and started again on every save, with nothing kept warm. It binds
its own socket (we cannot hand an arbitrary server ours), so the old one is stopped first
and the new one counts as serving once the port accepts a connection.

There is no previous version to keep when a save breaks the app: the server process
simply exits. That is said once ("the server exited ..."), and nothing is started again
until the next save, so a broken file never turns into a crash loop.
"""

from __future__ import annotations

import errno
import os
import select
import signal
import socket
import subprocess
import sys
import time

from . import project
from .proc import become_subreaper, die_with_parent
from .serve_watch import Rules, Watcher


def say(text: str) -> None:
    sys.stderr.write(f"heavy serve: {text}\n")
    sys.stderr.flush()


# The package each built-in server needs, and the module `python -m` runs.
SERVER_PACKAGE = {"flask": "flask", "sanic": "sanic"}


def server_package(framework: str) -> str:
    return SERVER_PACKAGE.get(framework, "uvicorn")


def missing_server(settings: dict) -> str | None:
    """One line when the package serving the app is not installed (None with a `command`: it is the user's)."""
    if settings["command"]:
        return None
    import importlib.util

    name = server_package(settings["framework"])
    try:
        found = importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        found = False
    if found:
        return None
    return (f"{name} is not installed in {sys.executable}, and {settings['app'] or 'the app'} needs it to be served: "
            f"install it there (pip install {name}), or set [tool.heavy.serve] command")


def command_for(settings: dict) -> list[str]:
    """The argv to run, never a shell string: "${host}", "${port}", "${app}" and "${python}" are
    filled in anywhere inside an argument ("--bind=${host}:${port}"), nothing else is interpreted."""
    host, port = settings["host"], str(settings["port"])
    if settings["command"]:
        values = {"${host}": host, "${port}": port, "${app}": settings["app"], "${python}": sys.executable}
        out = []
        for arg in settings["command"]:
            for name, value in values.items():
                arg = arg.replace(name, value)
            out.append(arg)
        return out + list(settings["extra"])
    if settings["framework"] == "flask":
        # --no-reload: FLASK_DEBUG=1 in a .env would otherwise start werkzeug's own reloader beside ours.
        return [sys.executable, "-m", "flask", "--app", settings["app"], "run", "--no-reload", "--host", host,
                "--port", port, *settings["extra"]]
    if settings["framework"] == "sanic":
        # Sanic's CLI (sanic/cli/arguments.py): TARGET, --single-process, -H/--host, -p/--port.
        return [sys.executable, "-m", "sanic", settings["app"], "--single-process", "--host", host, "--port", port,
                *settings["extra"]]
    return [sys.executable, "-m", "uvicorn", settings["app"], "--host", host, "--port", port, *settings["extra"]]


def shown_command(settings: dict) -> str:
    """The command as a shell would show it, for the start line only (it is never run through a shell)."""
    import shlex

    argv = command_for(settings)
    argv[0] = os.path.basename(argv[0]) if os.path.isabs(argv[0]) else argv[0]
    text = shlex.join(argv)
    return text if len(text) <= 60 else text[:57] + "..."


def connect_address(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host


def answers(host: str, port: int) -> bool:
    try:
        socket.create_connection((connect_address(host), port), timeout=0.2).close()
        return True
    except OSError:
        return False


def port_taken(host: str, port: int) -> str | None:
    """Why `port` cannot be bound right now, naming whoever holds it; None when it is free.

    Checked before each start: the command binds the port itself, so without this a port held
    by something else would answer our readiness check and the command's failure would look
    like a server that started."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        if os.name == "posix":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is no conflict
        try:
            probe.bind((host, port))
            return None
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                return f"cannot listen on {host}:{port}: {exc.strerror}"
    from .serve import port_holder

    holder = port_holder(port)
    return f"port {port} on {host} is already in use{f' by {holder}' if holder else ''}; stop it or pass --port"


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def children_of(pid: int) -> list[int]:
    """Direct children of `pid`, from /proc (Linux); [] elsewhere."""
    out = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(") ", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(name))
        except (OSError, IndexError, ValueError):
            continue
    return out


class Restarter:
    """One server process at a time, restarted on every batch of saves."""

    def __init__(self, settings: dict, watcher: Watcher):
        self.settings = settings
        self.watcher = watcher
        self.process: subprocess.Popen | None = None
        self.stopping = False
        self.starting: float | None = None  # monotonic start while the port has not answered yet
        self.changed: list[str] = []  # what the pending "restarted" line names ([]: the first start)
        self.slow_said = False
        self.exit_said = False
        self.wake_r = self.wake_w = -1

    # -- the process

    def stop_process(self) -> None:
        """SIGTERM to the command's whole process group, SIGKILL after shutdown_timeout; then nothing
        it started is left, including a grandchild that ignored SIGTERM or outlived its parent."""
        process, self.process = self.process, None
        self.starting = None
        if process is None:
            return
        timeout = self.settings["shutdown_timeout"]
        if os.name != "posix":
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            return
        pgid = process.pid  # start_new_session: it leads its own group
        try:
            os.killpg(pgid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
        deadline = time.monotonic() + timeout
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        # The leader may be gone while processes it started are not (they ignored SIGTERM, or
        # are still finishing): they get the rest of the timeout, then SIGKILL.
        while group_alive(pgid) and time.monotonic() < deadline:
            self.reap_orphans()
            time.sleep(0.02)
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if process.poll() is None:
            process.wait()
        # SIGKILL is delivered asynchronously: until the group is gone, a child of one of its
        # processes may not have been handed to us yet, and end_orphans would miss it.
        deadline = time.monotonic() + 1.0
        while group_alive(pgid) and time.monotonic() < deadline:
            self.reap_orphans()
            time.sleep(0.01)
        self.end_orphans()

    def reap_orphans(self) -> None:
        """Zombies of the command's grandchildren, reparented to us (the subreaper)."""
        current = self.process.pid if self.process else None
        for pid in children_of(os.getpid()):
            if pid != current:
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass

    def end_orphans(self) -> None:
        """Whatever an old version left behind outside its process group (setsid, a daemon)."""
        current = self.process.pid if self.process else None
        orphans = [pid for pid in children_of(os.getpid()) if pid != current]
        for pid in orphans:
            try:
                os.killpg(pid, signal.SIGKILL) if os.getpgid(pid) == pid else os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for pid in orphans:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass

    def start(self, changed: list[str]) -> bool:
        """Starts the server; False when it cannot (the port is taken). Serving is noticed by `check`."""
        self.stop_process()
        taken = port_taken(self.settings["host"], self.settings["port"])
        if taken:
            say(taken if not changed else f"{taken}; not restarted")
            return False
        if changed:
            # Saves that came while the old process stopped are in the files the new one reads:
            # named in this restart's line rather than causing a second restart after it (a
            # burst of saves gives one restart). Saves after the start below do restart again.
            more = {os.path.relpath(p, project.ROOT) for p in self.watcher.batch()}
            changed = sorted(set(changed) | more)
        self.settings["dotenv"].apply()  # the .env as it is now (this process runs no app code)
        options: dict = {}
        if os.name == "posix":
            options["start_new_session"] = True  # its own group: stopped as a whole, and ^C reaches us alone
            if sys.platform.startswith("linux"):
                options["preexec_fn"] = die_with_parent  # this engine is single-threaded
        argv = command_for(self.settings)
        try:
            self.process = subprocess.Popen(argv, cwd=project.ROOT, **options)
        except OSError as exc:
            say(f"cannot run {argv[0]}: {exc.strerror or exc}")
            return False
        self.starting = time.monotonic()
        self.changed = changed
        self.slow_said = False
        self.exit_said = False
        return True

    def check(self) -> None:
        """Says, once each: serving (the port answers), an exit, or a start that is taking long."""
        process = self.process
        if process is None:
            return
        code = process.poll()
        if code is not None:
            if not self.exit_said and not self.stopping:
                self.exit_said = True
                try:
                    how = f"on {signal.Signals(-code).name}" if code < 0 else f"with code {code}"
                except ValueError:
                    how = f"with code {code}"
                say(f"the server exited {how}; it starts again on the next save")
            self.starting = None
            return
        if self.starting is None:
            return
        host, port = self.settings["host"], self.settings["port"]
        if answers(host, port):
            took = (time.monotonic() - self.starting) * 1000
            self.starting = None
            changed = self.changed
            if changed:
                shown = changed[0] if len(changed) == 1 else f"{changed[0]} and {len(changed) - 1} more"
                print(f"restarted in {took:.0f} ms ({shown})", flush=True)
            else:
                url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
                what = shown_command(self.settings) if self.settings["command"] else self.settings["app"]
                print(f"serving {what} on {url} (restarted on each save), Ctrl+C stops", flush=True)
        elif not self.slow_said and time.monotonic() - self.starting > 30:
            self.slow_said = True
            say(f"the server has not opened port {port} after 30 s; does the command listen on ${{port}}?")

    # -- the loop

    def on_signal(self, signum, _frame) -> None:
        if signum != getattr(signal, "SIGCHLD", None):
            self.stopping = True

    def run(self) -> int:
        watcher = self.watcher
        if os.name == "posix":
            # Every handled signal (a stop, a child's exit) wakes select() at once through this pipe:
            # no polling while idle on inotify.
            self.wake_r, self.wake_w = os.pipe()
            os.set_blocking(self.wake_r, False)
            os.set_blocking(self.wake_w, False)
            signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)  # a full pipe already wakes select()
        for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGCHLD"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), self.on_signal)
        become_subreaper()
        if not self.start([]):
            return 1
        while not self.stopping:
            fd = watcher.fileno()
            if self.starting is not None:
                timeout = 0.05  # waiting for the port to answer
            elif fd is None or self.wake_r < 0:
                timeout = Watcher.POLL_SECONDS
            else:
                timeout = None
            fds = [f for f in (fd, self.wake_r) if f is not None and f >= 0]
            ready = select.select(fds, [], [], timeout)[0] if fds else (time.sleep(timeout or 0.5) or [])
            if self.wake_r in ready:
                try:
                    while os.read(self.wake_r, 512):
                        pass
                except (BlockingIOError, OSError):
                    pass
            if self.stopping:
                break
            if fd is None or fd in ready:
                batch = watcher.batch()
                if batch and not self.stopping:
                    self.start(sorted(os.path.relpath(p, project.ROOT) for p in batch))
            self.check()
        self.stop_process()
        return 0


def plain_restart(settings: dict) -> int:
    if not hasattr(os, "fork") and not settings["command"]:
        say("fork() is not available on this platform: each save restarts the server process, with nothing kept warm")
    watcher = Watcher(Rules(project.ROOT, settings.get("watch"), settings.get("ignore"), settings["dotenv"].path))
    return Restarter(settings, watcher).run()
