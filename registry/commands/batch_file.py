"""The batch file of `registry issue --batch FILE.csv`: one award a row under a header naming the
columns, separated by commas, semicolons (a spreadsheet's CSV where the comma is the decimal sign)
or tabs, as the header shows."""

from __future__ import annotations

import csv
import io
import re

from registry.commands.credentials import Award
from registry.vc import openbadges
from registry.vc.errors import DocumentError

BATCH_COLUMNS = ("recipient", "achievement", "result", "valid_until", "evidence", "score", "valid_from")


def parse_batch_csv(text: str) -> list[Award]:
    """Rows of `recipient,achievement[,result,valid_until,evidence,score,valid_from]` under a header row, separated
    by commas, semicolons (a spreadsheet's CSV where the comma is the decimal sign) or tabs, as the
    header shows; a UTF-8 byte order mark before it is ignored."""
    text = text.removeprefix("\ufeff")
    reader = csv.DictReader(io.StringIO(text), delimiter=_batch_separator(text))
    if reader.fieldnames is None:
        raise DocumentError("the batch file is empty")
    header = [h.strip() for h in reader.fieldnames]
    missing = {"recipient", "achievement"} - set(header)
    unknown = set(header) - set(BATCH_COLUMNS)
    if missing or unknown:
        raise DocumentError(
            f"batch header must have recipient,achievement and optionally result,valid_until,evidence,score,valid_from; "
            f"missing {sorted(missing)}, unknown {sorted(unknown)}"
        )
    awards = []
    for row_number, raw in enumerate(reader, start=2):
        # DictReader files surplus values under the key None and fills missing ones with None:
        # either means the row does not match the header (an unquoted comma in a result, say).
        if None in raw or any(v is None for v in raw.values()):
            raise DocumentError(f"row {row_number}: wrong number of columns ({len(header)} expected, as in the header)")
        row = {k.strip(): v.strip() for k, v in raw.items()}
        if not row["recipient"] or not row["achievement"]:
            raise DocumentError(f"row {row_number}: recipient and achievement are required")
        valid_until = valid_from = None
        if row.get("valid_until"):
            valid_until = openbadges.parse_datetimez(row["valid_until"], f"row {row_number}: valid_until")
        if row.get("valid_from"):
            valid_from = openbadges.parse_datetimez(row["valid_from"], f"row {row_number}: valid_from")
        awards.append(Award(row["recipient"], row["achievement"], row.get("result") or None,
                            valid_until, row.get("evidence") or None, row.get("score") or None, valid_from))
    return awards


BATCH_SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}


def _batch_separator(text: str) -> str:
    """The separator the header line is written with: its one of `,`, `;` and tab (the
    column names hold none of them). Two of them in the header is a file no rule reads for sure."""
    header = text.split("\n", 1)[0].rstrip("\r")
    unquoted = re.sub(r'"[^"]*"', "", header)
    found = [name for separator, name in BATCH_SEPARATORS.items() if separator in unquoted]
    if len(found) > 1:
        raise DocumentError(f"the batch header mixes separators ({' and '.join(found)}): "
                            "separate its columns with commas, semicolons or tabs, one of them throughout")
    try:
        # Only the separator: quoting stays the standard one (a doubled quote inside quotes).
        return csv.Sniffer().sniff(header, delimiters="".join(BATCH_SEPARATORS)).delimiter
    except csv.Error:  # one column, or an empty header: the header check says what is missing
        return ","
