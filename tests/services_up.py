"""Exit 0 when Postgres and Redis answer on this machine (for the scale-profile run)."""

import socket
import sys


def reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(0 if reachable(5432) and reachable(6379) else 1)
