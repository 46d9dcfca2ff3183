"""The Record Traffic profile: the app runs in this process (so the debugger VS Code started
on it hits breakpoints), served by the hot-reload engine (heavy_serve.py) on a free private
port, and `heavy record` runs beside it as the recording proxy on the usual port.

    record_traffic.py --node NODE --root ROOT --port PORT -- HEAVY_SERVE ARGS (without host/port)

The recorder notices when this process goes away (its parent changes), however it is stopped,
and writes the HAR then.
"""

from __future__ import annotations

import os
import runpy
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(os.path.dirname(HERE))
HEAVY_JS = os.path.join(PACKAGE, "dist", "heavy.js")
SERVE = os.path.join(PACKAGE, "daemon", "python", "heavy_serve.py")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str]) -> None:
    if "--" not in argv:
        sys.exit("record_traffic.py: usage: --node NODE --root ROOT --port PORT -- SERVE ARGS")
    split = argv.index("--")
    own, serve_args = argv[:split], argv[split + 1:]
    opts = dict(zip(own[0::2], own[1::2]))
    root, port, node = opts["--root"], opts["--port"], opts["--node"]
    app_port = free_port()
    # In VS Code NODE is Electron, which behaves as Node with this variable.
    env = dict(os.environ, ELECTRON_RUN_AS_NODE="1")
    # A session of its own: stopping the debug session kills this process's group (debugpy's
    # launcher does), which would take the recorder with it before it wrote the file. On its
    # own it outlives the app by the moment it needs: it sees its parent go and writes the HAR.
    subprocess.Popen([node, HEAVY_JS, "record", "--root", root, "--port", port, "--app-port", str(app_port)], env=env,
                     start_new_session=True)
    sys.argv = [SERVE, "--root", root, "--host", "127.0.0.1", "--port", str(app_port), *serve_args]
    sys.path.insert(0, os.path.dirname(SERVE))
    runpy.run_path(SERVE, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
