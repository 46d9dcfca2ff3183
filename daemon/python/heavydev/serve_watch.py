"""What the serve engine watches, and telling a reload from a rebuild.

Watching happens in the Python parent, not in Node: the Hot Reload Server profile runs
this engine directly under debugpy (and the recording proxy of the next issue starts it
too), so there is no Node process to tell it about saves. On Linux it uses inotify through
ctypes: no dependency for the project to install, no thread, no CPU while idle; the fd
sits in the parent's select() loop. Elsewhere it polls the stamps twice a second.
"""

from __future__ import annotations

import os
import re
import struct
import sys
import time

# Never project source: environments, caches, VCS and build output. Tests are pytest's.
DEFAULT_IGNORE = [
    ".venv/**", "venv/**", "env/**", ".git/**", ".hg/**", "node_modules/**", "**/__pycache__/**",
    ".heavy/**", ".pytest_cache/**", ".mypy_cache/**", ".ruff_cache/**", ".tox/**", ".nox/**",
    "build/**", "dist/**", "**/site-packages/**", "tests/**", "test/**", "**/tests/**",
    "**/test_*.py", "**/*_test.py", "**/conftest.py",
]
DEFAULT_WATCH = ["**/*.py", ".env"]
# A change to these means the installed packages may differ: the warm parent is rebuilt.
REBUILD = ["requirements*.txt", "requirements/*.txt", "*.lock", "pyproject.toml", "setup.cfg", "setup.py",
           "Pipfile", "constraints*.txt"]
# What an install leaves at the top of site-packages.
INSTALL_SUFFIXES = (".dist-info", ".egg-info", ".pth", ".egg-link")
DIR_NAMES_SKIPPED = {".venv", "venv", ".git", ".hg", "node_modules", "__pycache__", ".heavy", ".pytest_cache",
                     ".mypy_cache", ".ruff_cache", ".tox", ".nox", "site-packages"}


