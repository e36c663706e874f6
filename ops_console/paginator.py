"""A changelist paginator that never runs an unfiltered COUNT(*) on PostgreSQL (FIELD_NOTES: admin at scale)."""

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

# Below this many estimated rows an exact count is cheap and nicer to read.
EXACT_COUNT_BELOW = 10_000


class EstimatedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        qs = self.object_list
        query = getattr(qs, "query", None)
        if query is None or query.where or query.distinct or query.combinator:
            return super().count
        connection = connections[qs.db]
        if connection.vendor != "postgresql":
            return super().count
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                           [qs.model._meta.db_table])
            row = cursor.fetchone()
        estimate = int(row[0]) if row and row[0] is not None else -1
        if estimate < EXACT_COUNT_BELOW:  # never analysed (-1) or small: count for real
            return super().count
        return estimate
