"""The Hot Reload Server's engine: a warm parent that forks one child per version of the code.

The parent imports only the third-party modules the app needs (never the project's: code
imported in the parent could never be reloaded), freezes its heap, and owns the listening
socket. On each save it forks a child that imports the app and serves on the inherited
socket; once that child has imported cleanly the old one stops accepting and gets
`shutdown_timeout` to finish, then SIGKILL. A broken save leaves the old child serving.
The fork starts on a save's first event, not after the burst settles (a later event of the
same burst forks again), and what children import while serving is learned (serve_learn).
Clients never see "connection refused": the socket stays open in the parent throughout.

Started by heavy_serve.py (the `heavy serve` CLI, the Hot Reload Server profile under
debugpy, and later the recording proxy all start that same script).
"""

from __future__ import annotations

import errno
import os
import select
import signal
import socket
import sys
import time

from . import project
from .proc import runtime_dir
from .serve_child import HEALTH_PATH, Channel, prepare_uvicorn, run_child
from .serve_learn import Learner
from .serve_trace import mark
from .serve_watch import Rules, Watcher
from .warm import become_subreaper, exact_bytecode_cache, freeze, import_clean, probe_imports, signal_group, site_dirs


def say(text: str) -> None:
    sys.stderr.write(f"heavy serve: {text}\n")
    sys.stderr.flush()


# ---------------------------------------------------------------- the socket


