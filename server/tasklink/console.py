"""`tasklink serve` (stdio) in a terminal: it says what it waits for, and Ctrl-C stops it.

The MCP SDK reads stdin in a worker thread that no cancellation reaches, so an interrupted server used
to wait for one more line before it could stop. Here the server reads stdin through a reader that a
SIGINT handler can wake: Ctrl-C ends the input as Ctrl-D does, the server shuts down as it does at the
end of its input (the state store closed, nothing cut off), and the process exits 130. A second Ctrl-C
exits at once.
"""

from __future__ import annotations

import io
import os
import select
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

WAITING = (
    "tasklink: waiting for an MCP client on stdin (MCP clients start `tasklink serve` themselves; "
    "to try a tool here, use `tasklink call`). Stop with Ctrl-C or Ctrl-D."
)
INTERRUPTED_EXIT = 130


def on_terminal() -> bool:
    """Whether a person is at stdin (a terminal), not an MCP client (a pipe)."""

    try:
        return os.isatty(0)
    except OSError:
        return False


class WakeableInput(io.RawIOBase):
    """Reads a descriptor until it ends or `wake_fd` becomes readable (then: the end of the input).

    It has no `fileno()`, so the SDK reads it as given instead of claiming descriptor 0 itself."""

    def __init__(self, fd: int, wake_fd: int) -> None:
        super().__init__()
        self._fd = fd
        self._wake = wake_fd

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        while True:
            ready, _, _ = select.select([self._fd, self._wake], [], [])
            if self._wake in ready:
                return 0
            try:
                data = os.read(self._fd, len(view))
            except BlockingIOError:
                continue
            view[: len(data)] = data
            return len(data)


@contextmanager
def interruptible_stdin() -> Iterator[Callable[[], bool]]:
    """While the block runs, stdin is read through a WakeableInput that SIGINT wakes (descriptor 0 points
    at the null device, so nothing else reads the client's messages); yields whether SIGINT came."""

    interrupted: list[bool] = []
    if sys.platform == "win32":  # no select() on pipes there: the SDK's own reading, as before
        yield lambda: bool(interrupted)
        return
    try:
        private = os.dup(0)
    except OSError:  # no stdin at all
        yield lambda: bool(interrupted)
        return
    os.set_inheritable(private, False)
    wake_read, wake_write = os.pipe()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if interrupted:
            os._exit(INTERRUPTED_EXIT)  # a second Ctrl-C: at once
        interrupted.append(True)
        os.write(wake_write, b"\0")

    saved_stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BufferedReader(WakeableInput(private, wake_read)), encoding="utf-8")
    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield lambda: bool(interrupted)
    finally:
        signal.signal(signal.SIGINT, previous)
        os.write(wake_write, b"\0")  # a reader still waiting returns (its descriptors stay open: never reused)
        sys.stdin = saved_stdin
        os.dup2(private, 0)
