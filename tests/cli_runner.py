"""Run many command-line invocations in one process: import once, fork a child per case.

``python tests/cli_runner.py cases.json results.json``: each case is
``{"id", "command" (routesim | routesim-analyze | routesim-sensitivity | routesim-calibrate |
routesim-discover),
"args", "env", "cwd"}``; each child gets a fresh Hydra, its own working folder and real
stdout/stderr (redirected to a file), calls the console script's main() and exits with its
status, so what is recorded is what a user's shell would see, at a fraction of the cost of
one process per case (~1.5 s of imports each). Two children run at a time.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

MAINS = {
    "routesim": ("routesim.cli", "main"),
    "routesim-analyze": ("routesim.analysis.report", "main"),
    "routesim-sensitivity": ("routesim.analysis.sensitivity", "main"),
    "routesim-calibrate": ("routesim.cli", "calibrate_main"),
    "routesim-discover": ("routesim.analysis.discovery", "main"),
}


def _child(case: dict, out: Path) -> None:
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.chdir(case["cwd"])
    os.environ.update(case.get("env", {}))
    module, name = MAINS[case["command"]]
    sys.argv = [case["command"], *case["args"]]
    code = 0
    try:
        getattr(sys.modules[module], name)()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - the traceback is what the test looks for
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main() -> None:
    """Run the cases of argv[1], two at a time, and write {id: {status, output, seconds}} to argv[2]."""
    import importlib

    for module, _ in MAINS.values():
        importlib.import_module(module)
    cases = json.loads(Path(sys.argv[1]).read_text())
    results: dict[str, dict] = {}
    running: dict[int, tuple[dict, Path, float]] = {}
    pending = list(cases)
    while pending or running:
        while pending and len(running) < 2:
            case = pending.pop(0)
            out = Path(case["cwd"]) / ".case-output"
            Path(case["cwd"]).mkdir(parents=True, exist_ok=True)
            pid = os.fork()
            if pid == 0:
                _child(case, out)
            running[pid] = (case, out, time.perf_counter())
        pid, status = os.wait()
        case, out, started = running.pop(pid)
        results[case["id"]] = {"status": os.waitstatus_to_exitcode(status), "output": out.read_text(),
                               "seconds": time.perf_counter() - started}
    Path(sys.argv[2]).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
