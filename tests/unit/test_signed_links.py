"""Signed photo links: always valid for what was asked, reused within a quarter of it, and
signed for MEDIA_URL_TTL_SECONDS wherever a photo is shown."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from service.core.settings import Settings
from service.media.links import link_ttl, photo_links
from service.media.storage import MAX_PRESIGN_EXPIRY, SignedLinks, link_window

SEVEN_DAYS = int(MAX_PRESIGN_EXPIRY.total_seconds())


@pytest.mark.parametrize("seconds", [1, 3, 4, 60, 300, 3601, SEVEN_DAYS - 100, SEVEN_DAYS])
def test_a_link_lasts_at_least_what_was_asked_and_at_most_a_quarter_more(seconds):
    rng = random.Random(seconds)
    for now in [0.0, 1_790_000_000.5, *(rng.uniform(1.7e9, 1.8e9) for _ in range(500))]:
        signed_at, valid_for = link_window(seconds, now)
        assert signed_at <= now  # never dated in the future
        assert signed_at + valid_for >= int(now) + seconds  # to the second, as S3's
        assert valid_for <= min(seconds + seconds // 4, SEVEN_DAYS)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_links_are_signed_once_per_window_and_checked_before_signing():
    signed, checked = [], []
    clock = Clock(1_800_000_000.0)  # a multiple of 75 s: a window starts here

    def sign(key: str, signed_at: int, valid_for: int, disposition: str | None) -> str:
        signed.append((key, signed_at, valid_for))
        return f"{key}?at={signed_at}&for={valid_for}"

    links = SignedLinks(sign, clock)
    ttl = timedelta(seconds=300)
    first = links.get("a/b.jpg", ttl, checked.append)
    clock.now += 74
    assert links.get("a/b.jpg", ttl, checked.append) == first
    assert signed == [("a/b.jpg", 1_800_000_000, 375)] and checked == ["a/b.jpg"]

    clock.now += 1  # the next quarter: a new link, still valid for 300 s from now
    second = links.get("a/b.jpg", ttl, checked.append)
    assert second != first and signed[-1] == ("a/b.jpg", 1_800_000_075, 375)
    assert len(checked) == 2


def test_a_refused_key_is_never_kept():
    links = SignedLinks(lambda key, at, valid, disposition: key, Clock(1_800_000_000.0))

    def refuse(key: str) -> None:
        raise ValueError(key)

    for _ in range(2):
        with pytest.raises(ValueError):
            links.get("../x", timedelta(seconds=300), refuse)


def test_the_kept_links_are_bounded(monkeypatch):
    monkeypatch.setattr("service.media.storage.SIGNED_LINKS_KEPT", 10)
    links = SignedLinks(lambda key, at, valid, disposition: key, Clock(1_800_000_000.0))
    for n in range(25):
        links.get(f"k/{n}.jpg", timedelta(seconds=300), lambda key: None)
    assert len(links._kept) <= 10


class RecordingStorage:
    """Only what signing a photo asks of a storage: `presigned_get`."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, timedelta]] = []

    def presigned_get(self, key: str, expires: timedelta) -> str:
        self.asked.append((key, expires))
        return f"https://files.test/{key}?for={int(expires.total_seconds())}"


def test_a_photo_and_its_thumbnail_are_signed_for_media_url_ttl_seconds():
    storage = RecordingStorage()
    ttl = link_ttl(Settings(media_url_ttl_seconds=120))
    url, thumbnail_url = photo_links(storage, "media/ab/p.jpg", "thumbs/cd/p.jpg", ttl)
    assert url == "https://files.test/media/ab/p.jpg?for=120"
    assert thumbnail_url == "https://files.test/thumbs/cd/p.jpg?for=120"
    assert storage.asked == [("media/ab/p.jpg", ttl), ("thumbs/cd/p.jpg", ttl)]


def test_without_a_storage_a_photo_has_empty_links():
    assert photo_links(None, "media/ab/p.jpg", "thumbs/cd/p.jpg", timedelta(seconds=60)) == (
        "",
        "",
    )
