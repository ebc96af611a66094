"""一张图: hazards and enterprises as GeoJSON, scoped and filtered like their lists, for
the console's map and the province's GIS platform."""

from __future__ import annotations

import orjson
from flask import Response, current_app
from flask.views import MethodView

from miniprogram_api.api import Blueprint
from miniprogram_api.auth import context, current_actor
from service.directory import enterprises
from service.hazards import locations
from service.hazards.queries import HazardFilters
from uploads_schema.common import ErrorSchema
from uploads_schema.geo import (
    BasemapSchema,
    EnterpriseCollectionSchema,
    EnterpriseGeoArgsSchema,
    HazardCollectionSchema,
    HazardGeoArgsSchema,
)

blp = Blueprint("geo", __name__, url_prefix="/api/v1/geo", description="Maps 一张图 (GeoJSON)")

GEOJSON = "application/geo+json"  # RFC 7946's media type
_hazards = HazardCollectionSchema()
_enterprises = EnterpriseCollectionSchema()


def _geojson(body: dict) -> Response:
    return current_app.response_class(orjson.dumps(body), mimetype=GEOJSON)


def _errors(view):  # type: ignore[no-untyped-def]
    for status in (401, 404, 422):
        view = blp.alt_response(status, schema=ErrorSchema)(view)
    return view


@blp.route("/hazards.geojson")
class HazardsGeo(MethodView):
    @blp.arguments(HazardGeoArgsSchema, location="query")
    @blp.response(200, HazardCollectionSchema, content_type=GEOJSON)
    @_errors
    def get(self, args):
        """Hazards of the caller's scope and the list's filters as points (their own place,
        else their enterprise's), newest first, at most 5000."""
        found = locations.located_hazards(context(), current_actor(), HazardFilters(**args))
        return _geojson(_hazards.dump({"features": found.items, "truncated": found.truncated}))


@blp.route("/enterprises.geojson")
class EnterprisesGeo(MethodView):
    @blp.arguments(EnterpriseGeoArgsSchema, location="query")
    @blp.response(200, EnterpriseCollectionSchema, content_type=GEOJSON)
    @_errors
    def get(self, args):
        """Enterprises of the caller's scope with coordinates, filtered like their list,
        at most 5000."""
        found, truncated = enterprises.located_enterprises(context(), current_actor(), **args)
        return _geojson(_enterprises.dump({"features": found, "truncated": truncated}))


@blp.route("/basemap")
class Basemap(MethodView):
    @blp.response(200, BasemapSchema)
    @blp.alt_response(401, schema=ErrorSchema)
    def get(self):
        """The tile service the console's 一张图 draws on (MAP_TILE_URL and its
        attribution); `tile_url` is null when none is set (points without a base map)."""
        current_actor()  # for logged-in callers: a tile URL may carry the service's key
        settings = context().settings
        return {
            "tile_url": settings.map_tile_url or None,
            "attribution": settings.map_tile_attribution,
        }