def listen(host: str, port: int, fd: int | None) -> socket.socket:
    """The server's socket, bound once; a rebuilt parent gets it back by fd."""
    if fd is not None:
        sock = socket.socket(fileno=fd)
    else:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                holder = port_holder(port)
                raise SystemExit(f"heavy serve: port {port} on {host} is already in use"
                                 f"{f' by {holder}' if holder else ''}; stop it or pass --port") from None
            raise SystemExit(f"heavy serve: cannot listen on {host}:{port}: {exc.strerror}") from None
        sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def port_holder(port: int) -> str | None:
    """"pid 123 (python3 ...)" listening on `port`, from /proc (Linux); None elsewhere or when hidden."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                        inodes.add(fields[9])
        except (OSError, StopIteration, IndexError, ValueError):
            continue
    if not inodes:
        return None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
                    return f"pid {pid} ({cmd[:80]})"
        except OSError:
            continue
    return None


def health(host: str, port: int, token: str, timeout: float = 5.0) -> str | None:
    """One request through the shared socket: the pid of the child that answered it."""
    address = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
    try:
        with socket.create_connection((address, port), timeout=timeout) as conn:
            conn.sendall(f"GET {HEALTH_PATH} HTTP/1.1\r\nHost: {address}:{port}\r\nX-Heavy-Token: {token}\r\n"
                         f"Connection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    return body.strip().decode(errors="replace") if head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.0 200") else None


# ---------------------------------------------------------------- children


class Child:
    def __init__(self, pid: int, status_fd: int, go_fd: int):
        self.pid = pid
        self.status_fd = status_fd
        self.go_fd = go_fd
        self.buffer = b""
        self.exited = False
        self.deadline: float | None = None  # when retiring: SIGKILL after this

    def lines(self, timeout: float, wake_fd: int) -> list[str]:
        """Status lines that arrived within `timeout` ([] on timeout; ["eof"] when the child is gone)."""
        if self.status_fd < 0:
            return ["eof"]  # reaped already
        if b"\n" not in self.buffer:
            ready = select.select([self.status_fd, wake_fd], [], [], timeout)[0]
            if self.status_fd not in ready:
                return []
            try:
                data = os.read(self.status_fd, 4096)
            except OSError:
                data = b""
            if not data:
                return ["eof"]
            self.buffer += data
        *done, self.buffer = self.buffer.split(b"\n")
        return [line.decode(errors="replace") for line in done]

    def close_fds(self) -> None:
        for fd in (self.status_fd, self.go_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        self.status_fd = self.go_fd = -1


class Engine:
    def __init__(self, settings: dict):
        self.settings = settings
        self.shutdown_timeout = settings["shutdown_timeout"]
        self.current: Child | None = None
        self.retiring: list[Child] = []
        self.stopping = False
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        self.watcher: Watcher | None = None
        self.learner = Learner()

    # -- warming

    def warm(self) -> None:
        """Imports what serving the app needs from outside the project, then freezes the heap."""
        started = time.monotonic()
        settings = self.settings

        def load():
            from .serve_child import import_app

            app = import_app(settings["app"])
            if settings["framework"] == "flask":
                import werkzeug.serving  # noqa: F401
            elif settings["framework"] != "sanic":
                prepare_uvicorn(settings, app)

        found = probe_imports(load)
        third_party = found.get("third_party", [])
        if settings["framework"] not in ("flask", "sanic"):
            third_party += ["uvicorn", "uvicorn.main"]
        loaded, _, _ = import_clean(third_party, set())
        # The probe imported the project; this process must not have.
        leaked = [n for n in found.get("project", []) if n in sys.modules]
        if leaked:
            say(f"warning: the warm parent imported project modules ({', '.join(leaked[:3])}); they will not reload")
        freeze()
        # From here on every import is the project's, in a child: bytecode validated exactly.
        exact_bytecode_cache(os.environ.get("HEAVY_PYCACHE") or os.path.join(runtime_dir(), "pycache"))
        self.warm_ms = (time.monotonic() - started) * 1000
        self.warm_count = loaded

    # -- forking a version

    def fork_child(self) -> Child:
        status_r, status_w = os.pipe()
        go_r, go_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(status_r)
            os.close(go_w)
            os.close(self.wake_r)
            os.close(self.wake_w)
            if self.watcher:
                self.watcher.close()
            for other in [self.current, *self.retiring]:
                if other:
                    other.close_fds()
            run_child(self.settings, Channel(status_w, go_r))
        os.close(status_w)
        os.close(go_r)
        return Child(pid, status_r, go_w)

    def new_version(self, changed: list[str], saved_at: float | None, child: Child | None = None) -> None:
        """Forks the new version (or takes `child`, forked already); it replaces the current child once it
        has imported and answers."""
        started = time.time()
        if child is None:
            child = self.fork_child()
        line = self.wait_line(child, ("loaded", "failed"), 120.0)
        if line is None or not line.startswith("loaded"):
            self.abandon(child)
            if line is None and self.stopping:
                return
            what = line[len("failed "):] if line and line.startswith("failed") else "the new version exited while importing"
            if self.current:
                say(f"kept the previous version: {what}")
            else:
                say(f"not serving yet: {what}; waiting for a fix")
            return
        mark("loaded")
        # The old version stops accepting while the new one starts: both at once, as the reload
        # line below waits for the old one's "closed" anyway.
        old = self.current
        if old:
            self.retire(old)
        try:
            os.write(child.go_fd, b"g")
        except OSError:
            pass
        line = self.wait_line(child, ("started", "failed"), 60.0)
        if line != "started":
            self.abandon(child)
            self.current = None
            if not self.stopping:
                say(f"the new version did not start ({line or 'it exited'}); waiting for the next save")
            return
        self.current = child
        mark("started")
        if old:
            self.wait_closed(old)
        if self.settings["framework"] != "sanic":
            answered = None
            deadline = time.monotonic() + 10
            while answered != str(child.pid) and time.monotonic() < deadline and not self.stopping:
                answered = health(self.settings["host"], self.settings["port"], self.settings["token"])
        mark("answered")
        took = (time.time() - (saved_at if saved_at is not None else started)) * 1000
        if changed:
            shown = changed[0] if len(changed) == 1 else f"{changed[0]} and {len(changed) - 1} more"
            print(f"reloaded in {took:.0f} ms ({shown})", flush=True)
        else:
            host = self.settings["host"]
            url = f"http://{'[' + host + ']' if ':' in host else host}:{self.settings['port']}"
            print(f"serving {self.settings['app']} on {url} (warm parent: {self.warm_count} modules in "
                  f"{self.warm_ms:.0f} ms; first version in {took:.0f} ms); reloads on save, Ctrl+C stops",
                  flush=True)

    def wait_line(self, child: Child, wanted: tuple, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while not self.stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            for line in child.lines(min(left, 0.5), self.wake_r):
                if line == "eof":
                    return None
                if line.startswith(wanted):
                    return line
                self.heard(line)
            self.drain_wake()
            self.reap()
            self.kill_overdue()
        return None

    def retire(self, old: Child) -> None:
        """The old child stops accepting now (it says "closed" soon) and is killed after shutdown_timeout."""
        signal_group(old.pid, signal.SIGTERM)
        old.deadline = time.monotonic() + self.shutdown_timeout
        self.retiring.append(old)

    def wait_closed(self, old: Child) -> None:
        """Until the old child has stopped accepting and closed its idle keep-alive connections."""
        if old.exited:
            return
        left = max(0.0, (old.deadline or time.monotonic()) - time.monotonic())
        if self.wait_line(old, ("closed",), left) is None:
            signal_group(old.pid, signal.SIGKILL)  # frozen (a breakpoint, a busy loop): it cannot take requests any more

    def heard(self, line: str) -> None:
        if line.startswith("imports "):
            self.learner.hear(line)

    def abandon(self, child: Child) -> None:
        signal_group(child.pid, signal.SIGKILL)
        child.close_fds()
        self.retiring.append(child)

    def kill_overdue(self) -> None:
        now = time.monotonic()
        for child in self.retiring:
            if child.deadline is not None and now >= child.deadline and not child.exited:
                signal_group(child.pid, signal.SIGKILL)
                child.deadline = None

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            for child in self.retiring:
                if child.pid == pid:
                    child.exited = True
                    child.close_fds()
            self.retiring = [c for c in self.retiring if not c.exited]
            if self.current and self.current.pid == pid:
                self.current.close_fds()
                self.current = None
                how = f"signal {signal.Signals(os.WTERMSIG(status)).name}" if os.WIFSIGNALED(status) \
                    else f"code {os.WEXITSTATUS(status)}"
                if not self.stopping:
                    say(f"the server process exited ({how}); it starts again on the next save")

    def drain_wake(self) -> None:
        try:
            while os.read(self.wake_r, 512):
                pass
        except (BlockingIOError, OSError):
            pass

    # -- the loop

    def on_signal(self, signum, _frame) -> None:
        if signum == signal.SIGCHLD:
            pass
        else:
            self.stopping = True
        try:
            os.write(self.wake_w, b"x")
        except OSError:
            pass

    def run(self) -> int:
        os.set_blocking(self.wake_r, False)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(sig, self.on_signal)
        become_subreaper()
        settings = self.settings
        self.watcher = Watcher(Rules(project.ROOT, settings.get("watch"), settings.get("ignore"), settings["dotenv"].path), site_dirs())
        self.new_version([], None)
        while not self.stopping:
            fds = [self.wake_r] + ([self.watcher.fileno()] if self.watcher.fileno() is not None else [])
            if self.current:
                fds.append(self.current.status_fd)
            timeout = Watcher.POLL_SECONDS if self.watcher.fileno() is None else None
            if self.retiring:
                timeout = 0.1
            if self.learner.pending:
                timeout = 0  # learn once nothing else is waiting
            ready = select.select(fds, [], [], timeout)[0]
            self.drain_wake()
            self.reap()
            self.kill_overdue()
            if self.current and self.current.status_fd in ready:
                for line in self.current.lines(0, self.wake_r):  # "imports ...", or noise; EOF shows up as its exit
                    self.heard(line)
            if self.stopping:
                break
            if self.watcher.fileno() is None:
                batch = self.watcher.batch()  # polling: a scan per pass
                if batch:
                    self.on_changes(batch)
                    continue
            elif self.watcher.fileno() in ready:
                mark("event")
                self.on_changes(*self.settle())
                continue
            if self.learner.pending:
                mark(f"learned-{self.learner.learn()}")  # idle: a save arriving meanwhile waits for this, once
        return self.stop()

    QUIET = 0.03  # a burst of events (save-and-format, a checkout) has settled after this long without one
    LONGEST = 1.0  # a burst lasting longer is taken as it is

    def settle(self) -> tuple[dict[str, str], Child | None]:
        """The burst of changes that just began, and a child forked for it already.

        The child is forked on the first event that matters, so that it imports while the
        burst settles; each later event that matters abandons it and forks again, so the child
        that takes over is always one forked after the last change. It only takes over after
        the burst has settled (new_version), so a burst still gives one reload.
        """
        batch: dict[str, str] = {}
        child = None
        started = time.monotonic()
        quiet_until = started
        while not self.stopping:
            if self.watcher.take(batch):
                if child:
                    self.abandon(child)
                    child = None
                if set(batch.values()) == {"reload"}:  # a rebuild re-executes the parent: no child for it
                    mark("fork")
                    child = self.fork_child()
                quiet_until = time.monotonic() + self.QUIET
            now = time.monotonic()
            if now >= quiet_until or now - started > self.LONGEST:
                break
            select.select([self.watcher.fileno(), self.wake_r], [], [], quiet_until - now)
            self.drain_wake()
        return batch, child

    def on_changes(self, batch: dict[str, str], child: Child | None = None) -> None:
        kinds = set(batch.values())
        rel = sorted(os.path.relpath(p, project.ROOT) for p, k in batch.items() if k == "reload")
        if child and (self.stopping or not rel or kinds & {"rebuild", "install"}):
            self.abandon(child)
            child = None
        if self.stopping:
            return
        if kinds & {"rebuild", "install"}:
            why = next(os.path.relpath(p, project.ROOT) for p, k in batch.items() if k != "reload")
            raise Rebuild(why)
        saved = []
        for path in batch:
            try:
                saved.append(os.stat(path).st_mtime)
            except OSError:
                pass  # deleted
        # From the save itself (the file's mtime), unless the stamp is not from now (cp -p, an untar).
        saved_at = max(saved) if saved and time.time() - max(saved) < 5 else None
        if rel:
            self.new_version(rel, saved_at, child)

    def stop(self) -> int:
        """Every child gets the shutdown timeout, then SIGKILL: nothing outlives the server."""
        if self.current:
            self.retiring.append(self.current)
            self.current = None
        for child in self.retiring:
            signal_group(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.shutdown_timeout
        while self.retiring and time.monotonic() < deadline:
            time.sleep(0.02)
            self.reap()
        for child in self.retiring:
            signal_group(child.pid, signal.SIGKILL)
        while self.retiring:
            try:
                os.waitpid(self.retiring.pop().pid, 0)
            except ChildProcessError:
                pass
        return 0


class Rebuild(Exception):
    """Installed packages may have changed: the warm parent re-executes itself, keeping the socket."""


def serve(settings: dict, sock: socket.socket) -> int:
    engine = Engine(settings)
    engine.warm()
    try:
        return engine.run()
    except Rebuild as why:
        if os.path.basename(str(why)) == "pyproject.toml":
            # The settings came validated from the CLI at start; this process cannot re-read them.
            say(f"{why} changed: rebuilding the warm parent (dependencies may have changed); "
                "edits to [tool.heavy.serve] take effect when you restart heavy serve")
        else:
            say(f"{why}: installed packages may have changed, rebuilding the warm parent")
        engine.stop()
        return rebuild(sock)


def rebuild(sock: socket.socket) -> int:
    """exec() this script again with the same arguments, handing the bound socket over by fd."""
    fd = sock.fileno()
    os.set_inheritable(fd, True)
    argv = [a for a in sys.argv if not a.startswith("--listen-fd=")]
    os.execv(sys.executable, [sys.executable, *argv[:1], f"--listen-fd={fd}", *argv[1:]])
    return 1
