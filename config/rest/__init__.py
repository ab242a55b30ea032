"""The seller API's shared conventions (see config/rest/views.py): problem details, cursor
pagination, filters, idempotency and the schema's common parts."""
