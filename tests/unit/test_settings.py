import pytest

from service.core.settings import Settings, SettingsError


def test_defaults_need_no_environment():
    settings = Settings.from_env({})
    assert settings.verify_within_hours == 72
    assert settings.database_url.startswith("sqlite:///")
    assert settings.storage_backend == "local"
    assert settings.auth_dev_login is False
    assert settings.wechat_api_base == "https://api.weixin.qq.com"


def test_values_are_parsed_by_type():
    settings = Settings.from_env(
        {"AUTH_DEV_LOGIN": "1", "JWT_ACCESS_TTL_MINUTES": "15", "CHECKIN_RADIUS_M": "250.5"}
    )
    assert settings.auth_dev_login is True
    assert settings.jwt_access_ttl_minutes == 15
    assert settings.checkin_radius_m == 250.5


def test_a_malformed_value_names_the_variable():
    with pytest.raises(SettingsError, match="JWT_ACCESS_TTL_MINUTES"):
        Settings.from_env({"JWT_ACCESS_TTL_MINUTES": "soon"})


@pytest.mark.parametrize(
    "name", ["IDEMPOTENCY_TTL_HOURS", "MEDIA_PENDING_TTL_HOURS", "VERIFY_WITHIN_HOURS"]
)
def test_a_period_of_less_than_an_hour_is_refused(name):
    assert Settings.from_env({name: "1"})
    with pytest.raises(SettingsError, match=f"{name} must be at least 1"):
        Settings.from_env({name: "0"})


def test_production_refuses_to_start_without_its_secrets():
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"APP_ENV": "production"})
    message = str(info.value)
    for name in ("SECRET_KEY", "PUBLIC_BASE_URL", "WECHAT_APPID"):
        assert name in message


PRODUCTION = {
    "APP_ENV": "production",
    "DATABASE_URL": "postgresql+psycopg://mashangcha:pw@db.internal/mashangcha",
    "SECRET_KEY": "x" * 40,
    "PUBLIC_BASE_URL": "https://hazard.example.cn",
    "WECHAT_APPID": "wx1",
    "WECHAT_SECRET": "s",
}


def test_production_refuses_dev_login():
    env = {
        "APP_ENV": "production",
        "DATABASE_URL": PRODUCTION["DATABASE_URL"],
        "SECRET_KEY": "x" * 40,
        "PUBLIC_BASE_URL": "https://hazard.example.cn",
        "WECHAT_APPID": "wx1",
        "WECHAT_SECRET": "s",
        "AUTH_DEV_LOGIN": "1",
    }
    with pytest.raises(SettingsError, match="AUTH_DEV_LOGIN"):
        Settings.from_env(env)
    env["AUTH_DEV_LOGIN"] = "0"
    assert Settings.from_env(env).is_production


def test_minio_backend_needs_its_endpoint_and_keys():
    with pytest.raises(SettingsError, match="MINIO_ENDPOINT"):
        Settings.from_env({"STORAGE_BACKEND": "minio"})


def test_production_refuses_to_start_without_a_database_url():
    env = {k: v for k, v in PRODUCTION.items() if k != "DATABASE_URL"}
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    assert "DATABASE_URL must be set in production" in str(info.value)
    assert "\n" not in str(info.value)
    # Outside production the embedded default stays (make demo, tests).
    assert Settings.from_env({}).database_url.startswith("sqlite:///")


@pytest.mark.parametrize("endpoint", ["minio:9000", "10.0.0.5:9000", "minio", "[::1]:9000"])
def test_minio_endpoint_is_a_host_and_port(endpoint):
    settings = Settings.from_env(
        {"STORAGE_BACKEND": "minio", "MINIO_ENDPOINT": endpoint}
        | {"MINIO_ACCESS_KEY": "k", "MINIO_SECRET_KEY": "s"}
    )
    assert settings.minio_endpoint == endpoint


@pytest.mark.parametrize(
    "endpoint",
    ["http://minio:9000", "https://minio:9000", "minio:9000/photos", "minio:9000/", "minio:port"],
)
def test_a_minio_endpoint_with_a_scheme_or_a_path_is_refused_in_one_line(endpoint):
    env = {"STORAGE_BACKEND": "minio", "MINIO_ENDPOINT": endpoint}
    env |= {"MINIO_ACCESS_KEY": "k", "MINIO_SECRET_KEY": "s"}
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    message = str(info.value)
    assert "MINIO_ENDPOINT must be host:port without a scheme or path" in message
    assert "e.g. 127.0.0.1:9000" in message and repr(endpoint) in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "endpoint", ["https://media.example.cn", "https://media.example.cn:8443/", "http://10.0.0.5"]
)
def test_a_public_media_endpoint_is_a_scheme_and_a_host(endpoint):
    settings = Settings.from_env({"MINIO_PUBLIC_ENDPOINT": endpoint, "MINIO_REGION": "us-east-1"})
    assert settings.minio_public_endpoint == endpoint


