"""The ``autonn`` command (also ``python -m autonn``): demo, gradcheck, compress, bench."""
import argparse
import sys


def _parser():
    p = argparse.ArgumentParser(prog="autonn", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="train an MLP on the bundled 8x8 digits and report accuracy")
    demo.add_argument("--epochs", type=int, default=30)
    demo.add_argument("--batch-size", type=int, default=32)
    demo.add_argument("--lr", type=float, default=1e-3)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--out", default="autonn_demo_out", help="folder for the model and the plot")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")

    gc = sub.add_parser("gradcheck", help="check every registered op against finite differences")
    gc.add_argument("--ops", nargs="*", help="only these ops (registry names)")
    gc.add_argument("--examples", type=int, default=3, help="random inputs per op and dtype")
    gc.add_argument("--seed", type=int, default=0)

    comp = sub.add_parser("compress", help="fold runs of affine layers of a saved network into one")
    comp.add_argument("input")
    comp.add_argument("output")

    bench = sub.add_parser("bench", help="benchmark autonn against plain NumPy (and PyTorch)")
    bench.add_argument("--quick", action="store_true", help="fewer rounds; finishes in under a minute")
    bench.add_argument("--json", help="also write the rows to this JSON file")
    bench.add_argument("--distributed", action="store_true",
                       help="data-parallel scaling over MPI instead (2 ranks x 1 thread against 1 "
                            "process x 1 thread; needs the distributed extra)")
    return p


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from .demo import run
    elif args.command == "gradcheck":
        from .gradcheck_cli import run
    elif args.command == "compress":
        from .compress_cli import run
    else:
        from .bench import run
    return run(args) or 0


if __name__ == "__main__":
    sys.exit(main())
