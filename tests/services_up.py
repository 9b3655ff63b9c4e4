"""Exit 0 when Postgres and Redis answer on this machine (for the scale-profile run)."""

import sys

from harness import reachable, scale_available

__all__ = ["reachable", "scale_available"]

if __name__ == "__main__":
    sys.exit(0 if scale_available() else 1)
