"""Talking to the daemon: one JSON object per line on its private Unix socket."""

from __future__ import annotations

import json
import socket
import threading


def connect(path: str, hello: dict) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    sock.sendall((json.dumps(hello) + "\n").encode())
    return sock


def send(sock: socket.socket, message: dict, lock: threading.Lock | None = None) -> None:
    data = (json.dumps(message, default=str) + "\n").encode()
    if lock:
        with lock:
            sock.sendall(data)
    else:
        sock.sendall(data)
