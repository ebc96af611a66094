"""Command-line tools: the `flask db`, `demo`, `qr`, `hazards`, `inspections`, `media`,
`outbox`, `stats`, `idempotency`, `users`, `jobs` and `documents` groups."""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy.exc import DBAPIError

from miniprogram_api.auth import context
from service import demo
from service.access import lockout, passwords
from service.access.scoping import Actor
from service.bootstrap import install_queue
from service.core import idempotency, migrations
from service.core.db import snapshot_session
from service.core.errors import Conflict, DomainError, ServiceUnavailable
from service.core.settings import SettingsError
from service.core.sheets import neutralise
from service.core.storage import StorageError, StorageUnavailable
from service.directory import regions, staff_import, users
from service.documents import filing
from service.hazards import overdue, queries
from service.inspections import rollup as task_rollup
from service.inspections import tasks as inspection_tasks
from service.jobs import periodic
from service.jobs import running as jobs_running
from service.media import photos as media
from service.notifications import delivery as notifications
from service.qrcodes import codes as qrcodes
from service.statistics import rollup
from uploads_schema.vocabulary import DocumentKind, ImportMode, Role


def system_actor() -> Actor:
    """Command-line tools act as an administrator: whoever runs them has the server."""
    return Actor(user_id=0, role=Role.ADMIN)


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def failure_line(error: Exception) -> str | None:
    """What an operator reads when a command fails for a reason outside the code (a wrong
    argument, a missing font, settings, storage or the database down); None for a bug."""
    if isinstance(error, DomainError):
        line = f"{error.message_en} ({error.message})"
        if isinstance(error, ServiceUnavailable) and error.__cause__ is not None:
            line += f": {_first_line(error.__cause__)}"
        return line + (f" {error.errors}" if error.errors else "")
    if isinstance(error, StorageUnavailable):
        return f"object storage unavailable: {error}"
    if isinstance(error, StorageError):
        return f"object storage: {error}"
    if isinstance(error, DBAPIError):
        return f"database error: {_first_line(error)}"
    if isinstance(error, SettingsError | OSError):
        return str(error)
    return None


class Commands(AppGroup):
    """A command group whose commands fail with one line on stderr ("Error: …") and exit
    code 1 instead of a traceback (cron mails and terminals show the reason)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            line = failure_line(exc)
            if line is None:
                raise
            raise click.ClickException(line) from exc


db_cli = Commands("db", help="Database schema (Alembic migrations).")
demo_cli = Commands("demo", help="Demo data.")
qr_cli = Commands("qr", help="QR codes and posters.")
hazards_cli = Commands("hazards", help="Hazard workflow maintenance.")
inspections_cli = Commands("inspections", help="双重预防 inspection tasks (排查任务).")
media_cli = Commands("media", help="Photos in object storage.")
outbox_cli = Commands("outbox", help="Notification outbox delivery.")
stats_cli = Commands("stats", help="Statistics upkeep.")
idempotency_cli = Commands("idempotency", help="Remembered Idempotency-Keys of writes.")
users_cli = Commands("users", help="Accounts.")
jobs_cli = Commands("jobs", help="The job queue: its consumer and periodic work.")
documents_cli = Commands("documents", help="Filed documents (文书): 月度通报, 周统计, 季度排名.")


@db_cli.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations to DATABASE_URL."""
    migrations.upgrade(context().settings.database_url, revision)
    click.echo(f"database at {revision}")


@demo_cli.command("seed")
def demo_seed() -> None:
    """Create the demo district and accounts (safe to run again)."""
    counts = demo.seed(context())
    click.echo(
        "demo data ready: {regions} regions, {grids} grids, {enterprises} enterprises, "
        "{users} users, {hazards} hazards".format(**counts)
    )
    base = context().settings.public_base_url
    click.echo(f"QR code of the first enterprise: scene {counts['first_token']}")
    click.echo(f"  scan it: curl -s {base}/api/v1/scan/{counts['first_token']}")
    click.echo(f"  report from a phone's browser: {base}/q/{counts['first_token']}")
    click.echo(f"demo accounts (password {demo.DEMO_PASSWORD}):")
    for account in demo.ACCOUNTS:
        click.echo(f"  {account.username:<10} {account.role.value:<19} {account.description}")