@pytest.mark.parametrize(
    "endpoint",
    [
        "media.example.cn",
        "https://media.example.cn/photos",
        "https://media.example.cn?x=1",
        "ftp://media.example.cn",
        "https://user@media.example.cn",
    ],
)
def test_a_malformed_public_media_endpoint_is_refused_in_one_line(endpoint):
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"MINIO_PUBLIC_ENDPOINT": endpoint, "MINIO_REGION": "us-east-1"})
    message = str(info.value)
    assert "MINIO_PUBLIC_ENDPOINT must be a scheme and a host" in message
    assert "e.g. https://media.example.cn" in message and "\n" not in message


def test_a_public_media_endpoint_needs_the_region_and_https_in_production():
    with pytest.raises(SettingsError, match="MINIO_REGION is required with MINIO_PUBLIC_ENDPOINT"):
        Settings.from_env({"MINIO_PUBLIC_ENDPOINT": "https://media.example.cn"})
    with pytest.raises(SettingsError, match="MINIO_PUBLIC_ENDPOINT must be https://"):
        Settings.from_env(
            PRODUCTION | {"MINIO_PUBLIC_ENDPOINT": "http://media.example.cn", "MINIO_REGION": "r"}
        )


def test_production_warns_once_about_each_weak_default():
    warnings = Settings.from_env(PRODUCTION | {"DATABASE_URL": "sqlite:////srv/m.db"}).warnings()
    assert len(warnings) == 3
    sqlite, local, sender = warnings
    assert sqlite.startswith("DATABASE_URL is SQLite")
    assert local.startswith("STORAGE_BACKEND=local")
    assert sender.startswith("NOTIFICATION_SENDER=log")
    assert all("\n" not in line for line in warnings)
    # No REDIS_URL is no weakness: the limits then count in the database, shared alike.
    assert not [line for line in warnings if "REDIS_URL" in line]


@pytest.mark.parametrize(
    "name", ["RATELIMIT_SCAN", "RATELIMIT_LOGIN", "RATELIMIT_UPLOAD", "LOGIN_LOCKOUT"]
)
def test_a_malformed_rate_is_refused_at_start(name):
    with pytest.raises(SettingsError) as info:
        Settings.from_env({name: "five a minute"})
    assert f"{name} must be a rate like 60/minute or 5/15 minutes, not 'five a minute'" in str(
        info.value
    )


def test_the_lockout_is_one_rate():
    with pytest.raises(SettingsError, match="LOGIN_LOCKOUT must be a rate"):
        Settings.from_env({"LOGIN_LOCKOUT": "5/15 minutes;20/day"})
    assert Settings.from_env({"RATELIMIT_SCAN": "10/second;60/minute"}).ratelimit_scan


def test_a_complete_production_setup_has_nothing_to_warn_about():
    complete = PRODUCTION | {
        "STORAGE_BACKEND": "minio",
        "MINIO_ENDPOINT": "10.0.0.5:9000",
        "MINIO_ACCESS_KEY": "k",
        "MINIO_SECRET_KEY": "s",
        "MINIO_REGION": "us-east-1",
        "MINIO_PUBLIC_ENDPOINT": "https://media.example.cn",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "NOTIFICATION_SENDER": "wechat",
    }
    assert Settings.from_env(complete).warnings() == []
    without_public = {k: v for k, v in complete.items() if k != "MINIO_PUBLIC_ENDPOINT"}
    [line] = Settings.from_env(without_public).warnings()
    assert line.startswith("MINIO_PUBLIC_ENDPOINT is empty")
    # Development is allowed its defaults quietly.
    assert Settings.from_env({}).warnings() == []


# The constant earlier versions signed with when SECRET_KEY was unset: public, in the source.
OLD_PUBLIC_SECRET = "dev-only-secret-change-me"


def test_without_secret_key_an_installation_makes_its_own_random_key(tmp_path, caplog):
    kept = tmp_path / "var" / "secret_key"
    with caplog.at_level("WARNING", logger="service.core.settings"):
        first = Settings.from_env({"SECRET_KEY_FILE": str(kept)})
    assert len(first.secret_key) >= 32 and first.secret_key != OLD_PUBLIC_SECRET
    assert kept.read_text().strip() == first.secret_key
    assert kept.stat().st_mode & 0o777 == 0o600  # readable by its owner only
    assert "SECRET_KEY is not set" in caplog.text and first.secret_key not in caplog.text
    # The next start (another worker, a restart) signs with the same key ...
    assert Settings.from_env({"SECRET_KEY_FILE": str(kept)}).secret_key == first.secret_key
    # ... and another installation with its own.
    other = Settings.from_env({"SECRET_KEY_FILE": str(tmp_path / "other")})
    assert other.secret_key != first.secret_key


