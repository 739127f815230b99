"""Supabase connector: Supabase is PostgreSQL, so it connects with a PostgreSQL URL (SQLAlchemy + psycopg2).

Rules a user can rely on:
- Streams are the base tables of the configured schema (default `public`), optionally limited to `tables`;
  a configured or requested table that does not exist is a TerminalConnectorError.
- Incremental by `cursor_column` (default `updated_at`) with a compound cursor {"value": ..., "key": [...]}:
  rows are read `ORDER BY cursor_column NULLS FIRST, primary key` and resumed with
  `cursor_column > value OR (cursor_column = value AND key > last_key)`, so rows sharing a cursor value are
  never lost between batches, and rows whose cursor column is NULL are read first instead of being skipped.
  Tables without a primary key use the row's ctid as the tie-breaker.
- A table without the cursor column is a full-refresh stream (discover reports `cursor_field=None`): every
  read returns all its rows; the cursor inside a read only lets an interrupted read resume, and the final
  batch (empty) carries cursor None so the next read starts from the beginning again.
- Large tables stream through a server-side cursor (`stream_results` + `yield_per=batch_size`): one batch per
  fetch, flat memory.
- Types: integers, floats, booleans, dates and timestamps keep native Arrow types (timestamptz in UTC);
  numeric stays exact text; json/jsonb and arrays are JSON text; uuid and everything else are text.
- Errors: refused connections and timeouts are transient; bad credentials, unknown roles or databases and
  missing tables are terminal.
"""

from connectors.supabase.config import SupabaseConfig
from connectors.supabase.connector import SupabaseConnector

__all__ = ["SupabaseConfig", "SupabaseConnector"]
