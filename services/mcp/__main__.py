"""`python -m services.mcp --stdio` serves the tools over stdio (STELLARY_URL, STELLARY_TOKEN);
`python -m services.mcp [--host H] [--port P]` runs the HTTP service (what the Procfile runs with uvicorn)."""
import argparse
import logging
import sys


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.mcp", description=__doc__)
    parser.add_argument("--stdio", action="store_true", help="serve the tools over stdin/stdout")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3108)
    args = parser.parse_args(argv)
    if args.stdio:
        import anyio

        from .bridge import serve_stdio
        # stdout is the protocol: logs go to stderr only.
        logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
        anyio.run(serve_stdio)
        return
    import uvicorn
    uvicorn.run("services.mcp.app:create_app", factory=True, host=args.host, port=args.port, access_log=False)


if __name__ == "__main__":
    main()
