"""Shared pytest fixtures, for the tests in tests/ and the doctests in scclast/.

Every test runs with outbound network connections blocked except to the loopback
interface, so a test that would reach the internet fails loudly instead of passing
by luck on a connected machine.
"""

from __future__ import annotations

import ipaddress
import os
import socket

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("SCCLAST_NO_PROGRESS", "1")


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX sockets are local by definition
        return True
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_loopback(address):
        raise RuntimeError(f"test tried to reach the network: {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_loopback(address):
        raise RuntimeError(f"test tried to reach the network: {address!r}")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Downloads and lock files go to a per-test folder, never the user's cache."""
    monkeypatch.setenv("SCCLAST_DATA_DIR", str(tmp_path_factory.mktemp("scclast_cache")))


@pytest.fixture(autouse=True)
def _restore_scclast_logger():
    """In-process CLI calls point the 'scclast' logger at pytest's captured streams;
    put it back afterwards so later tests see a clean logger."""
    import logging

    logger = logging.getLogger("scclast")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]
