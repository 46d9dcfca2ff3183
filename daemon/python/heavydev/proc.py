"""Process plumbing shared by the test worker and the serve engine: Linux prctl calls (no-ops
elsewhere) and the private runtime folder. No imports beyond the standard library, so the
no-fork fallback (Windows) and the worker's launcher can use it before anything else loads.
"""

from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except Exception:
        pass  # no libc prctl (musl without it, a sandbox): the behaviour is a nicety, not the job


def become_subreaper() -> None:
    """Orphans of our children (a test's leftover process, a server's grandchild whose parent
    died) are reparented to us, not to init, so we reap them and stopping can find them."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1)


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """`sig` when whatever started this process dies outright (kill -9 of the CLI, the debug
    adapter): nothing is left serving or running without its owner. Safe in a preexec_fn."""
    _prctl(PR_SET_PDEATHSIG, sig)


def runtime_dir() -> str:
    """The user's private folder for Heavy Dev's sockets and caches; the same rule as
    daemon/server/paths.ts ($XDG_RUNTIME_DIR/heavy, else the temp folder's heavy-UID)."""
    import tempfile

    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "heavy")
    return os.path.join(tempfile.gettempdir(), f"heavy-{os.getuid()}")
