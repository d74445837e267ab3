"""Worker processes (joblib/loky in sweeps and the sensitivity analysis) end with their parent.

loky keeps idle workers alive for minutes, and a worker blocked in a long simulation does not
notice that the process that started it was killed; each such worker (~250 MB) would then
run on with nobody to report to. :func:`watch_parent` starts, once per process, a daemon
thread that ends the process as soon as its parent is gone (it was re-parented).
"""

from __future__ import annotations

import os
import threading

PARENT_ENV = "ROUTESIM_PARENT_PID"  # set by the launching process; its workers inherit it
_started = False


def mark_parent() -> None:
    """Record this process as the one whose workers must die with it."""
    os.environ[PARENT_ENV] = str(os.getpid())


def watch_parent(interval_s: float = 0.5) -> None:
    """In a worker process, end the process when its parent dies; elsewhere do nothing."""
    global _started
    launcher = os.environ.get(PARENT_ENV)
    if _started or launcher is None or launcher == str(os.getpid()):
        return
    _started = True
    parent = os.getppid()

    def watch() -> None:
        event = threading.Event()
        while not event.wait(interval_s):
            if os.getppid() != parent:  # re-parented: whoever started us is gone
                os._exit(70)

    threading.Thread(target=watch, name="routesim-watch-parent", daemon=True).start()
