"""barback command line: a thin layer over the barback libraries.

Each command group's module holds its parsers next to its handlers. Errors in the input end the
command with one line on stderr and exit code 2; warnings go to stderr and into the output files;
tracebacks never reach the user (use --debug to see one).
"""

from __future__ import annotations

import os

# The analysis runs two threads of its own (the bar; the lumbar sensors) and its matrix products
# are 3 x 3. OpenBLAS's worker threads would spin beside them: about a core-second of the hour's
# five, a fifth of its wall time on two cores. One BLAS thread, unless the user chose otherwise;
# set before numpy loads, which reads it once.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import sys

from barback.cli import ble, history, offline
from barback.cli.common import DEMO_RECORDING, EXIT_INPUT, PROG, AudioProblem, BleProblem, Formatter, err

__all__ = ["DEMO_RECORDING", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, formatter_class=Formatter,
                                description="Barbell velocity and lower-back form from wearable IMUs.",
                                epilog="example:\n  barback demo\n  barback analyze recordings/demo_deadlift --json out.json")
    p.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for group in (offline, ble, history):
        group.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_INPUT
    from barback.analysis.errors import InputError
    from barback.extras import MissingExtra
    from barback.history.store import StoreError

    try:
        return int(args.func(args) or 0)
    except SystemExit as exc:
        return int(exc.code or 0)
    except (InputError, BleProblem, AudioProblem, StoreError, MissingExtra) as exc:
        err(str(exc))
        return EXIT_INPUT
    except KeyboardInterrupt:
        err("interrupted")
        return 130
    except OSError as exc:
        err(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
        return EXIT_INPUT
    except Exception as exc:  # never a traceback for the user
        if args.debug:
            raise
        err(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)")
        return 1


if __name__ == "__main__":
    sys.exit(main())