@qr_cli.command("posters")
@click.option("--region", "region_code", required=True, help="Statistical area code (12 digits)")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="posters.pdf")
@click.option("--size", type=click.Choice(["A5", "A4"]), default="A5", help="Paper size")
def qr_posters(region_code: str, output: str, size: str) -> None:
    """Write a PDF with a poster for every active code in a region's subtree."""
    ctx = context()
    actor = system_actor()
    region_id = regions.region_id_by_code(ctx, region_code)
    specs = qrcodes.active_codes_in_region(ctx, actor, region_id).specs
    if not specs:
        raise click.ClickException(f"no active QR codes under region {region_code}")
    tmp = Path(output).with_suffix(".pdf.part")
    try:
        with (
            click.progressbar(length=len(specs), label="rendering posters") as bar,
            tmp.open("wb") as out,
        ):
            pages = qrcodes.write_region_posters(
                ctx, specs, out, progress=lambda _n: bar.update(1), size=size
            )
    except BaseException:
        tmp.unlink(missing_ok=True)  # a failed run leaves nothing behind
        raise
    tmp.replace(output)  # never leave a half-written PDF under the final name
    click.echo(f"{pages} posters written to {output}")


# The options of the clean-up commands (media gc, idempotency purge).
_DRY_RUN = click.option("--dry-run", is_flag=True, help="Report what would go; change nothing.")


def _older_than_hours(age: str, setting: str) -> Callable[[Callable[..., Any]], Any]:
    """--older-than-hours N (at least 1); without it the command uses `setting`."""
    return click.option(
        "--older-than-hours",
        type=click.IntRange(min=1),
        default=None,
        help=f"{age} [default: {setting}]",
    )


@media_cli.command("gc")
@_DRY_RUN
@_older_than_hours(
    "Age of expired uploads and grace period of orphan objects", "MEDIA_PENDING_TTL_HOURS"
)
def media_gc(dry_run: bool, older_than_hours: int | None) -> None:
    """Delete expired unattached photos, then stored objects no photo points to."""
    ctx = context()
    hours = older_than_hours or ctx.settings.media_pending_ttl_hours
    report = media.collect_garbage(
        ctx, timedelta(hours=hours), dry_run=dry_run, progress=click.progressbar
    )
    verb = "would delete" if dry_run else "deleted"
    click.echo(
        f"{'dry run, nothing changed: ' if dry_run else ''}{verb} "
        f"{report.rows_deleted} pending photos older than {hours} h and "
        f"{report.objects_deleted} of {report.objects_scanned} stored objects "
        f"({report.bytes_freed:,} bytes)"
    )


@hazards_cli.command("verify-chain")
def hazards_verify_chain() -> None:
    """Recompute every hazard's event hash chain and report any break (exit code 1)."""
    checked, breaks = queries.verify_all_chains(context())
    for b in breaks:
        click.echo(f"BROKEN hazard {b.hazard_id} event {b.seq}: {b.reason}")
    click.echo(f"{checked} hazards checked, {len(breaks)} breaks")
    if breaks:
        raise SystemExit(1)


@hazards_cli.command("sweep")
def hazards_sweep() -> None:
    """Mark overdue hazards, escalate them and late verifications, queue reminders (cron)."""
    r = overdue.sweep(context())
    click.echo(
        f"{r.marked_overdue} marked overdue, {r.escalated_to_inspectors} escalated to "
        f"inspectors, {r.escalated_to_supervisors} to supervisors, {r.verification_late} "
        f"late verifications to supervisors, {r.due_soon} due-soon "
        f"reminders, {r.notifications_queued} notifications queued "
        f"({r.candidates} candidates, {r.busy} left to a concurrent run)"
    )


