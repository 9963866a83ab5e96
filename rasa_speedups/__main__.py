"""The Rasa server with the speed-ups: `python -m rasa_speedups run [the arguments of rasa run]`.

The one place that installs them: chooses by RASA_SPEEDUPS (unset: all; `off`: none), refuses to
start on a Rasa or rasa-sdk version they were not written for (saying to start with
RASA_SPEEDUPS=off), logs what it installed, then hands over to Rasa's own CLI with the same
arguments (`rasa.__main__.main`, as the `rasa` command). Only `run` is accepted: training, tests
and data checks run plain Rasa (`rasa train`, `rasa test`, `rasa data validate`).
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Callable, List, Optional, Sequence

import rasa_speedups
from rasa_extensions.tracker_check import announce_self_check

USAGE = ("usage: python -m rasa_speedups run [the arguments of `rasa run`]\n"
         f"Installs the speed-ups of Rasa internals chosen by {rasa_speedups.SWITCH_VARIABLE} (unset or `on`: all; "
         "`off`: none; `a,b`: those; `-a,-b`: all but those), then runs `rasa run`.\n"
         f"Speed-ups: {', '.join(rasa_speedups.SPEEDUPS)}")
LOG_FORMAT = "%(asctime)s %(levelname)-8s %(name)s  - %(message)s"   # Rasa's
logger = logging.getLogger("rasa_speedups.launcher")   # not __main__ under `python -m`


def installed_line(names: Sequence[str]) -> str:
    return (f"Rasa speed-ups installed: {', '.join(names)}" if names
            else f"Rasa speed-ups installed: none ({rasa_speedups.SWITCH_VARIABLE}=off)")


def _log_at_start(names: Sequence[str]) -> None:
    """Rasa configures logging only once its CLI has parsed the arguments: until then, a handler of our own."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        logger.info(installed_line(names))
        announce_self_check(logger)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True


def main(argv: Optional[List[str]] = None, rasa_main: Optional[Callable[[], None]] = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if not arguments or arguments[0] != "run":
        print(USAGE, file=sys.stderr)
        return 2
    try:
        names = rasa_speedups.install_speedups(os.environ.get(rasa_speedups.SWITCH_VARIABLE, ""))
    except (ValueError, RuntimeError) as error:
        print(error, file=sys.stderr)
        return 1
    _log_at_start(names)
    if rasa_main is None:
        from rasa.__main__ import main as rasa_main
    sys.argv = ["rasa", *arguments]
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
