"""WSGI entry point: `gunicorn wsgi:app`."""

import gc

from miniprogram_api import create_app
from miniprogram_api.observability import configure_logging
from miniprogram_api.startup import settings_from_environment

settings = settings_from_environment()  # the environment, then `.env`, like the flask command
configure_logging(settings)
app = create_app(settings)
# What is built by now (the app, its models, schemas and OpenAPI spec: ~190,000 objects)
# lives as long as the worker. Left to the collector, each of its full passes walks them
# all, ~95 ms during which the worker's requests wait; frozen, they are never walked.
gc.collect()  # garbage from start-up is freed, not frozen
gc.freeze()
