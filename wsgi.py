"""WSGI entry point: `gunicorn wsgi:app`."""

from miniprogram_api import create_app

app = create_app()
