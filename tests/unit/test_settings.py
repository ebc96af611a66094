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


def test_production_refuses_dev_login():
    env = {
        "APP_ENV": "production",
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
