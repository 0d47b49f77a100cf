"""The ``autonn`` command (also ``python -m autonn``): demo, gradcheck, compress, bench.

A user's mistake (a missing or corrupt file, a bad option) prints one line naming the problem
and exits with status 2 (``AUTONN_TRACEBACK=1`` shows the traceback); a traceback is printed
only for a bug.

>>> main(["--version"])  # doctest: +ELLIPSIS
autonn 0.1.0 (python ..., numpy ...)
0
"""
import argparse
import importlib
import os
import platform
import sys
import typing

DESCRIPTION = "autonn: a NumPy autograd engine and neural-network framework."
EPILOG = "Run 'autonn COMMAND --help' for a command's options. 'python -m autonn' is the same program."


class UserError(Exception):
    """A mistake in what the user asked for; the command prints its message and exits with 2."""

    def __init__(self, message, command=None):
        super().__init__(message)
        self.command = command


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's usage + message, as one line
        raise UserError(f"{message} (see '{self.prog} --help')", self.prog)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _int(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


# ------------------------------------------------------------------ the commands
# Each command: a function adding its options, and the module whose run(args) does the work.
def _add_demo(p):
    p.add_argument("--epochs", type=_positive_int, default=30,
                   help="passes over the training images (default: %(default)s)")
    p.add_argument("--batch-size", type=_positive_int, default=32,
                   help="images per training step (default: %(default)s)")
    p.add_argument("--lr", type=_positive_float, default=1e-3,
                   help="Adam's learning rate (default: %(default)s)")
    p.add_argument("--seed", type=_int, default=0,
                   help="seed of the weights, the train/held-out split and the shuffling "
                        "(default: %(default)s)")
    p.add_argument("--out", default="autonn_demo_out",
                   help="folder for the saved model and the plot (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _add_gradcheck(p):
    p.add_argument("--ops", nargs="*", metavar="OP",
                   help="only these ops (registry names, e.g. matmul tanh); default: all")
    p.add_argument("--examples", type=_positive_int, default=3,
                   help="random inputs per op and dtype (default: %(default)s)")
    p.add_argument("--seed", type=_int, default=0, help="seed of the random inputs (default: %(default)s)")


def _add_compress(p):
    p.add_argument("input", help="a network saved with an.nn.save_network, or an autonn.simple "
                                 "network saved with Network.save (text format)")
    p.add_argument("output", help="where to save the compressed network (in the input's format)")


def _add_bench(p):
    p.add_argument("--quick", action="store_true", help="fewer rounds and sizes; under a minute")
    p.add_argument("--json", metavar="FILE", help="also write the rows to this JSON file")
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel scaling over MPI instead (2 ranks x 1 thread against 1 "
                        "process x 1 thread; needs the distributed extra)")


class Command(typing.NamedTuple):
    add_options: typing.Callable    # adds the command's options to its parser
    module: str                     # the module whose run(args) does the work
    help: str                       # one line, for 'autonn --help'
    description: str                # for 'autonn COMMAND --help'
    user_errors: tuple = (OSError,)  # exceptions that mean a mistake of the user's, not a bug


#: a file that cannot be read as a network is a ValueError (or EOFError) naming the file
_FILE_ERRORS = (OSError, ValueError, EOFError)

COMMANDS = {
    "demo": Command(
        _add_demo, "autonn.demo", "train an MLP on the bundled 8x8 digits and report accuracy",
        "Train an MLP on the bundled 8x8 handwritten digits with a progress bar, report the "
        "held-out accuracy, and save the model and (with matplotlib) a plot."),
    "gradcheck": Command(
        _add_gradcheck, "autonn.gradcheck_cli", "check every registered op against finite differences",
        "Check every registered op (float64 and float32) against finite differences and print a "
        "table; the exit status is 1 if a check fails."),
    "compress": Command(
        _add_compress, "autonn.compress_cli", "fold runs of affine layers of a saved network into one",
        "Load a saved network (an.nn or autonn.simple), fold every run of affine layers "
        "(Linear, Identity, eval-mode BatchNorm1d) with no non-linearity between them into one "
        "Linear, check that the predictions agree, and save the smaller network.", _FILE_ERRORS),
    "bench": Command(
        _add_bench, "autonn.bench", "benchmark autonn against plain NumPy (and PyTorch)",
        "Time training steps, an op chain and activations against a plain NumPy version of the "
        "same work (and PyTorch when installed), and print one row per workload."),
}


def _version():
    import numpy

    from . import __version__
    return f"autonn {__version__} (python {platform.python_version()}, numpy {numpy.__version__})"


def _parser():
    p = _Parser(prog="autonn", description=DESCRIPTION, epilog=EPILOG)
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True,
                           parser_class=_Parser, title="commands", help="one of:")
    for name, command in COMMANDS.items():
        command.add_options(sub.add_parser(name, help=command.help, description=command.description))
    return p


def _one_line(e):
    """The message of a user's mistake, on one line."""
    if isinstance(e, OSError) and e.strerror:
        where = e.filename if e.filename is not None else ""
        text = f"{where}: {e.strerror}" if where else e.strerror
    else:
        text = str(e) or type(e).__name__
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def _mistake(e, command):
    """Print a user's mistake as one line; the exit status 2 (AUTONN_TRACEBACK=1: raise it)."""
    if os.environ.get("AUTONN_TRACEBACK", "") not in ("", "0"):
        raise e  # the whole story, for a bug report
    print(f"{command}: error: {_one_line(e)}", file=sys.stderr)
    return 2


def main(argv=None):
    """Run the ``autonn`` command with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    from ._progress import NumbaCompiles
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:  # --help and --version
        return e.code or 0
    except UserError as e:   # a bad option
        return _mistake(e, e.command or "autonn")
    name, command = f"autonn {args.command}", COMMANDS[args.command]
    compiles = NumbaCompiles().install()
    try:
        return importlib.import_module(command.module).run(args) or 0
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    except (UserError, *command.user_errors) as e:   # anything else is a bug: its traceback
        return _mistake(e, name)
    finally:
        compiles.uninstall()
        if compiles.line():
            print(compiles.line(), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
