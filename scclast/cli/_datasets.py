"""``scclast datasets``: list, describe, download and verify the public datasets."""

from __future__ import annotations

import argparse
import importlib
import json
import textwrap
from types import ModuleType

from scclast._errors import ScclastDataError
from scclast.cli._table import print_table


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``scclast datasets {list,info,fetch,verify,path}``."""
    parser = subparsers.add_parser(
        "datasets",
        help="list, download and verify the public osteoclast-lineage datasets",
        description="The dataset registry: public osteoclast-lineage data downloaded once "
        "from GEO (cached, hashed on first download, verified on every use) and the "
        "examples bundled with scclast.",
    )
    commands = parser.add_subparsers(dest="datasets_command", metavar="SUBCOMMAND")
    commands.required = True

    listing = commands.add_parser(
        "list", help="every registry entry with its accession, status and DOI"
    )
    listing.set_defaults(func=_list)

    info = commands.add_parser("info", help="everything known about one dataset")
    info.add_argument("key", help="a key from `scclast datasets list`")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=_info)

    fetch = commands.add_parser("fetch", help="download (once) and verify a dataset's files")
    fetch.add_argument("key", help="a key from `scclast datasets list`")
    fetch.add_argument(
        "--samples", nargs="+", metavar="GSM", help="only these GEO samples (GSM accessions)"
    )
    fetch.set_defaults(func=_fetch)

    verify = commands.add_parser(
        "verify", help="re-hash cached files against the lock file (no network)"
    )
    verify.add_argument("key", nargs="?", help="one dataset (default: every cached file)")
    verify.add_argument(
        "--accept-new-hash",
        action="store_true",
        help="record the current hash of changed files (a deliberate update)",
    )
    verify.set_defaults(func=_verify)

    path = commands.add_parser("path", help="print the cache folder")
    path.set_defaults(func=_path)


def _datasets() -> ModuleType:
    """:mod:`scclast.datasets`, imported when a ``datasets`` command runs.

    It brings anndata and pandas; importing it here at module level would slow every
    ``scclast`` call, ``--help`` included, since the CLI registers all command groups.
    """
    return importlib.import_module("scclast.datasets")


def _list(args: argparse.Namespace) -> int:
    table = _datasets().list_datasets()
    rows = [("key", "accession", "status", "organism", "type", "citation", "doi")]
    for row in table.itertuples(index=False):
        rows.append(
            (
                row.key,
                row.accessions or "-",
                row.status,
                row.organism,
                row.data_type,
                row.citation,
                row.doi or "-",
            )
        )
    print_table(rows)
    unverified = table.loc[table["status"] == "unverified", "key"].tolist()
    if unverified:
        print(
            f"\n{len(unverified)} entries are unverified: no sha256 is pinned for their files, "
            "so the first download is checked at most against GEO's listing, then trusted "
            "and hashed (trust on first use); later uses are checked against that hash "
            "(`scclast datasets info KEY`)."
        )
    return 0


def _info(args: argparse.Namespace) -> int:
    record = _datasets().info(args.key)
    if args.json:
        print(json.dumps(record, indent=2, default=str))
        return 0
    for key, value in record.items():
        if key == "files":
            continue
        if isinstance(value, str) and len(value) > 80:
            value = textwrap.fill(
                value, width=88, initial_indent=" " * 19, subsequent_indent=" " * 19
            ).lstrip()
        print(f"{key:<18} {value}")
    print("files")
    if not record["files"]:
        print("  (none named; see status_note)")
    for item in record["files"]:
        state = "cached" if item["cached"] else "not cached"
        print(f"  {item['name']} [{state}]")
        for field in (
            "url",
            "local_path",
            "size",
            "approx_size",
            "sha256_pinned",
            "sha256_recorded",
            "integrity",
        ):
            if item.get(field) is not None:
                text = textwrap.fill(
                    f"{field}: {item[field]}",
                    width=88,
                    subsequent_indent=" " * 6,
                    break_long_words=False,  # URLs and paths stay whole
                    break_on_hyphens=False,
                )
                print(f"    {text}")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    for _spec, path in _datasets().fetch(args.key, samples=args.samples):
        print(path)
    return 0


def _verify(args: argparse.Namespace) -> int:
    results = _datasets().verify(args.key, accept_new_hash=args.accept_new_hash)
    if not results:
        print("nothing cached to verify")
        return 0
    for result in results:
        line = f"{result.status:<9} {result.relpath}"
        if result.status in ("changed", "accepted"):
            line += f" (recorded {result.expected}, now {result.actual})"
        print(line)
    changed = [r for r in results if r.status == "changed"]
    if changed:
        pinned = any(r.pinned for r in changed)
        hint = (
            "delete them to download again (registry-pinned hashes cannot be overridden)"
            if pinned
            else f"rerun `scclast datasets verify {args.key or ''} --accept-new-hash` to accept "
            "deliberate changes, or delete them to download again".replace("  ", " ")
        )
        raise ScclastDataError(
            f"{len(changed)} cached file(s) changed since first download: {hint}"
        )
    return 0


def _path(args: argparse.Namespace) -> int:
    print(_datasets().cache_dir())
    return 0
