"""One blueprint per resource."""

from miniprogram_api.views.auth import blp as auth_blp
from miniprogram_api.views.checklists import blp as checklists_blp
from miniprogram_api.views.documents import blp as documents_blp
from miniprogram_api.views.enterprises import blp as enterprises_blp
from miniprogram_api.views.geo import blp as geo_blp
from miniprogram_api.views.hazards import blp as hazards_blp
from miniprogram_api.views.health import blp as health_blp
from miniprogram_api.views.jobs import blp as jobs_blp
from miniprogram_api.views.media import blp as media_blp
from miniprogram_api.views.media import files_blp as media_files_blp
from miniprogram_api.views.points import blp as points_blp
from miniprogram_api.views.qrcodes import blp as qrcodes_blp
from miniprogram_api.views.regions import grids_blp, regions_blp
from miniprogram_api.views.scan import blp as scan_blp
from miniprogram_api.views.statistics import blp as stats_blp
from miniprogram_api.views.tasks import blp as tasks_blp
from miniprogram_api.views.users import blp as users_blp
from miniprogram_api.views.vocabulary import blp as vocabulary_blp
from miniprogram_api.views.web import web

BLUEPRINTS = [
    health_blp,
    auth_blp,
    regions_blp,
    grids_blp,
    enterprises_blp,
    users_blp,
    qrcodes_blp,
    scan_blp,
    media_blp,
    media_files_blp,
    hazards_blp,
    stats_blp,
    vocabulary_blp,
    points_blp,
    checklists_blp,
    tasks_blp,
    jobs_blp,
    documents_blp,
    geo_blp,
]
# Plain Flask blueprints: pages outside the documented JSON API.
PAGES = [web]
