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


def run_cli(main, module_name: str) -> None:
    """``app.run(main)`` for a console script, with --help showing ``module_name``'s doc and flags.

    absl's --help lists the flags of the ``__main__`` module; under a console
    script that is the generated wrapper, which defines none.
    """
    from absl import app, flags

    module = sys.modules[module_name]
    for flag in flags.FLAGS.get_flags_for_module(module_name):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    main_module = sys.modules.get("__main__")
    if main_module is not None and main_module is not module and not main_module.__doc__:
        main_module.__doc__ = module.__doc__
    app.run(main)
