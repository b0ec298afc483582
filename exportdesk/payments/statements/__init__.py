"""Bank statement files (MT940, camt.053, CSV) read into plain values, with no database.

The import service builds on `parse_statement_file`: it gets every statement in a file with
its balances and entries, or a `StatementFormatError` naming the line or element at fault.
"""

from .camt053 import parse_camt053
from .csv_format import CsvMapping, CsvMappingError, parse_csv
from .detect import FORMATS, detect_format, parse_statement_file
from .mt940 import parse_mt940
from .parsed import MAX_STATEMENT_BYTES, ParsedEntry, ParsedStatement, StatementFormatError

__all__ = [
    "FORMATS",
    "MAX_STATEMENT_BYTES",
    "CsvMapping",
    "CsvMappingError",
    "ParsedEntry",
    "ParsedStatement",
    "StatementFormatError",
    "detect_format",
    "parse_camt053",
    "parse_csv",
    "parse_mt940",
    "parse_statement_file",
]
