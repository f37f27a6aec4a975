"""Storage: what one case costs on disk at mid-process, and that process definitions are stored once.

N cases of the standard process are taken, through the engine's commands, to the same middle point:
intake, baseline assessment, consent, tabling and the council's decision with two support actions (the
case then waits on the partners' answers and on its review timer). The script measures, at 0 cases and
after each size of `--sizes`:

- the workflow state per case (the length of `cases.workflow_state`, stored without the specs);
- the case file per case: the case's rows in every table with a `case_id` (tasks, form submissions,
  the audit log, consents, assessments, decisions, actions, disclosures ...), its `cases` row and its
  person, as the sum of the stored column sizes (SQLite: `length()` of each value; PostgreSQL:
  `pg_column_size` of each row);
- the whole database per case: the growth of the database's pages (SQLite's `dbstat` table, indexes
  included; PostgreSQL: `pg_total_relation_size` of every table of the schema) divided by the cases added;
- the process definitions: the number of `process_versions` rows and the bytes of their files and specs,
  which must not change with the number of cases.

    .venv/bin/python bench/storage.py                            # SQLite, 20 then 100 cases
    .venv/bin/python bench/storage.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/storage.py --sizes 5,20 --json /tmp/storage.json
"""
from __future__ import annotations

import argparse
import json
import operator
import sys
from functools import reduce
from pathlib import Path
from typing import Any

from databases import Database  # bench/databases.py, beside this script
from engine_overhead import make_world, walk_to_decision  # bench/engine_overhead.py: the same world and path
from sqlalchemy import Connection, LargeBinary, MetaData, Text, func, select, text


def _column_bytes(conn: Connection, table: Any, where: Any) -> tuple[int, int]:
    """Rows and stored bytes of the rows of `table` matching `where`."""
    if conn.dialect.name == "postgresql":
        size = func.coalesce(func.sum(func.pg_column_size(text(f'"{table.name}".*'))), 0)
    else:
        lengths = [func.coalesce(func.length(func.cast(c, LargeBinary())), 0) for c in table.c]
        size = func.coalesce(func.sum(reduce(operator.add, lengths)), 0)
    rows, total = conn.execute(select(func.count(), size).select_from(table).where(where)).one()
    return int(rows), int(total)


def database_bytes(conn: Connection) -> int:
    """Every page the database's tables and indexes take."""
    if conn.dialect.name == "postgresql":
        return int(conn.execute(text(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' "
            "AND n.nspname = current_schema()")).scalar())
    return int(conn.execute(text("SELECT coalesce(sum(pgsize), 0) FROM dbstat")).scalar())


def _stored_bytes(conn: Connection, column: Any) -> Any:
    """The bytes of a text or JSON value as stored (UTF-8), not its characters."""
    if conn.dialect.name == "postgresql":
        return func.octet_length(func.cast(column, Text()))
    return func.length(func.cast(column, LargeBinary()))


def definitions(conn: Connection, tables: MetaData) -> dict[str, int]:
    versions = tables.tables["process_versions"]
    rows, files, spec = conn.execute(select(
        func.count(), func.coalesce(func.sum(_stored_bytes(conn, versions.c.files)), 0),
        func.coalesce(func.sum(_stored_bytes(conn, versions.c.spec)), 0))).one()
    return {"versions": int(rows), "files_bytes": int(files), "spec_bytes": int(spec)}


