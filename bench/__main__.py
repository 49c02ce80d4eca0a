"""Run every benchmark and print its table."""

from __future__ import annotations

import argparse
import logging

from bench import align, cluster, faces, render, transcribe_engines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--seconds",
        type=float,
        default=60.0,
        help="length of the speech excerpt to transcribe and of the clip to render (default 60)",
    )
    parser.add_argument("--repeat", type=int, default=2, help="runs of each engine; best is kept")
    parser.add_argument(
        "--only",
        choices=["transcribe", "render", "faces", "align", "cluster"],
        help="run just this benchmark",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.only in (None, "transcribe"):
        transcribe_engines.run(args.seconds, args.repeat)
    if args.only in (None, "render"):
        render.run(args.seconds)
    if args.only in (None, "faces"):
        faces.run(args.seconds)
    if args.only in (None, "align"):
        align.run(args.seconds, args.repeat)
    if args.only in (None, "cluster"):
        cluster.run()


if __name__ == "__main__":
    main()
