"""The `wareader` console script: `sql` answers without loading Dagster, the rest goes to main."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["sql"]:
        from wareader_pipelines.cli.quick_sql import run_query

        parser = argparse.ArgumentParser(prog="wareader sql")
        parser.add_argument("query")
        return run_query(parser.parse_args(arguments[1:]).query)
    from wareader_pipelines.cli.main import main as full_main

    return full_main(arguments)


if __name__ == "__main__":
    sys.exit(main())
