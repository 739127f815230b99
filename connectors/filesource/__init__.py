"""FileSource connector: a directory of CSV, JSON (array), JSON Lines and Parquet files, one stream per file stem.

Rules a user can rely on:
- Stream names are file stems (`accounts.csv` is stream `accounts`); files sharing a stem form one stream and
  are read in name order, each batch naming its file in `Batch.source`. Other files and sub-directories are
  ignored.
- Incremental by content: the cursor holds each read file's SHA-256. An unchanged file is not re-read; a changed
  file is re-read whole (its rows come again and downstream upserts by id absorb them). Files that disappear
  are forgotten; their rows are not reported as deleted. Between batches of one file the cursor also records
  how far the file got, so a run resumed from it continues with the next batch of the same content.
- CSV values stay raw text (every column pa.string(), empty cells are ""); types are inferred only by
  discover(). Encoding (BOM, UTF-8, Latin-1/cp1252 via charset-normalizer) and delimiter (`,` `;` tab `|`) are
  detected per file; quoted fields may contain newlines; fields may be larger than 10 MB.
- Malformed records (wrong field count, bytes the encoding cannot decode, broken JSON) become RecordErrors with
  their 1-based starting line and raw text; the good rows around them still come through.
- An empty file (no bytes besides a BOM and whitespace) is a stream with no fields: discover() lists it with an
  empty field list and a logged warning, and read() yields one empty batch whose cursor marks the file done.
  It is not an error, so one truncated export does not stop the other streams of the connection.
- JSON and JSONL objects are flattened to dot paths; arrays are kept whole as JSON text (connectors.documents).
- The primary key is a column named `id` or `<stream>_id` (or the singular `account_id` for `accounts`).
"""

from connectors.filesource.config import FileSourceConfig
from connectors.filesource.connector import FileSourceConnector

__all__ = ["FileSourceConfig", "FileSourceConnector"]
