"""WSGI entry point: `gunicorn wsgi:app`."""

from miniprogram_api import create_app
from miniprogram_api.observability import configure_logging
from service.settings import Settings

settings = Settings.from_env()
configure_logging(settings)
app = create_app(settings)
