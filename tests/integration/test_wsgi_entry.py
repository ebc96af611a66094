"""The server entry point (`gunicorn wsgi:app`) as a worker imports it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, wsgi
alive = len(gc.get_objects())  # what the collector still walks (frozen objects are not)
print(gc.get_freeze_count(), alive, wsgi.app.name)
"""


def test_the_built_app_is_kept_out_of_the_collectors_full_passes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "APP_ENV")}
    env |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'probe.db'}", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    frozen, alive, name = done.stdout.split()
    assert name == "miniprogram_api.app"
    # Everything the import built is frozen; what a collection still walks is a sliver.
    assert int(frozen) > 20 * int(alive)