def glob_regex(pattern: str) -> re.Pattern:
    """A glob over root-relative POSIX paths: `**/` any folders (or none), `*` and `?` within one name."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


class Rules:
    def __init__(self, root: str, watch: list[str] | None, ignore: list[str] | None, env_file: str | None = None):
        self.root = root
        if watch is None and env_file and os.path.dirname(os.path.abspath(env_file)).startswith(root):
            # [tool.heavy] env_file in place of .env
            watch = ["**/*.py", os.path.relpath(env_file, root).replace(os.sep, "/")]
        self.watch = [glob_regex(p) for p in (watch or DEFAULT_WATCH)]
        self.ignore = [glob_regex(p) for p in DEFAULT_IGNORE + list(ignore or [])]
        self.rebuild = [glob_regex(p) for p in REBUILD]

    def kind(self, rel: str) -> str | None:
        """"reload", "rebuild" or None for a root-relative path."""
        if any(p.match(rel) for p in self.ignore):
            return None
        if any(p.match(rel) for p in self.rebuild):
            return "rebuild"
        if any(p.match(rel) for p in self.watch):
            return "reload"
        return None

    def walk_dir(self, rel: str) -> bool:
        name = rel.rsplit("/", 1)[-1]
        return name not in DIR_NAMES_SKIPPED and not any(p.match(rel + "/") for p in self.ignore)


# ---------------------------------------------------------------- inotify

IN_MODIFY, IN_CLOSE_WRITE, IN_MOVED_FROM, IN_MOVED_TO = 0x2, 0x8, 0x40, 0x80
IN_CREATE, IN_DELETE, IN_DELETE_SELF, IN_IGNORED, IN_ISDIR = 0x100, 0x200, 0x400, 0x8000, 0x40000000
IN_NONBLOCK, IN_CLOEXEC = 0o4000, 0o2000000
HEADER = struct.Struct("iIII")


class Watcher:
    """Yields batches of changed paths; `fileno()` is selectable (inotify) or None (polling)."""

    def __init__(self, rules: Rules, extra_dirs: list[str] = ()):
        self.rules = rules
        self.extra_dirs = [d for d in extra_dirs if os.path.isdir(d)]  # site-packages: installs only
        self.fd = None
        self.dirs: dict[int, str] = {}
        self.stamps: dict[str, tuple] = {}
        # HEAVY_WATCH_POLL=1: folders inotify does not see into (NFS, WSL's /mnt/c, some container mounts).
        if sys.platform.startswith("linux") and os.environ.get("HEAVY_WATCH_POLL", "") in ("", "0"):
            try:
                import ctypes

                self.libc = ctypes.CDLL(None, use_errno=True)
                fd = self.libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
                if fd >= 0:
                    self.fd = fd
            except (OSError, AttributeError):
                self.fd = None
        if self.fd is not None:
            self._add_tree(rules.root)
            for d in self.extra_dirs:
                self._add(d, IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM)
        else:
            self.stamps = self._scan()

    def fileno(self) -> int | None:
        return self.fd

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    # -- inotify

    def _add(self, path: str, mask: int) -> None:
        wd = self.libc.inotify_add_watch(self.fd, os.fsencode(path), mask)
        if wd >= 0:
            self.dirs[wd] = path

    def _add_tree(self, top: str) -> None:
        mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE
        for here, subdirs, _ in os.walk(top):
            self._add(here, mask)
            subdirs[:] = [d for d in subdirs if self.rules.walk_dir(self._rel(os.path.join(here, d)))]

    def _rel(self, path: str) -> str:
        return os.path.relpath(path, self.rules.root).replace(os.sep, "/")

    def _read_events(self) -> list[tuple[str, int]]:
        out = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return out
            offset = 0
            while offset < len(data):
                wd, mask, _cookie, length = HEADER.unpack_from(data, offset)
                name = data[offset + HEADER.size: offset + HEADER.size + length].rstrip(b"\0")
                offset += HEADER.size + length
                base = self.dirs.get(wd)
                if mask & IN_IGNORED:
                    self.dirs.pop(wd, None)
                if base is None or not name:
                    continue
                out.append((os.path.join(base, os.fsdecode(name)), mask))

    def _classify(self, path: str, mask: int, batch: dict[str, str]) -> bool:
        """Adds what `path` changing means to `batch`; whether it means anything (a file written again counts)."""
        if any(path.startswith(d + os.sep) for d in self.extra_dirs):
            if path.endswith(INSTALL_SUFFIXES):
                batch[path] = "install"
                return True
            return False
        rel = self._rel(path)
        if mask & IN_ISDIR:
            found = False
            if mask & (IN_CREATE | IN_MOVED_TO) and self.rules.walk_dir(rel):
                self._add_tree(path)
                # Files written before the watch existed (a package moved or checked out in).
                for here, subdirs, files in os.walk(path):
                    subdirs[:] = [d for d in subdirs if self.rules.walk_dir(self._rel(os.path.join(here, d)))]
                    for f in files:
                        kind = self.rules.kind(self._rel(os.path.join(here, f)))
                        if kind:
                            batch[os.path.join(here, f)] = kind
                            found = True
            return found
        if mask & IN_CREATE:
            return False  # the write that follows ends with IN_CLOSE_WRITE
        kind = self.rules.kind(rel)
        if kind:
            batch[path] = kind
        return bool(kind)

    def take(self, batch: dict[str, str]) -> bool:
        """Adds the changes that arrived so far to `batch`, without waiting: whether any matters."""
        found = False
        for path, mask in self._read_events():
            found = self._classify(path, mask, batch) or found
        return found

    def batch(self, quiet: float = 0.03, longest: float = 1.0) -> dict[str, str]:
        """The changes since the last call, once none has come for `quiet` seconds.

        {path: "reload" | "rebuild" | "install"}. A save-and-format, or a checkout touching
        fifty files, becomes one batch, so one reload.
        """
        import select

        batch: dict[str, str] = {}
        if self.fd is None:
            return self._poll_batch()
        started = time.monotonic()
        while True:
            for path, mask in self._read_events():
                self._classify(path, mask, batch)
            if time.monotonic() - started > longest:
                return batch
            if not select.select([self.fd], [], [], quiet)[0]:
                return batch

    # -- polling, where there is no inotify

    def _scan(self) -> dict[str, tuple]:
        stamps = {}
        for here, subdirs, files in os.walk(self.rules.root):
            subdirs[:] = [d for d in subdirs if self.rules.walk_dir(self._rel(os.path.join(here, d)))]
            for f in files:
                path = os.path.join(here, f)
                if self.rules.kind(self._rel(path)):
                    try:
                        st = os.stat(path)
                        stamps[path] = (st.st_mtime_ns, st.st_size)
                    except OSError:
                        pass
        for d in self.extra_dirs:
            try:
                stamps[d] = (os.stat(d).st_mtime_ns, 0)
            except OSError:
                pass
        return stamps

    def _poll_batch(self) -> dict[str, str]:
        now = self._scan()
        batch = {}
        for path in set(now) | set(self.stamps):
            if now.get(path) != self.stamps.get(path):
                batch[path] = "install" if path in self.extra_dirs else self.rules.kind(self._rel(path)) or "reload"
        self.stamps = now
        return batch

    POLL_SECONDS = 0.5
