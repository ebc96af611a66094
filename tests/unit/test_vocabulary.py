"""The vocabulary: every hazard enum has its Chinese label, and "open" is defined once."""

from __future__ import annotations

import pytest

from service.notifications.delivery import TEMPLATE_FIELDS, message_data
from service.notifications.models import Notification
from uploads_schema.vocabulary import (
    ACTION_LABELS,
    CATEGORY_LABELS,
    LEVEL_LABELS,
    OPEN_STATUSES,
    SOURCE_LABELS,
    STATUS_LABELS,
    HazardAction,
    HazardCategory,
    HazardLevel,
    HazardSource,
    HazardStatus,
    NotificationKind,
)


@pytest.mark.parametrize(
    ("labels", "enum"),
    [
        (STATUS_LABELS, HazardStatus),
        (SOURCE_LABELS, HazardSource),
        (LEVEL_LABELS, HazardLevel),
        (CATEGORY_LABELS, HazardCategory),
        (ACTION_LABELS, HazardAction),
    ],
    ids=["status", "source", "level", "category", "action"],
)
def test_every_hazard_value_has_a_chinese_label(labels: dict, enum: type) -> None:
    assert set(labels) == set(enum)
    assert all(labels.values())


def test_open_means_neither_closed_nor_rejected() -> None:
    assert set(OPEN_STATUSES) == set(HazardStatus) - {HazardStatus.CLOSED, HazardStatus.REJECTED}


@pytest.mark.parametrize("status", list(HazardStatus))
def test_a_reminder_names_a_status_as_the_hazard_json_does(status: HazardStatus) -> None:
    notification = Notification(
        kind=NotificationKind.ASSIGNED, payload={"number": "YH1", "status": status.value}
    )
    data = message_data(notification)
    assert data[TEMPLATE_FIELDS["status"]]["value"] == STATUS_LABELS[status]
