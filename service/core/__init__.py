"""The core's foundations: settings, context, unit of work, errors, pagination, idempotency,
migrations, the clock (UTC stored, China days). Imports no other package of service/.
"""
