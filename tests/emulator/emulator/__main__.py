"""Command line: `python -m emulator --port N --moto URL --clock-file PATH ...`
(run from the folder holding the package, or via ../export_emulator.py)."""
from __future__ import annotations

import argparse
from decimal import Decimal

from .clock import VirtualClock
from .faults import Durations
from .moto import MotoClient, S3Writer
from .server import EmulatorServer
from .service import ExportEmulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="export_emulator", description="DynamoDB export emulator in front of moto server")
    parser.add_argument("--port", type=int, required=True, help="port to listen on (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--moto", required=True, help="moto server URL, e.g. http://127.0.0.1:5000")
    parser.add_argument("--clock-file", required=True, help="file holding the virtual now in epoch seconds")
    parser.add_argument("--lag", type=Decimal, default=Decimal(300),
                        help="seconds LatestRestorableDateTime trails now")
    parser.add_argument("--export-seconds", type=Decimal, default=Decimal(300),
                        help="virtual seconds an export takes")
    parser.add_argument("--export-durations", type=Durations.parse, default=None, metavar="SPEC",
                        help="draw durations instead, e.g. lognormal:median=420,sigma=0.45,tail=0.04,"
                             "tail_min=1200,tail_max=2700,seed=7[,full_factor=2]")
    parser.add_argument("--max-in-progress", type=int, default=300)
    parser.add_argument("--region", default="us-east-1", help="region for requests without credentials")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    moto = MotoClient(args.moto)
    emulator = ExportEmulator(moto, VirtualClock(args.clock_file), S3Writer(moto.base_url),
                              lag=args.lag, export_seconds=args.export_seconds,
                              export_durations=args.export_durations,
                              max_in_progress=args.max_in_progress, region=args.region)
    server = EmulatorServer((args.host, args.port), emulator)
    host, port = server.server_address[:2]
    print(f"export-emulator listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
