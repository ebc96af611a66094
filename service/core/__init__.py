"""The core's foundations: settings, context, unit of work, errors, pagination, idempotency,
migrations. Imports no other package of service/.
"""
