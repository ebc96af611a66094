"""Regions (行政区划) and grids (网格)."""

from __future__ import annotations

from flask.views import MethodView

from miniprogram_api.api import Blueprint
from miniprogram_api.auth import context, current_actor
from service.directory import regions
from uploads_schema.common import ErrorSchema
from uploads_schema.directory import (
    GridPageSchema,
    GridPatchSchema,
    GridQuerySchema,
    GridSchema,
    RegionPageSchema,
    RegionPatchSchema,
    RegionQuerySchema,
    RegionSchema,
)

regions_blp = Blueprint("regions", __name__, url_prefix="/api/v1/regions", description="Regions")
grids_blp = Blueprint("grids", __name__, url_prefix="/api/v1/grids", description="Grids 网格")


@regions_blp.route("")
class Regions(MethodView):
    @regions_blp.arguments(RegionQuerySchema, location="query")
    @regions_blp.response(200, RegionPageSchema)
    @regions_blp.alt_response(401, schema=ErrorSchema)
    def get(self, args):
        """Regions in the caller's scope."""
        return regions.list_regions(context(), current_actor(), **args)

    @regions_blp.arguments(RegionSchema)
    @regions_blp.response(201, RegionSchema)
    @regions_blp.alt_response(403, schema=ErrorSchema)
    @regions_blp.alt_response(409, schema=ErrorSchema)
    def post(self, args):
        """Add a region (admin)."""
        return regions.create_region(context(), current_actor(), **args)


@regions_blp.route("/<int:region_id>")
class RegionById(MethodView):
    @regions_blp.response(200, RegionSchema)
    @regions_blp.alt_response(404, schema=ErrorSchema)
    def get(self, region_id):
        """One region."""
        return regions.get_region(context(), current_actor(), region_id)

    @regions_blp.arguments(RegionPatchSchema)
    @regions_blp.response(200, RegionSchema)
    @regions_blp.alt_response(403, schema=ErrorSchema)
    @regions_blp.alt_response(404, schema=ErrorSchema)
    def patch(self, args, region_id):
        """Rename a region (admin)."""
        return regions.update_region(context(), current_actor(), region_id, **args)


@grids_blp.route("")
class Grids(MethodView):
    @grids_blp.arguments(GridQuerySchema, location="query")
    @grids_blp.response(200, GridPageSchema)
    @grids_blp.alt_response(401, schema=ErrorSchema)
    @grids_blp.alt_response(404, schema=ErrorSchema)
    def get(self, args):
        """Grids in the caller's scope."""
        return regions.list_grids(context(), current_actor(), **args)

    @grids_blp.arguments(GridSchema)
    @grids_blp.response(201, GridSchema)
    @grids_blp.alt_response(403, schema=ErrorSchema)
    @grids_blp.alt_response(409, schema=ErrorSchema)
    def post(self, args):
        """Add a grid under a community (admin)."""
        return regions.create_grid(context(), current_actor(), **args)


@grids_blp.route("/<int:grid_id>")
class GridById(MethodView):
    @grids_blp.response(200, GridSchema)
    @grids_blp.alt_response(404, schema=ErrorSchema)
    def get(self, grid_id):
        """One grid with its inspectors."""
        return regions.get_grid(context(), current_actor(), grid_id)

    @grids_blp.arguments(GridPatchSchema)
    @grids_blp.response(200, GridSchema)
    @grids_blp.alt_response(403, schema=ErrorSchema)
    @grids_blp.alt_response(404, schema=ErrorSchema)
    def patch(self, args, grid_id):
        """Rename a grid or replace its inspectors (admin)."""
        return regions.update_grid(context(), current_actor(), grid_id, **args)