def snapshot(db: Database) -> dict[str, Any]:
    """Per-case averages over the cases in the database, the database's size and the definitions."""
    tables = MetaData()
    tables.reflect(db.engine)
    cases_table, persons = tables.tables["cases"], tables.tables["persons"]
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
        count = int(conn.execute(select(func.count()).select_from(cases_table)).scalar())
        state = int(conn.execute(select(func.coalesce(
            func.sum(_stored_bytes(conn, cases_table.c.workflow_state)), 0))).scalar())
        per_table: dict[str, tuple[int, int]] = {}
        for name, table in sorted(tables.tables.items()):
            if "case_id" in table.c:
                per_table[name] = _column_bytes(conn, table, table.c.case_id.is_not(None))
        per_table["cases"] = _column_bytes(conn, cases_table, cases_table.c.id.is_not(None))
        per_table["persons"] = _column_bytes(conn, persons, persons.c.id.in_(select(cases_table.c.person_id)))
        return {"cases": count, "state_bytes": state, "tables": per_table, "database_bytes": database_bytes(conn),
                "definitions": definitions(conn, tables)}


def measure(database_url: str | None, sizes: list[int]) -> dict[str, Any]:
    db = Database(database_url)
    try:
        world = make_world(db)
        before = snapshot(db)
        points = []
        for size in sizes:
            while world.cases_made < size:
                walk_to_decision(world, f"保存量 {world.cases_made}")
            points.append(snapshot(db))
        return {"database": db.engine.dialect.name, "before": before, "points": points}
    finally:
        db.drop()


def summarise(raw: dict[str, Any]) -> dict[str, Any]:
    before, points = raw["before"], raw["points"]
    last = points[-1]
    n = last["cases"]
    case_file = {name: (rows / n, size / n) for name, (rows, size) in last["tables"].items() if rows}
    growth = []
    previous = before
    for point in points:
        added = point["cases"] - previous["cases"]
        growth.append((point["cases"], (point["database_bytes"] - previous["database_bytes"]) / added))
        previous = point
    definition_sets = [before["definitions"], *(p["definitions"] for p in points)]
    return {
        "database": raw["database"], "cases": n,
        "state_bytes_per_case": last["state_bytes"] / n,
        "case_file_bytes_per_case": sum(size for _, size in case_file.values()),
        "case_file": {name: {"rows": r, "bytes": b} for name, (r, b) in case_file.items()},
        "database_bytes_per_case": [{"cases": c, "bytes": b} for c, b in growth],
        "database_growth_ratio": growth[-1][1] / growth[0][1] if len(growth) > 1 and growth[0][1] else 1.0,
        "definitions": definition_sets,
        "definitions_stored_once": all(d == definition_sets[0] for d in definition_sets),
        "definition_bytes": definition_sets[0]["files_bytes"] + definition_sets[0]["spec_bytes"],
    }


def report(result: dict[str, Any]) -> None:
    n = result["cases"]
    print(f"storage at mid-process (decided by the council, two actions offered): {n} cases ({result['database']})")
    print(f"{'table':<22}{'rows/case':>11}{'bytes/case':>12}")
    for name, figures in sorted(result["case_file"].items(), key=lambda item: -item[1]["bytes"]):
        print(f"{name:<22}{figures['rows']:>11.1f}{figures['bytes']:>12,.0f}")
    print(f"workflow state per case: {result['state_bytes_per_case']:,.0f} bytes (in the cases row above)")
    print(f"case file per case (every row above): {result['case_file_bytes_per_case']:,.0f} bytes")
    for point in result["database_bytes_per_case"]:
        print(f"database growth per case up to {point['cases']:,} cases: {point['bytes']:,.0f} bytes "
              "(pages, indexes included)")
    print(f"growth per case, last size / first size = {result['database_growth_ratio']:.2f} (target: flat)")
    sets = result["definitions"]
    print(f"process definitions: {sets[0]['versions']} version(s), {result['definition_bytes']:,} bytes of files "
          f"and spec, at 0 cases and at every size: "
          f"{'stored once: OK' if result['definitions_stored_once'] else 'GROWS WITH CASES: NOT OK'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL URL (default: a SQLite file in a temporary folder)")
    parser.add_argument("--sizes", default="20,100", help="numbers of cases measured, comma-separated, ascending")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    result = summarise(measure(args.database_url, sizes))
    report(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0 if result["definitions_stored_once"] else 1


if __name__ == "__main__":
    sys.exit(main())