def test_a_kept_key_too_short_to_trust_is_replaced(tmp_path):
    kept = tmp_path / "secret_key"
    kept.write_text("short\n")
    settings = Settings.from_env({"SECRET_KEY_FILE": str(kept)})
    assert len(settings.secret_key) >= 32
    assert kept.read_text().strip() == settings.secret_key


def test_a_set_secret_key_is_used_and_no_key_file_is_made(tmp_path):
    key = "k" * 40
    kept = tmp_path / "secret_key"
    settings = Settings.from_env({"SECRET_KEY": key, "SECRET_KEY_FILE": str(kept)})
    assert settings.secret_key == key
    assert not kept.exists()


def test_production_never_makes_its_own_key(tmp_path):
    kept = tmp_path / "secret_key"
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        Settings.from_env({"APP_ENV": "production", "SECRET_KEY_FILE": str(kept)})
    assert not kept.exists()


def test_settings_built_in_code_never_share_a_key():
    assert Settings().secret_key != Settings().secret_key
    assert OLD_PUBLIC_SECRET not in repr(Settings())


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://tiles.example.cn/{z}/{x}/{y}.png", "https://tiles.example.cn"),
        ("http://127.0.0.1:8081/t/{z}/{x}/{y}.png", "http://127.0.0.1:8081"),
        (
            "https://T0.Tianditu.gov.cn/img_w/wmts?TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=k",
            "https://t0.tianditu.gov.cn",
        ),
    ],
)
def test_a_map_tile_url_names_the_one_origin_the_console_loads_tiles_from(url, origin):
    settings = Settings.from_env({"MAP_TILE_URL": url, "MAP_TILE_ATTRIBUTION": "© 天地图"})
    assert settings.map_tile_url == url and settings.map_tile_attribution == "© 天地图"
    assert settings.map_tile_origin == origin
    assert Settings.from_env({}).map_tile_origin == ""


@pytest.mark.parametrize(
    "url",
    [
        "tiles.example.cn/{z}/{x}/{y}.png",
        "ftp://tiles.example.cn/{z}/{x}/{y}.png",
        "https://{s}.tiles.example.cn/{z}/{x}/{y}.png",
        "https://user:pass@tiles.example.cn/{z}/{x}/{y}.png",
        "https://tiles.example.cn/{z}/{x}.png",
        "https://tiles.example.cn/{z}/{x}/{y}/{r}.png",
        "https://tiles.example.cn/{z}/{x}/{y}.png; img-src *",
        "https://tiles.example.cn/{z}/{x}/{y}.png#top",
    ],
)
def test_a_malformed_map_tile_url_is_refused_in_one_line(url):
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"MAP_TILE_URL": url})
    message = str(info.value)
    assert "MAP_TILE_URL must be an http(s) URL template on one host" in message
    assert repr(url) in message and "\n" not in message


def test_production_takes_only_an_https_tile_service():
    url = "http://tiles.example.cn/{z}/{x}/{y}.png"
    problems = Settings(app_env="production", map_tile_url=url).problems()
    assert "MAP_TILE_URL must be https:// in production" in "; ".join(problems)


def test_a_read_replica_is_optional_and_kept_as_given():
    assert Settings.from_env({}).database_read_url == ""
    replica = "postgresql+psycopg://reader@10.0.0.6/mashangcha"
    primary = "postgresql+psycopg://app@10.0.0.5/mashangcha"
    settings = Settings.from_env({"DATABASE_URL": primary, "DATABASE_READ_URL": replica})
    assert settings.database_read_url == replica


@pytest.mark.parametrize(
    ("primary", "replica", "expected"),
    [
        (
            "postgresql+psycopg://app@db/m",
            "sqlite:////srv/replica.db",
            "DATABASE_READ_URL must name a PostgreSQL read replica",
        ),
        (
            "sqlite:////srv/m.db",
            "postgresql+psycopg://reader@db/m",
            "DATABASE_READ_URL needs DATABASE_URL on PostgreSQL",
        ),
        (
            "postgresql+psycopg://app@db/m",
            "postgresql+psycopg://reader@db:port/m",
            "DATABASE_READ_URL is not a database URL",
        ),
    ],
)
def test_a_read_replica_that_cannot_be_one_is_refused_at_start(primary, replica, expected):
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"DATABASE_URL": primary, "DATABASE_READ_URL": replica})
    assert expected in str(info.value) and "\n" not in str(info.value)
