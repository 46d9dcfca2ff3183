"""The Hot Reload Server: `heavy serve`, the Hot Reload Server profile (under debugpy, which
follows each forked child), and the recording proxy all start this script. See heavydev/serve.py.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys

from heavydev import project
from heavydev.context import start_process


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="heavy serve", description="Heavy Dev's hot reload server")
    parser.add_argument("--root", required=True)
    parser.add_argument("--app", default="", help='"package.module:attribute"')
    parser.add_argument("--framework", default="", help="fastapi, starlette, flask or sanic (ASGI when empty)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--config", default="{}", help="[tool.heavy.serve], as JSON, validated by the CLI")
    parser.add_argument("--listen-fd", type=int, help="a rebuilt parent's inherited socket")
    parser.add_argument("extra", nargs="*", help="EXTRA SERVER ARGS, after --")
    return parser.parse_args(argv)


def main() -> int:
    args = parse(sys.argv[1:])
    project.set_root(args.root)
    from heavydev.serve_env import DotEnv

    dotenv = DotEnv(project.ROOT)  # before anything touches os.environ
    os.chdir(project.ROOT)
    start_process()  # sys.path as `python -m` from the root has it; this folder left out
    config = json.loads(args.config)
    settings = {
        "app": args.app,
        "framework": args.framework,
        "host": args.host,
        "port": args.port,
        "extra": args.extra,
        "shutdown_timeout": float(config.get("shutdown_timeout", 1.0)),
        "watch": config.get("watch"),
        "ignore": config.get("ignore"),
        "command": config.get("command"),
        "token": secrets.token_hex(8),
        "dotenv": dotenv,
    }
    from heavydev.proc import die_with_parent
    from heavydev.serve_restart import missing_server, plain_restart

    die_with_parent()
    if not settings["app"] and not settings["command"]:
        sys.stderr.write('heavy serve: no app object found: set app = "package.module:app" under [tool.heavy] in pyproject.toml\n')
        return 2
    missing = missing_server(settings)
    if missing:  # one line, before a child's traceback or a restart loop could say it less clearly
        sys.stderr.write(f"heavy serve: {missing}\n")
        return 2
    if settings["command"] or not hasattr(os, "fork"):
        return plain_restart(settings)
    from heavydev.serve import listen, serve

    sock = listen(args.host, args.port, args.listen_fd)
    settings["fd"] = sock.fileno()
    settings["port"] = sock.getsockname()[1]  # --port 0: the port the system chose, for the health check and the URL shown
    return serve(settings, sock)


if __name__ == "__main__":
    sys.exit(main())
