"""One version of the code: a child forked from the warm serve parent imports the app and serves it.

The parent talks to each child over two pipes. The child says, one line each:
  "loaded"           the app imported (and, for ASGI, its lifespan started): safe to retire the old child;
  "failed SUMMARY"   it did not (the traceback is already on stderr);
  "started"          it accepts connections on the shared socket;
  "closed"           it stopped accepting, after SIGTERM (it finishes what it has, then exits);
  "imports A B"      third-party modules it imported while serving (serve_learn: the parent imports them too).
The parent writes one byte on the other pipe, "go", when it has told the old child to stop
accepting; it prints the reload line once the old child said "closed" (its idle keep-alive
connections closed too), so that no request after that line can reach the old code.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import traceback

from . import project
from .serve_learn import Reporter
from .serve_trace import mark

# Answered by the child itself, never by the app: the parent's proof that this child (by
# pid) is the one answering on the socket. A header token keeps it off every real request.
HEALTH_PATH = "/__heavy__/health"


class Channel:
    def __init__(self, status_fd: int, go_fd: int):
        self.status_fd = status_fd
        self.go_fd = go_fd

    def say(self, line: str) -> None:
        try:
            os.write(self.status_fd, (line.replace("\n", " ") + "\n").encode())
        except OSError:
            pass  # the parent is gone; PR_SET_PDEATHSIG ends this child

    def wait_go(self) -> None:
        if os.read(self.go_fd, 1) != b"g":
            os._exit(0)  # abandoned: a newer version won, or the server stops


# The warm parent, which imports this module before it forks any child.
PARENT_PID = os.getpid()


def die_with_parent() -> None:
    """SIGKILL when the parent dies, however it dies (even kill -9): no child outlives the server."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass
    # Died before the prctl took: an orphan is adopted by init or by the nearest subreaper (a
    # terminal, systemd --user), so the test is "not the parent any more", not "pid 1".
    if os.getppid() != PARENT_PID:
        os._exit(0)


def failure_summary(exc: BaseException) -> str:
    """"SyntaxError in app/routes.py:12": the project's file nearest to the error."""
    where = None
    if isinstance(exc, SyntaxError) and exc.filename:
        where = (exc.filename, exc.lineno or 0)
    else:
        for frame, lineno in traceback.walk_tb(exc.__traceback__):
            path = frame.f_code.co_filename
            if os.path.abspath(path).startswith(project.ROOT + os.sep) and "site-packages" not in path:
                where = (path, lineno)
    name = type(exc).__name__
    if where is None:
        return f"{name}: {exc}"
    rel = os.path.relpath(os.path.abspath(where[0]), project.ROOT)
    return f"{name} in {rel}:{where[1]}"


def print_from_project(exc: BaseException) -> None:
    """The traceback from the first frame that is not ours or importlib's, as `python -c "import app"` shows it."""
    here = os.path.dirname(os.path.abspath(__file__))
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if not (name.startswith(here) or name.startswith("<frozen") or f"{os.sep}importlib{os.sep}" in name):
            break
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb)
    sys.stderr.flush()


def import_app(ref: str):
    import importlib

    module_name, _, attr = ref.partition(":")
    target = importlib.import_module(module_name)
    for part in (attr or "app").split("."):
        target = getattr(target, part)
    return target


# ---------------------------------------------------------------- ASGI (FastAPI, Starlette) on uvicorn


def uvicorn_config(app, fd: int, extra: list[str], shutdown_timeout: float):
    """A uvicorn.Config for `app` on the inherited fd; EXTRA SERVER ARGS parsed by uvicorn's own CLI."""
    import inspect

    import uvicorn

    options: dict = {}
    if extra:
        context = uvicorn.main.make_context("uvicorn", ["heavy:app", *extra])
        accepted = set(inspect.signature(uvicorn.Config.__init__).parameters)
        owned = {"app", "host", "port", "uds", "fd", "reload", "reload_dirs", "reload_delay", "reload_includes",
                 "reload_excludes", "workers", "factory"}
        defaults = {p.name: p.default for p in uvicorn.main.params}
        options = {k: v for k, v in context.params.items()
                   if k in accepted and k not in owned and v != defaults.get(k)}
    options.setdefault("timeout_graceful_shutdown", shutdown_timeout)
    return uvicorn.Config(app, fd=fd, **options)