@inspections_cli.command("generate")
@click.option(
    "--days",
    type=click.IntRange(min=1, max=400),
    default=7,
    show_default=True,
    help="Create the tasks of windows open at some moment of the next DAYS days",
)
def inspections_generate(days: int) -> None:
    """Create the inspection tasks of every attached checklist ahead (cron; safe to repeat
    and to run on several boxes at once: each task is created once)."""
    created = inspection_tasks.generate(context(), days=days)
    click.echo(f"{created} inspection tasks created for the next {days} days")


@idempotency_cli.command("purge")
@_DRY_RUN
@_older_than_hours("Forget keys recorded longer ago than this", "IDEMPOTENCY_TTL_HOURS")
def idempotency_purge(dry_run: bool, older_than_hours: int | None) -> None:
    """Forget Idempotency-Keys older than their retention (run daily from cron)."""
    ctx = context()
    hours = older_than_hours or ctx.settings.idempotency_ttl_hours
    count = idempotency.purge(ctx, timedelta(hours=hours), dry_run=dry_run)
    verb = "dry run, nothing changed: would forget" if dry_run else "forgot"
    click.echo(f"{verb} {count} Idempotency-Keys older than {hours} h")


@outbox_cli.command("send")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
def outbox_send(limit: int) -> None:
    """Deliver due notifications through NOTIFICATION_SENDER (run from cron)."""
    ctx = context()
    r = notifications.send_pending(ctx, notifications.build_sender(ctx), limit=limit)
    click.echo(
        f"{r.sent} sent, {r.skipped} skipped, {r.failed} failed, {r.retry} to retry"
        + (" (channel unavailable, stopped early)" if r.stopped_early else "")
    )


@stats_cli.command("rebuild-rollup")
def stats_rebuild_rollup() -> None:
    """Refill the rollups (hazard_daily and hazard_monthly from the hazards, task_daily from
    the inspection tasks) in one transaction (after COPY or bulk edits)."""
    with context().uow() as uow:
        # task_daily first: a task submission adds to it, then to hazard_daily (the hazards
        # its failed items report), so the refill takes the tables' locks in that order too.
        tasks = task_rollup.rebuild(uow.session)
        hazards = rollup.rebuild(uow.session)
        uow.commit()
    click.echo(f"hazard_daily rebuilt: {hazards} rows; task_daily rebuilt: {tasks} rows")


@stats_cli.command("check-rollup")
def stats_check_rollup() -> None:
    """Compare the rollups with a recount of the hazards and of the inspection tasks; list
    differences (exit code 1)."""
    # The tables and the recounts from one snapshot: writes in between are not differences.
    with snapshot_session(context().session_factory) as session:
        hazards = rollup.differences(session)
        tasks = task_rollup.differences(session)
    lines = [
        f"DIFFERENT {d.unit_path} {d.day} {d.level} {d.counter}: "
        f"stored {d.stored:g}, recounted {d.recomputed:g}"
        for d in hazards
    ] + [
        f"DIFFERENT {d.unit_path} {d.day} task_daily {d.counter}: "
        f"stored {d.stored}, recounted {d.recomputed}"
        for d in tasks
    ]
    for line in lines[:100]:
        click.echo(line)
    click.echo(
        f"{len(lines)} differences ({len(hazards)} in the hazard rollup, {len(tasks)} in the "
        "task rollup)" + (", first 100 shown" if len(lines) > 100 else "")
    )
    if lines:
        raise SystemExit(1)


@users_cli.command("unlock")
@click.argument("username")
def users_unlock(username: str) -> None:
    """Lift an account's login lockout: forget its failed password logins."""
    forgotten = lockout.unlock(context(), username)
    click.echo(f"{username.strip()} unlocked ({forgotten} failed logins forgotten)")


