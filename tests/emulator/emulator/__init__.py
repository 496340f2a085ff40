"""Local emulator of DynamoDB's export to S3, placed in front of moto server.

moto's ExportTableToPointInTime is a stub: it ignores incremental exports,
writes no manifests and has no restore window. This server speaks DynamoDB's
JSON 1.0 protocol, answers the export and point-in-time-recovery operations
itself, and forwards every other request (DynamoDB, S3, SSM, SNS, SQS, ...) to
moto unchanged. Writes that pass through it are recorded per item with the
virtual time they happened at, so that full and incremental exports can be
rebuilt for any point or window in the layout and formats real exports have;
state-changing calls to other services are recorded in a journal.

Modules, in dependency order:
    protocol     the JSON protocol's errors and encoding, the log
    items        number normalisation, key identity, item sizes
    clock        virtual clock, time parsing and printing
    moto         callers, the HTTP client to moto, the table catalog, S3 writes
    history      item history and the keys each write touched
    exports      an export's record, request rules, time rules, PITR state
    materialise  data files and manifests of a finished export
    faults       injected faults and the export-duration distribution
    journal      the record of what the service did (ground truth)
    proxy        what a forwarded request is, and what to journal from it
    service      the emulated operations and the control endpoints' state
    server       the HTTP server and routing
    __main__     command line

Run it with `python -m emulator ...` from the folder holding this package, or
with `python tests/emulator/export_emulator.py ...` (see README.md).
"""
