"""The `ioc` command: run everything, run one role, check one's health, or upgrade the
database."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from ioc.healthcheck import ROLES, check
from ioc.logs import configure
from ioc.settings import Settings


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `ioc` command."""
    parser = argparse.ArgumentParser(prog="ioc", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="API, writer and simulated feeds in one process")
    sub.add_parser("api", help="the API and WebSocket server only")
    worker = sub.add_parser("worker", help="the writer and the feeds")
    worker.add_argument("--no-feeds", action="store_true", help="run the writer only")
    worker.add_argument("--no-writer", action="store_true", help="run the feeds only")
    db = sub.add_parser("db", help="database tasks")
    db.add_argument("action", choices=["upgrade"])
    load = sub.add_parser("import", help="import or replay a file (csv, jsonl, parquet, pb, zip)")
    load.add_argument("feed", help="the feed the file belongs to (e.g. signals), or gtfs to "
                      "check a GTFS static zip before it goes into the city pack")
    load.add_argument("file", type=Path)
    load.add_argument("--map", action="append", default=[], metavar="OURS=THEIRS",
                      help="read our field OURS from the file's column THEIRS (repeatable)")
    load.add_argument("--mapping-file", type=Path, help="a JSON object {ours: theirs}")
    load.add_argument("--speed", type=float, help="replay in source time at this speed (1-3600)")
    layer = sub.add_parser("layer", help="import a boundary layer into the city pack")
    layer.add_argument("action", choices=["import"])
    layer.add_argument("file", type=Path, help="GeoJSON, GeoPackage or Shapefile, any CRS")
    layer.add_argument("--name", required=True, help="the layer's name, e.g. wards-2025")
    layer.add_argument("--code-field", required=True,
                       help="the field holding official codes, or @name to make stable "
                       "codes from the names")
    layer.add_argument("--name-field", required=True)
    layer.add_argument("--name-en-field")
    layer.add_argument("--kind-field")
    layer.add_argument("--valid-from", type=date.fromisoformat)
    layer.add_argument("--valid-to", type=date.fromisoformat)
    fault = sub.add_parser("fault", help="inject a fault into the running simulators")
    fault.add_argument("feed")
    fault.add_argument("kind", help="e.g. flash, stuck_detector, bunching, filling, surge")
    fault.add_argument("--target", help="the signal, car park or service point id")
    fault.add_argument("--minutes", type=float, default=10.0)
    fault.add_argument("--direction", type=int, default=0, help="BRT direction (0 or 1)")
    fault.add_argument("--value", type=int, help="flash reason, detector channel, surge factor")
    health = sub.add_parser("health", help="exit 0 when this host's process of a role is "
                            "healthy, else 1; one line says why (for container health checks)")
    health.add_argument("--role", choices=ROLES, required=True)
    args = parser.parse_args(argv)

    base = Settings()
    configure(base.log_format)
    if args.command == "health":
        verdict = check(base, args.role)
        print(verdict.line)
        raise SystemExit(0 if verdict.healthy else 1)
    # Imported here: the health check above must stay quick, and the service is large.
    from ioc import commands

    commands.run(base, args)
