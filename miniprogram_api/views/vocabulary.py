"""The vocabulary clients show: categories, levels, statuses and actions in Chinese."""

from __future__ import annotations

from flask import Response, jsonify
from flask.views import MethodView

from miniprogram_api.api import Blueprint
from uploads_schema.hazards import VocabularySchema, vocabulary_json

blp = Blueprint(
    "vocabulary", __name__, url_prefix="/api/v1", description="Vocabulary 词表 (public)"
)


@blp.route("/vocabulary")
class Vocabulary(MethodView):
    @blp.doc(security=[])
    @blp.response(200, VocabularySchema)
    def get(self) -> Response:
        """Public: hazard categories, levels, statuses and actions with their Chinese names."""
        response = jsonify(vocabulary_json())
        # The same for everyone, changing only with a release.
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response