def patient_protocol(base):
    """uvicorn's HTTP protocol, except that shutting down an idle connection whose next request
    has already arrived answers that request first (then closes), instead of resetting it."""

    class Patient(base):
        def shutdown(self, tries: int = 0):
            cycle = getattr(self, "cycle", None)
            idle = cycle is None or getattr(cycle, "response_complete", False)
            if idle and tries < 20 and request_waiting(self):
                asyncio.get_running_loop().call_later(0.005, self.shutdown, tries + 1)
                return
            super().shutdown()

    return Patient


def request_waiting(connection) -> bool:
    """Whether an idle keep-alive connection already holds bytes of its next request."""
    try:
        fd = connection.transport.get_extra_info("socket").fileno()
        with socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM) as peek:
            return bool(peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except (OSError, AttributeError, ValueError):
        return False


def health_asgi(app, token: str):
    pid = str(os.getpid()).encode()

    async def wrapper(scope, receive, send):
        if scope["type"] == "http" and scope.get("path") == HEALTH_PATH and \
                (b"x-heavy-token", token.encode()) in scope.get("headers", ()):
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain"),
                                                                                 (b"content-length", str(len(pid)).encode())]})
            await send({"type": "http.response.body", "body": pid})
            return
        await app(scope, receive, send)

    return wrapper


def quiet_health_log() -> None:
    import logging

    class NoHealth(logging.Filter):
        def filter(self, record):
            return HEALTH_PATH not in str(record.args)

    logging.getLogger("uvicorn.access").addFilter(NoHealth())


def prepare_uvicorn(settings: dict, app=None):
    """Everything uvicorn imports to serve, without serving: the probe calls it, so the parent holds it warm."""
    config = uvicorn_config(app if app is not None else (lambda *a: None), settings["fd"], settings["extra"],
                            settings["shutdown_timeout"])
    config.load()
    config.get_loop_factory()
    return config


def serve_asgi(app, settings: dict, channel: Channel, reporter: Reporter) -> None:
    import uvicorn

    config = uvicorn_config(app, settings["fd"], settings["extra"], settings["shutdown_timeout"])
    config.load()
    config.loaded_app = health_asgi(config.loaded_app, settings["token"])
    config.http_protocol_class = patient_protocol(config.http_protocol_class)
    quiet_health_log()
    sock = socket.socket(fileno=os.dup(settings["fd"]))

    class ChildServer(uvicorn.Server):
        closing = False

        async def startup(self, sockets=None):
            # The lifespan starts while the old child still serves; the socket is taken only on "go".
            await self.lifespan.startup()
            mark("lifespan")
            if self.lifespan.should_exit:
                channel.say("failed the app's lifespan startup failed")
                os._exit(3)
            channel.say("loaded")
            loop = asyncio.get_running_loop()
            go = loop.create_future()
            loop.add_reader(channel.go_fd, lambda: go.done() or go.set_result(os.read(channel.go_fd, 1)))
            if await go != b"g":
                os._exit(0)
            loop.remove_reader(channel.go_fd)

            async def started_already():
                return None

            self.lifespan.startup = started_already
            await super().startup(sockets=sockets)
            mark("listening")
            channel.say("started")

        async def on_tick(self, counter: int) -> bool:
            reporter.check()  # every 0.1 s: what the first requests imported reaches the parent soon
            return await super().on_tick(counter)

        def handle_exit(self, sig, frame):
            # uvicorn notices should_exit only on its next 0.1 s tick: stop accepting and close
            # idle keep-alive connections now, so the new child alone takes new requests.
            if not self.closing and getattr(self, "servers", None):
                self.closing = True
                try:
                    asyncio.get_running_loop().call_soon_threadsafe(self.stop_accepting)
                except RuntimeError:
                    pass
            super().handle_exit(sig, frame)

        def stop_accepting(self):
            for server in self.servers:
                server.close()
            # A connection accepted an instant ago may hold a request not read yet; closing it
            # now would reset it. After a few milliseconds its request is in flight (it will be
            # answered, then closed) and an idle keep-alive connection is closed.
            asyncio.get_running_loop().call_later(0.02, self.close_connections)

        def close_connections(self):
            for connection in list(self.server_state.connections):
                connection.shutdown()
            channel.say("closed")

    ChildServer(config).run(sockets=[sock])


