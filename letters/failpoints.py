"""Named points where the crash tests kill a build (LETTERS_KILL_AT=<name>).

A build must leave the journal and `out/` in agreement whatever the moment it dies at;
the tests prove it by killing it with SIGKILL at each of these points in turn."""

import os
import signal


def checkpoint(name: str) -> None:
    if os.environ.get("LETTERS_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
