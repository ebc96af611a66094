"""One blueprint per resource."""

from miniprogram_api.views.auth import blp as auth_blp
from miniprogram_api.views.enterprises import blp as enterprises_blp
from miniprogram_api.views.health import blp as health_blp
from miniprogram_api.views.regions import grids_blp, regions_blp
from miniprogram_api.views.users import blp as users_blp

BLUEPRINTS = [health_blp, auth_blp, regions_blp, grids_blp, enterprises_blp, users_blp]
