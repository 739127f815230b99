"""MongoDB connector (pymongo). Tested with mongomock only: no MongoDB server is available where it was built.

The tests inject a `mongomock.MongoClient` through `MongoConfig(client=...)`; a real deployment passes `url`.
Behaviour that mongomock cannot prove (server-side cursors, authentication errors, network failures) follows
pymongo's documented behaviour and is untested here.

Rules a user can rely on:
- Streams are the collections of `database` (all but `system.*`, or the configured `collections`; a missing
  one is a TerminalConnectorError).
- Documents are flattened to dot paths (`hq.address.city`) by connectors.documents: nested objects become
  paths down to scalars, every array is kept whole as one field of type ARRAY holding its JSON text (arrays of
  scalars and arrays of documents alike: positions are not stable names), an empty object is one OBJECT field.
- BSON values become JSON-safe: ObjectId -> hex string, datetime -> ISO 8601 UTC, Decimal128 -> exact decimal
  text, Binary -> base64, Timestamp -> ISO datetime.
- The schema is inferred from a deterministic sample: the `sample_size / 2` oldest and newest documents by _id
  (not `$sample`, whose random picks would make the schema fingerprint flap between runs).
- Incremental by `cursor_field` (default `_id`, or an update-time field such as `updated_at`) with the compound
  (value, _id) rule in connectors.mongodb.cursor; documents without the field are read first, not skipped.
- A batch's table has one column per dot path present in that batch; columns of one JSON kind keep it, mixed
  kinds hold JSON text (connectors.tabular).
"""

from connectors.mongodb.config import MongoConfig
from connectors.mongodb.connector import MongoConnector

__all__ = ["MongoConfig", "MongoConnector"]
