"""Command line: `printernizer-receiver serve`."""

import argparse
import os

import uvicorn


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="printernizer-receiver")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", default=os.environ.get("RECEIVER_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("RECEIVER_PORT", "8080")))
    args = parser.parse_args(argv)
    if args.command == "serve":
        uvicorn.run(
            "receiver.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            access_log=False,
        )