def _read_password(password_file: Path | None, password_stdin: bool) -> str:
    """The new password: from a file's first line, stdin's first line, or typed twice."""
    if password_file is not None and password_stdin:
        raise click.UsageError("--password-file and --password-stdin exclude each other")
    if password_file is not None:
        lines = password_file.read_text(encoding="utf-8").splitlines()
        password = lines[0] if lines else ""
    elif password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(
            "Password / 密码",
            hide_input=True,
            confirmation_prompt="Repeat for confirmation / 再次输入",
        )
    if not password:
        raise click.ClickException("空密码 / empty password")
    return password


@users_cli.command("create-admin")
@click.argument("username")
@click.option("--display-name", default="", help="Name shown in the console (e.g. 张伟).")
@click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the password from this file's first line (for scripts).",
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from stdin's first line."
)
def users_create_admin(
    username: str, display_name: str, password_file: Path | None, password_stdin: bool
) -> None:
    """Create an administrator account (the first one after a fresh install). The password
    is asked twice unless given by --password-file or --password-stdin; weak ones are refused."""
    name = username.strip()
    if not users.USERNAME.fullmatch(name):
        raise click.ClickException(
            f"用户名应为 3～64 个字母、数字或 . _ - @ / username must be 3-64 letters, digits "
            f"or . _ - @ (got {username!r})"
        )
    password = _read_password(password_file, password_stdin)
    try:
        user = users.create_user(
            context(),
            system_actor(),
            username=name,
            password=password,
            display_name=display_name.strip(),
            role=Role.ADMIN,
        )
    except passwords.WeakPassword as exc:
        raise click.ClickException(f"{exc.message} / {exc.message_en}") from exc
    except Conflict as exc:
        raise click.ClickException(
            f"用户 {name} 已存在，未作修改 / user {name} already exists, nothing changed"
        ) from exc
    click.echo(f"admin {user.username} created (id {user.id}); log in with POST /api/v1/auth/login")


def _row_line(r: staff_import.StaffRowReport) -> str:
    if r.status == "ok":
        return f"row {r.row}: {r.username} {r.action}"
    reasons = "; ".join(f"{name}: {', '.join(msgs)}" for name, msgs in r.errors.items())
    return f"row {r.row}: {r.username or '-'} refused ({reasons})"


@users_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--mode",
    type=click.Choice([m.value for m in ImportMode]),
    default=ImportMode.ATOMIC.value,
    show_default=True,
    help="atomic: all rows or none; partial: the good rows.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the one-time passwords (CSV) to this new file, readable by you only (0600), "
    "instead of stdout.",
)
def users_import(file: Path, mode: str, out: Path | None) -> None:
    """Create staff accounts from a CSV/XLSX file (docs/staff-import-example.csv). Each new
    account's one-time password is printed once, as CSV, to stdout or --out; the report on
    every row goes to stderr (to stdout with --out). Exit code 1 if any row was refused."""
    sink = None
    if out is not None:
        # Created before anything is written, so the passwords always have a place to go;
        # never over an existing file (an earlier list would be lost).
        try:
            descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise click.ClickException(f"{out} exists; choose a new file for --out") from exc
        sink = os.fdopen(descriptor, "w", encoding="utf-8-sig", newline="")
    try:
        report = staff_import.import_staff(
            context(),
            system_actor(),
            filename=file.name,
            data=file.read_bytes(),
            mode=ImportMode(mode),
        )
    except BaseException:
        if sink is not None:
            sink.close()
            out.unlink(missing_ok=True)  # type: ignore[union-attr]
        raise
    to_stderr = sink is None
    for r in report.rows:
        click.echo(_row_line(r), err=to_stderr)
    created = [r for r in report.rows if r.one_time_password]
    if sink is not None:
        with sink:
            _password_list(sink, created)
        if not created:
            out.unlink(missing_ok=True)  # type: ignore[union-attr]
    elif created:
        _password_list(sys.stdout, created)
    summary = (
        f"{report.created} accounts created, {report.failed} rows refused"
        if report.committed
        else f"nothing written: {report.failed} of {report.total} rows refused (atomic mode)"
    )
    if created and out is not None:
        summary += f"; one-time passwords in {out} (shown only there)"
    if report.failed:
        raise click.ClickException(summary)
    click.echo(summary, err=to_stderr)


