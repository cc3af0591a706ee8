"""Tiny helpers shared by the CLIs: one-line errors instead of tracebacks."""

from __future__ import annotations

import functools
import sys


def main_wrapper(main):
    """Wraps an absl ``main(argv)``: any exception becomes ``error: <one line>`` on stderr and exit 1."""

    @functools.wraps(main)
    def wrapped(argv):
        try:
            return main(argv)
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            sys.exit(130)
        except SystemExit:
            raise
        except Exception as e:  # noqa: BLE001 - the CLI contract: one line, no traceback
            lines = [line.strip() for line in str(e).splitlines() if line.strip()]
            print(f"error: {lines[0] if lines else type(e).__name__}", file=sys.stderr)
            sys.exit(1)

    return wrapped
