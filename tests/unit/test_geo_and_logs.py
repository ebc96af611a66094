import pytest

from miniprogram_api.logs import redact_path
from service.directory.geo import haversine_m

ONE_DEGREE_M = 111_194.93  # π/180 × mean earth radius


def test_one_degree_along_a_meridian_and_the_equator():
    assert haversine_m(0, 0, 1, 0) == pytest.approx(ONE_DEGREE_M, abs=1)
    assert haversine_m(0, 0, 0, 1) == pytest.approx(ONE_DEGREE_M, abs=1)


def test_longitude_shrinks_with_latitude():
    # at 60° a degree of longitude is half as long
    assert haversine_m(60, 10, 60, 11) == pytest.approx(ONE_DEGREE_M / 2, rel=2e-3)


def test_distance_is_symmetric_and_zero_at_the_same_point():
    a, b = (31.7, 119.9), (31.71, 119.95)
    assert haversine_m(*a, *b) == pytest.approx(haversine_m(*b, *a))
    assert haversine_m(*a, *a) == 0


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/q/aB3dE5gH7jK9mN1pQ3sT5v", "/q/[token]"),
        ("/api/v1/scan/aB3dE5gH7jK9mN1pQ3sT5v", "/api/v1/scan/[token]"),
        ("/api/v1/scan/aB3dE5gH7jK9mN1pQ3sT5v/checkins", "/api/v1/scan/[token]/checkins"),
        ("/api/v1/receipts/Xy_9-abcDEF012345678ghij", "/api/v1/receipts/[token]"),
        ("/api/v1/hazards/12", "/api/v1/hazards/12"),
    ],
)
def test_tokens_are_redacted_from_logged_paths(path, expected):
    assert redact_path(path) == expected