def _password_list(stream: Any, rows: list[staff_import.StaffRowReport]) -> None:
    """The one-time passwords as CSV: username, name, password (text that a spreadsheet
    would run as a formula is neutralised, as in every export)."""
    writer = csv.writer(stream)
    writer.writerow(["用户名", "姓名", "一次性密码"])
    for r in rows:
        writer.writerow([neutralise(v) for v in (r.username, r.display_name, r.one_time_password)])
    stream.flush()


@jobs_cli.command("consume")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True)
@click.option(
    "--no-scheduler", is_flag=True, help="Run jobs only; leave periodic work to other consumers."
)
def jobs_consume(workers: int, no_scheduler: bool) -> None:
    """Run jobs and periodic work until stopped (one per box, e.g. a systemd unit)."""
    ctx = context()
    if ctx.settings.jobs_immediate:
        raise click.ClickException("JOBS_IMMEDIATE is set: jobs run in the app, not here")
    queue = install_queue(ctx)
    where = "Redis" if ctx.settings.redis_url else ctx.settings.jobs_queue_file
    click.echo(f"consuming {ctx.settings.jobs_queue_name} on {where} with {workers} workers")
    queue.consumer(workers, scheduler=not no_scheduler).run()


@jobs_cli.command("periodic")
@click.argument("name", type=click.Choice(sorted(periodic.BY_NAME)))
def jobs_periodic(name: str) -> None:
    """Run one periodic task for the current period, unless a consumer already did."""
    outcome = periodic.run_once(context(), name)
    click.echo(outcome if outcome is not None else f"{name}: already run for this period")


@jobs_cli.command("reap")
def jobs_reap() -> None:
    """Retry (or fail) jobs whose consumer went silent; requeue lost messages."""
    r = jobs_running.reap(context())
    click.echo(f"{r.retried} retried, {r.failed} failed, {r.requeued} requeued")


@jobs_cli.command("collect")
def jobs_collect() -> None:
    """Delete expired job results and the inputs of finished jobs."""
    click.echo(f"{jobs_running.collect(context())} objects deleted")


@documents_cli.command("build")
@click.option("--kind", type=click.Choice([k.value for k in DocumentKind]), required=True)
@click.option(
    "--period", default=None, help="2026-11, 2026-W48 or 2026-Q4 [default: the latest finished]"
)
@click.option(
    "--region",
    "region_code",
    default=None,
    help="Statistical area code (12 digits) [default: every region with supervisors]",
)
def documents_build(kind: str, period: str | None, region_code: str | None) -> None:
    """File (or file again, replacing the files) a period's documents; supervisors are told
    once per document."""
    ctx = context()
    document_kind = DocumentKind(kind)
    period = period or filing.last_period(document_kind, ctx.now())
    period = filing.check_period(document_kind, period)
    if region_code is not None:
        targets = [regions.region_id_by_code(ctx, region_code)]
    else:
        targets = [r.id for r in filing.supervised_regions(ctx)]
    created = replaced = notified = 0
    with click.progressbar(targets, label=f"filing {kind} {period}") as bar:
        for region_id in bar:
            filed = filing.file_document(ctx, region_id, document_kind, period)
            created += filed.created
            replaced += not filed.created
            notified += filed.notified
    click.echo(
        f"{kind} {period}: {created} filed, {replaced} replaced, {notified} supervisors notified"
    )


def register_cli(app: Flask) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(db_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(qr_cli)
    app.cli.add_command(hazards_cli)
    app.cli.add_command(inspections_cli)
    app.cli.add_command(media_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(stats_cli)
    app.cli.add_command(idempotency_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(documents_cli)
