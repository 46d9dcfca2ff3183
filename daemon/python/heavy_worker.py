"""The Python side of Heavy Dev's warm test daemon.

The daemon (Node) starts this with the project's interpreter, or the Test Daemon profile
starts it under the debugger. It connects back to the daemon's private Unix socket and
keeps warm levels (pytest; third-party modules; the project's own modules), forking a
fresh child of the right level for every run, so no run sees project code older than the
files on disk, nor state left by another run. See heavydev/levels.py.

Wire format on every connection: one JSON object per line. A run's child opens two
connections of its own: "out" (raw terminal bytes after the hello line, so even a
crashing test's output arrives) and "events" (structured per-test results).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys

from heavydev import project
from heavydev.proc import runtime_dir
from heavydev.levels import run_cold, serve


def daemon_worker_socket(root: str) -> str:
    """Where the daemon for `root` waits for its worker; the same rule as daemon/server/paths.ts (FNV-1a of the root)."""
    base = runtime_dir()
    digest = 0xCBF29CE484222325
    for byte in os.path.abspath(root).encode():
        digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return os.path.join(base, f"{digest:016x}.worker.sock")


def main() -> None:
    parser = argparse.ArgumentParser(description="Heavy Dev's warm pytest worker")
    parser.add_argument("--root", required=True)
    parser.add_argument("--connect", help="the daemon's worker socket")
    parser.add_argument("--attach", action="store_true", help="started by the Test Daemon profile: find the daemon's socket")
    parser.add_argument("--run", help="run once, cold, with this JSON request (no warm level matched it)")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    project.set_root(args.root)
    os.chdir(project.ROOT)
    socket_path = args.connect or os.environ.get("HEAVY_WORKER_SOCKET") or (daemon_worker_socket(project.ROOT) if args.attach else None)
    if not socket_path or (args.attach and not os.path.exists(socket_path)):
        sys.stderr.write(f"heavy: no test daemon is running for {project.ROOT}: start it with `heavy daemon start` (the Test Daemon profile starts it for you)\n")
        sys.exit(2)
    # Found, not imported: level 0 imports it while watching what its import reads.
    if importlib.util.find_spec("pytest") is None:
        sys.stderr.write(f"heavy: pytest is not installed in {sys.executable}. Install it: {sys.executable} -m pip install pytest\n")
        sys.exit(3)
    if args.run:
        # The request comes on stdin (its environment may be too large for an argument); then
        # stdin is /dev/null, as it is for a forked run.
        request = json.loads(sys.stdin.read() if args.run == "-" else args.run)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        run_cold(socket_path, request)
    if args.attach:
        print(f"heavy: serving the test daemon for {project.ROOT} under the debugger; tests run from the editor or `heavy test` stop at breakpoints")
    serve(socket_path, args.pytest_args, attached=args.attach)


if __name__ == "__main__":
    main()
