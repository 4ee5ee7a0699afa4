"""python -m migration_rehearsal.dms_contract_server --world DIR [--host H] [--port N] [--retry-after S]"""
from __future__ import annotations

import argparse
import logging
import sys

from migration_rehearsal.dms_contract_server.server import ContractServer


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m migration_rehearsal.dms_contract_server", description=__doc__)
    parser.add_argument("--world", required=True, help="directory of the simulated world (created if missing)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds of accepted operations")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    server = ContractServer(arguments.world, arguments.host, arguments.port, arguments.retry_after)
    print(server.base_url, flush=True)  # the first line tells a parent process where to connect
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
