"""The benchmarks, one module per app (`manage.py bench NAME`, `make bench`).

Each module has `run(*, stdout, options) -> dict` and measures against a baseline or a target
in the same run, on the database the command was pointed at. They may import the apps and the
process harness (`harness`); no app imports them (an import-linter contract), and coverage
measures the product only.
"""
