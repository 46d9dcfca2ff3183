"""The project's .env, read again for every version of the code.

Whoever started the engine (`heavy serve`, the profiles, VS Code) merged the .env into its
environment once, at start, as dotenv does: variables the user already had win over the
file's. On a .env change each new child must get the file's new values with that same
precedence, so the environment the engine started with is split here, once, into the
user's own variables and the ones that came from the file.
"""

from __future__ import annotations

import json
import os
import re

# Node's dotenv (daemon/project/detect.ts parses with it), ported: the same file gives the same values.
LINE = re.compile(
    r"^\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*\"(?:\\\"|[^\"])*\"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?$",
    re.MULTILINE,
)
# Set by serveCommand.ts: the .env's keys the user's own environment already had (they win).
USER_KEYS_VAR = "HEAVY_SERVE_USER_ENV"


def parse(text: str) -> dict[str, str]:
    out = {}
    for match in LINE.finditer(text.replace("\r\n", "\n").replace("\r", "\n")):
        value = (match.group(2) or "").strip()
        quote = value[:1]
        value = re.sub(r"^(['\"`])([\s\S]*)\1$", r"\2", value)
        if quote == '"':
            value = value.replace("\\n", "\n").replace("\\r", "\r")
        out[match.group(1)] = value
    return out


def env_file(root: str) -> str:
    """[tool.heavy] env_file, else .env, as detect.ts resolves it."""
    name = ".env"
    try:
        import tomllib

        with open(os.path.join(root, "pyproject.toml"), "rb") as f:
            name = tomllib.load(f).get("tool", {}).get("heavy", {}).get("env_file") or name
    except Exception:
        pass  # no pyproject, no tomllib (< 3.11): the default
    return os.path.normpath(os.path.join(root, name))


def read(path: str) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as f:
            return parse(f.read())
    except OSError:
        return {}


class DotEnv:
    """Made in the parent before anything else; `apply()` runs in each new child before the app imports."""

    def __init__(self, root: str, environ: dict[str, str] | None = None):
        if environ is None:
            environ = dict(os.environ)
            os.environ.pop(USER_KEYS_VAR, None)  # not the app's
        environ = dict(environ)
        self.path = env_file(root)
        at_start = read(self.path)
        hint = environ.pop(USER_KEYS_VAR, None)
        if hint is not None:
            try:
                user = set(json.loads(hint))
            except ValueError:
                user = set()
            from_file = {k for k in at_start if k not in user and k in environ}
        else:
            # Started without the hint (VS Code, `heavy profiles run`): a variable holding exactly
            # the file's value came from the file.
            from_file = {k for k, v in at_start.items() if environ.get(k) == v}
        self.base = {k: v for k, v in environ.items() if k not in from_file}  # the user's own
        self.applied = {k: environ[k] for k in from_file}

    def apply(self) -> None:
        """Only the file's variables change: whatever else the parent holds (a debugger's own) stays."""
        from_file = {k: v for k, v in read(self.path).items() if k not in self.base}
        for key in self.applied:
            if key not in from_file:
                os.environ.pop(key, None)  # gone from the file
        os.environ.update(from_file)
