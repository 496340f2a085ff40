#!/usr/bin/env python3
"""Starts the DynamoDB export emulator: the `emulator` package next to this
file (see README.md). Same as `python -m emulator` run from this folder.

Usage:
    python export_emulator.py --port N --moto http://127.0.0.1:PORT \
        --clock-file PATH [--host 127.0.0.1] [--lag 300] [--export-seconds 300] \
        [--export-durations SPEC] [--max-in-progress 300] [--region us-east-1]
"""
from emulator.__main__ import main

if __name__ == "__main__":
    main()
