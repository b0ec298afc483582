"""Lookups that tell SQLite not to use an index for a filter term.

SQLite's planner picks one index per query. For "suv, newest first" it may take the body-type
index and then sort tens of thousands of matches, where reading the newest-first index and
skipping the few non-matching rows is far faster. A unary plus on the column ("+body_type = ?")
keeps the term out of index selection. Other databases get the ordinary SQL.

The public search writes its SQL itself (stock/search.py, SearchQuery) and applies the same
unary plus there; these lookups are for ORM queries that need it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Field, lookups


class _NoIndex:
    operator: str  # the ordinary lookup whose SQL operator this one uses

    def get_rhs_op(self, connection: Any, rhs: str) -> str:
        return str(connection.operators[self.operator] % rhs)

    def as_sqlite(self, compiler: Any, connection: Any) -> tuple[str, Any]:
        sql, params = self.as_sql(compiler, connection)  # type: ignore[attr-defined]
        return f"+{sql}", params


class NoIndexExact(_NoIndex, lookups.Exact):
    lookup_name = "noindex_exact"
    operator = "exact"


class NoIndexGte(_NoIndex, lookups.GreaterThanOrEqual):
    lookup_name = "noindex_gte"
    operator = "gte"


class NoIndexLte(_NoIndex, lookups.LessThanOrEqual):
    lookup_name = "noindex_lte"
    operator = "lte"


for lookup in (NoIndexExact, NoIndexGte, NoIndexLte):
    Field.register_lookup(lookup)
