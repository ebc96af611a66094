"""GeoJSON (RFC 7946) of hazards and enterprises: points at [lng, lat] (WGS 84 as stored),
the list's fields as properties, `truncated` as a foreign member of the collection."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, pre_dump

from uploads_schema.directory import EnterpriseQuerySchema
from uploads_schema.hazards import HazardQuerySchema
from uploads_schema.vocabulary import (
    CATEGORY_LABELS,
    INDUSTRY_LABELS,
    LEVEL_LABELS,
    RISK_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    HazardCategory,
    HazardLevel,
    HazardSource,
    HazardStatus,
    Industry,
    RiskColor,
)


class HazardGeoArgsSchema(HazardQuerySchema):
    """The hazard list's filters; no pages (one collection, see `truncated`)."""

    class Meta:
        exclude = ("page", "page_size")


class EnterpriseGeoArgsSchema(EnterpriseQuerySchema):
    """The enterprise list's filters; no pages."""

    class Meta:
        exclude = ("page", "page_size")


class GeoPointSchema(ma.Schema):
    type = fields.Constant("Point", required=True)
    coordinates = fields.List(
        fields.Float(), required=True, metadata={"description": "[longitude, latitude]"}
    )


class HazardPropertiesSchema(ma.Schema):
    number = fields.String(required=True)
    level = fields.String(required=True)
    level_label = fields.String(required=True)
    status = fields.String(required=True)
    status_label = fields.String(required=True)
    category = fields.String(required=True)
    category_label = fields.String(required=True)
    source = fields.String(required=True)
    source_label = fields.String(required=True)
    enterprise_id = fields.Integer(required=True)
    enterprise_name = fields.String(required=True)
    overdue = fields.Boolean(required=True, metadata={"description": "逾期"})
    supervised = fields.Boolean(required=True, metadata={"description": "挂牌督办"})
    located_by = fields.String(
        required=True,
        metadata={"description": "hazard: its own coordinates; enterprise: its enterprise's"},
    )
    created_at = fields.DateTime(required=True)


class HazardFeatureSchema(ma.Schema):
    type = fields.Constant("Feature", required=True)
    id = fields.Integer(required=True)
    geometry = fields.Nested(GeoPointSchema, required=True)
    properties = fields.Nested(HazardPropertiesSchema, required=True)

    @pre_dump
    def _feature(self, h: Any, **kwargs: Any) -> dict[str, Any]:
        return {
            "id": h.id,
            "geometry": {"coordinates": [h.lng, h.lat]},
            "properties": {
                "number": h.number,
                "level": h.level,
                "level_label": LEVEL_LABELS[HazardLevel(h.level)],
                "status": h.status,
                "status_label": STATUS_LABELS[HazardStatus(h.status)],
                "category": h.category,
                "category_label": CATEGORY_LABELS[HazardCategory(h.category)],
                "source": h.source,
                "source_label": SOURCE_LABELS[HazardSource(h.source)],
                "enterprise_id": h.enterprise_id,
                "enterprise_name": h.enterprise_name,
                "overdue": h.overdue,
                "supervised": h.supervised,
                "located_by": h.located_by,
                "created_at": h.created_at,
            },
        }


class HazardCollectionSchema(ma.Schema):
    type = fields.Constant("FeatureCollection", required=True)
    features = fields.List(fields.Nested(HazardFeatureSchema), required=True)
    truncated = fields.Boolean(
        required=True, metadata={"description": "more matched than one answer holds (5000)"}
    )


class EnterprisePropertiesSchema(ma.Schema):
    name = fields.String(required=True)
    credit_code = fields.String(required=True)
    industry = fields.String(required=True)
    industry_label = fields.String(required=True)
    risk_color = fields.String(required=True)
    risk_label = fields.String(required=True)
    grid_id = fields.Integer(required=True)
    address = fields.String(required=True)
    active = fields.Boolean(required=True)


class EnterpriseFeatureSchema(ma.Schema):
    type = fields.Constant("Feature", required=True)
    id = fields.Integer(required=True)
    geometry = fields.Nested(GeoPointSchema, required=True)
    properties = fields.Nested(EnterprisePropertiesSchema, required=True)

    @pre_dump
    def _feature(self, e: Any, **kwargs: Any) -> dict[str, Any]:
        return {
            "id": e.id,
            "geometry": {"coordinates": [e.lng, e.lat]},
            "properties": {
                "name": e.name,
                "credit_code": e.credit_code,
                "industry": str(e.industry),
                "industry_label": INDUSTRY_LABELS[Industry(e.industry)],
                "risk_color": str(e.risk_color),
                "risk_label": RISK_LABELS[RiskColor(e.risk_color)],
                "grid_id": e.grid_id,
                "address": e.address,
                "active": e.active,
            },
        }


class EnterpriseCollectionSchema(ma.Schema):
    type = fields.Constant("FeatureCollection", required=True)
    features = fields.List(fields.Nested(EnterpriseFeatureSchema), required=True)
    truncated = fields.Boolean(required=True)


class BasemapSchema(ma.Schema):
    """The tile service the console's map draws on (MAP_TILE_URL), if any."""

    tile_url = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "XYZ template with {z}, {x}, {y}; null: no base map"},
    )
    attribution = fields.String(required=True, metadata={"description": "plain text"})
