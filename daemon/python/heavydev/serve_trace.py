"""Opt-in timestamps of a reload's stages (HEAVY_SERVE_TRACE=1), to see where save-to-serving time goes.

Each mark is one stderr line "heavy trace: STAGE EPOCH_MS PID"; off, a mark costs one test.
"""

from __future__ import annotations

import os
import sys
import time

ON = bool(os.environ.get("HEAVY_SERVE_TRACE"))


def mark(stage: str) -> None:
    if ON:
        sys.stderr.write(f"heavy trace: {stage} {time.time() * 1000:.1f} {os.getpid()}\n")
        sys.stderr.flush()
