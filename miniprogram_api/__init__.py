"""The Flask app of 码上查: HTTP adapters over the `service` core."""

from miniprogram_api.app import create_app

__all__ = ["create_app"]
