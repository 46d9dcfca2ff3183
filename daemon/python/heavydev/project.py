"""The project root, and which modules are the project's own."""

from __future__ import annotations

import os

ROOT = os.getcwd()


def set_root(root: str) -> None:
    global ROOT
    ROOT = os.path.abspath(root)


def is_third_party(module) -> bool:
    path = getattr(module, "__file__", None)
    if not path:
        return True  # builtins and namespace packages cost nothing to keep
    path = os.path.abspath(path)
    if os.sep + "site-packages" + os.sep in path or os.sep + "dist-packages" + os.sep in path:
        return True
    return not path.startswith(ROOT + os.sep)


def is_test_module(name: str, module) -> bool:
    """Test modules and conftest files are pytest's to import (it rewrites their asserts)."""
    parts = name.split(".")
    if any(p in ("tests", "test", "testing", "conftest") or p.startswith("test_") or p.endswith("_test") for p in parts):
        return True
    path = getattr(module, "__file__", None) or ""
    return os.path.basename(path) == "conftest.py"
