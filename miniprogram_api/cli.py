"""Command-line tools: `flask db ...`, `flask demo seed`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from miniprogram_api.auth import context
from service import demo, migrations

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")
demo_cli = AppGroup("demo", help="Demo data.")


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
        "{users} users".format(**counts)
    )
    click.echo(f"demo accounts (password {demo.DEMO_PASSWORD}):")
    for account in demo.ACCOUNTS:
        click.echo(f"  {account.username:<10} {account.role.value:<19} {account.description}")


def register_cli(app: Flask) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(db_cli)
    app.cli.add_command(demo_cli)
