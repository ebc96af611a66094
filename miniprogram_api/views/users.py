"""User accounts."""

from __future__ import annotations

from flask.views import MethodView

from miniprogram_api.api import Blueprint
from miniprogram_api.auth import context, current_actor
from miniprogram_api.inputs import takes_files
from miniprogram_api.views.jobs import document_accepted, import_file
from service.directory import staff_import, users
from service.jobs import imports as import_jobs
from uploads_schema.common import ErrorSchema
from uploads_schema.directory import (
    ImportArgsSchema,
    ImportFileSchema,
    PasswordResetSchema,
    StaffImportReportSchema,
    UnlockSchema,
    UserPageSchema,
    UserPatchSchema,
    UserQuerySchema,
    UserSchema,
)

blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="Users")


@blp.route("")
class Users(MethodView):
    @blp.arguments(UserQuerySchema, location="query")
    @blp.response(200, UserPageSchema)
    @blp.alt_response(401, schema=ErrorSchema)
    def get(self, args):
        """Users the caller may see (admins all; supervisors their subtree's staff)."""
        return users.list_users(context(), current_actor(), **args)

    @blp.arguments(UserSchema)
    @blp.response(201, UserSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema)
    def post(self, args):
        """Create an account (admin)."""
        return users.create_user(context(), current_actor(), **args)


@blp.route("/import")
@takes_files
class StaffImport(MethodView):
    @blp.arguments(ImportArgsSchema, location="query")
    @blp.arguments(ImportFileSchema, location="files")
    @blp.response(200, StaffImportReportSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(415, schema=ErrorSchema)
    @document_accepted
    def post(self, args, files):
        """Create staff accounts from a CSV or XLSX file (admin); answers a report for every
        row, with each created account's one-time password (shown only here). Files above
        IMPORT_SYNC_MAX_BYTES, or `async=1`, run as a job whose result is that report, for
        its creator only, kept STAFF_IMPORT_RESULT_TTL_MINUTES (202)."""
        return import_file(
            args, files["file"], import_jobs.submit_staff_import, staff_import.import_staff
        )


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, UserSchema)
    @blp.alt_response(401, schema=ErrorSchema)
    def get(self):
        """The caller's own account."""
        actor = current_actor()
        return users.get_user(context(), actor, actor.user_id)


@blp.route("/<int:user_id>")
class UserById(MethodView):
    @blp.response(200, UserSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, user_id):
        """One account."""
        return users.get_user(context(), current_actor(), user_id)

    @blp.arguments(UserPatchSchema)
    @blp.response(200, UserSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema)
    def patch(self, args, user_id):
        """Change an account's role, bindings, password or active flag (admin)."""
        return users.update_user(context(), current_actor(), user_id, **args)


@blp.route("/<int:user_id>/reset-password")
class UserPasswordReset(MethodView):
    @blp.response(200, PasswordResetSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def post(self, user_id):
        """Give an office account a one-time password, shown only in this answer (admin);
        its owner must change it at the next login."""
        return users.reset_password(context(), current_actor(), user_id)


@blp.route("/<int:user_id>/unlock")
class UserUnlock(MethodView):
    @blp.response(200, UnlockSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def post(self, user_id):
        """Lift an account's login lockout (admin): its failed password logins are
        forgotten and it may log in at once; answers how many there were."""
        return users.unlock(context(), current_actor(), user_id)
