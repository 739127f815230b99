"""Salesforce connector: the REST API over httpx, tested against a local test server that speaks the same protocol.

Rules a user can rely on:
- Auth: OAuth2 username-password flow (`grant_type=password`, password + security token) against
  `{login_url}/services/oauth2/token`, or client-credentials flow against the org's My Domain
  (`instance_url`). Data calls go to the instance_url the token response names. A 401 (INVALID_SESSION_ID)
  triggers one re-authentication and a retry; a second 401 is terminal. invalid_grant is terminal.
- Retries: 429, 500, 502, 503, 504 and connection errors are retried up to `max_attempts` with exponential
  backoff and full jitter (`backoff_seconds` * 2^n, honouring Retry-After); then TransientConnectorError.
  Other 4xx answers are terminal with Salesforce's errorCode and message.
- Streams are the configured sObjects (default Account, Opportunity, Contact); the schema comes from
  `sobjects/<name>/describe`. Compound address/location fields and base64 blobs are skipped: their components
  (BillingStreet, BillingCity, ...) are ordinary fields.
- Reads use `queryAll` with `SELECT <fields> FROM <obj> WHERE SystemModstamp >= <cursor> ORDER BY SystemModstamp,
  Id`, follow `nextRecordsUrl`, strip `attributes`, and report recycle-bin records (IsDeleted) in
  `Batch.deleted_ids` instead of the table. See connectors.salesforce.cursor for why nothing sharing a stamp
  is lost. Objects without SystemModstamp are read in full each time.
- Types: int, double, percent, boolean, date and datetime keep native Arrow types; currency stays exact
  decimal text; ids, references, picklists and text are strings.
"""

from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.connector import SalesforceConnector

__all__ = ["SalesforceConfig", "SalesforceConnector"]