# ---------------------------------------------------------------- WSGI (Flask) on werkzeug


def health_wsgi(app, token: str):
    pid = str(os.getpid()).encode()

    def wrapper(environ, start_response):
        if environ.get("PATH_INFO") == HEALTH_PATH and environ.get("HTTP_X_HEAVY_TOKEN") == token:
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(pid)))])
            return [pid]
        return app(environ, start_response)

    return wrapper


def serve_wsgi(app, settings: dict, channel: Channel, reporter: Reporter) -> None:
    import threading
    import time

    from werkzeug.serving import WSGIRequestHandler, make_server

    class Handler(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):
            if not self.path.startswith(HEALTH_PATH):  # the parent's probe stays out of the log
                super().log_request(*args, **kwargs)

    channel.say("loaded")
    channel.wait_go()
    if "--debugger" in settings["extra"]:
        from werkzeug.debug import DebuggedApplication

        app = DebuggedApplication(app, evalex=True)
    server = make_server(settings["host"], settings["port"], health_wsgi(app, settings["token"]), threaded=True,
                         fd=settings["fd"], request_handler=Handler)
    server.service_actions = reporter.check  # serve_forever calls it every poll_interval

    def stop(*_):
        def close():
            server.shutdown()
            channel.say("closed")

        threading.Thread(target=close, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    channel.say("started")
    server.serve_forever(poll_interval=0.05)
    deadline = time.monotonic() + settings["shutdown_timeout"]
    while threading.active_count() > 1 and time.monotonic() < deadline:
        time.sleep(0.02)  # requests in flight finish, within the shutdown timeout


# ---------------------------------------------------------------- Sanic, single process


def serve_sanic(app, settings: dict, channel: Channel) -> None:
    """Untested here: Sanic is not in this machine's package index. Sanic serves one process on our socket."""
    channel.say("loaded")
    channel.wait_go()
    sock = socket.socket(fileno=os.dup(settings["fd"]))

    @app.listener("after_server_start")
    async def _started(*_):
        channel.say("started")

    @app.listener("before_server_stop")
    async def _closing(*_):
        channel.say("closed")

    app.run(sock=sock, single_process=True, access_log=True, motd=False)


# ---------------------------------------------------------------- the child


def run_child(settings: dict, channel: Channel) -> None:
    """In the forked child: import this version of the app and serve it. Never returns."""
    code = 0
    try:
        os.setpgid(0, 0)  # its own group: the parent stops it and whatever it started, and the terminal's ^C goes to the parent
        die_with_parent()
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        mark("child")
        reporter = Reporter(channel.say)  # the modules this version has from the warm parent
        try:
            settings["dotenv"].apply()  # the .env as it is now, for this version
            app = import_app(settings["app"])
            mark("imported")
        except BaseException as exc:
            print_from_project(exc)
            channel.say("failed " + failure_summary(exc))
            os._exit(1)
        framework = settings["framework"]
        if framework == "flask":
            serve_wsgi(app, settings, channel, reporter)
        elif framework == "sanic":
            serve_sanic(app, settings, channel)
        else:
            serve_asgi(app, settings, channel, reporter)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
