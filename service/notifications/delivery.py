"""Delivering the outbox (消息提醒): due rows go to a sender, the outcome is recorded.

`flask outbox send` runs `send_pending` from cron. Senders: `LogSender` (the default,
writes a log line) and `WeChatSubscribeSender` (订阅消息 through the WeChat server API
at WECHAT_API_BASE). A sender says how a failure should be treated by the exception it
raises; delivery is at-least-once (a run that crashes mid-send is retried).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import requests
from sqlalchemy import select, update

from service.core.clock import to_china, utcnow
from service.core.context import Context
from service.core.settings import Settings, SettingsError
from service.directory.models import User
from service.notifications.models import Notification
from uploads_schema.vocabulary import (
    DOCUMENT_KIND_LABELS,
    STATUS_LABELS,
    DocumentKind,
    HazardStatus,
    NotificationKind,
    NotificationStatus,
)

log = logging.getLogger(__name__)

# Claimed rows are invisible to other runs this long; a run that dies mid-way is retried
# after it. Far longer than a run of `limit` sends at WECHAT_TIMEOUT_SECONDS each.
CLAIM_LEASE = timedelta(minutes=15)


class DeliveryError(Exception):
    """A message was not delivered; the subclass says what happens next."""


class PermanentFailure(DeliveryError):
    """Will never succeed as it stands (bad recipient or payload): FAILED now, not retried."""


class TemporaryFailure(DeliveryError):
    """May succeed later: retried with exponential backoff up to OUTBOX_MAX_ATTEMPTS."""


class ChannelUnavailable(TemporaryFailure):
    """The channel itself is down (network, access token, quota): the run stops early."""


class NoConsent(DeliveryError):
    """The recipient cannot get it on this channel (no openid, no subscription): SKIPPED."""


class Sender(Protocol):
    """Delivers one notification to one user, or raises a `DeliveryError`."""

    name: str

    def send(self, notification: Notification, recipient: User) -> None:
        """Deliver, or raise PermanentFailure / TemporaryFailure / NoConsent."""
        ...


class LogSender:
    """The zero-setup sender: one log line per message (no tokens, no openids)."""

    name = "log"

    def send(self, notification: Notification, recipient: User) -> None:
        """Write the message to the log."""
        payload = notification.payload or {}
        log.info(
            "notification %s for %s to user %s",
            notification.kind.value,
            payload.get("number") or payload.get("title") or "?",
            recipient.id,
        )


# The subscribe-message template layout we send. Pick templates in the mini-program
# console (订阅消息) whose keywords have these keys, or change the keys here.
TEMPLATE_FIELDS = {
    "number": "character_string1",  # 隐患编号
    "enterprise": "thing2",  # 企业名称
    "status": "phrase3",  # 隐患状态
    "deadline": "time4",  # 整改期限
    "note": "thing5",  # 温馨提示
}
_LIMITS = {"character_string": 32, "thing": 20, "phrase": 5}  # WeChat's per-type length caps

_KIND_STATUS = {
    NotificationKind.OVERDUE: "已逾期",
    NotificationKind.DUE_SOON: "即将到期",
    NotificationKind.VERIFY_LATE: "验收超时",
}
_NOTES = {
    NotificationKind.ASSIGNED: "您有隐患待整改，请按期完成",
    NotificationKind.FIX_SUBMITTED: "整改已提交，请及时验收",
    NotificationKind.DUE_SOON: "整改期限将至，请抓紧整改",
    NotificationKind.VERIFY_LATE: "整改已提交，验收超时，请督促验收",
}
_OVERDUE_NOTES = {
    1: "隐患已逾期，请立即整改",
    2: "网格内隐患逾期未改，请督促整改",
    3: "隐患逾期未改，已升级督办",
}


def message_data(notification: Notification) -> dict[str, dict[str, str]]:
    """The template `data` in Chinese: number, enterprise, status, deadline, note."""
    payload: Mapping[str, Any] = notification.payload or {}
    kind = notification.kind
    if kind is NotificationKind.DOCUMENT_FILED:
        return _document_data(payload)
    status = payload.get("status")
    try:
        status_label = STATUS_LABELS[HazardStatus(status)]
    except ValueError:
        status_label = ""
    status_label = _KIND_STATUS.get(kind, status_label) or "有更新"
    if kind is NotificationKind.OVERDUE:
        note = _OVERDUE_NOTES.get(int(payload.get("level") or 1), _OVERDUE_NOTES[1])
    elif kind is NotificationKind.VERIFIED:
        note = "验收通过，隐患已销号" if status == HazardStatus.CLOSED else "验收未通过，请继续整改"
    else:
        note = _NOTES.get(kind, "隐患状态有更新，请查看")
    values = {
        "number": str(payload.get("number", "")),
        "enterprise": str(payload.get("enterprise", "")) or "—",
        "status": status_label,
        "note": note,
    }
    if payload.get("deadline"):
        deadline = to_china(datetime.fromisoformat(str(payload["deadline"])))
        values["deadline"] = deadline.strftime("%Y-%m-%d %H:%M")
    # No deadline in the payload: leave `time4` out rather than send a made-up time.
    return {TEMPLATE_FIELDS[k]: {"value": _fit(TEMPLATE_FIELDS[k], v)} for k, v in values.items()}


def _document_data(payload: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    # The same template keys as a hazard's message: 编号 is the period, 企业 the region.
    label = DOCUMENT_KIND_LABELS.get(DocumentKind(payload["document_kind"]), "文书")
    values = {
        "number": str(payload.get("period", "")),
        "enterprise": str(payload.get("region", "")) or "—",
        "status": "已生成",
        "note": f"{label}已生成，请到控制台文书中查看",
    }
    return {TEMPLATE_FIELDS[k]: {"value": _fit(TEMPLATE_FIELDS[k], v)} for k, v in values.items()}


def _fit(key: str, value: str) -> str:
    limit = next((n for prefix, n in _LIMITS.items() if key.startswith(prefix)), None)
    if limit is None or len(value) <= limit:
        return value
    return value[: limit - 1] + "…"


_TOKEN_INVALID = frozenset({40001, 40014, 42001})  # invalid / malformed / expired access_token
_CHANNEL_ERRCODES = frozenset({45009, 45011})  # daily / per-minute API quota reached
# The same request fails the same way every time: invalid openid, invalid template data.
_PERMANENT_ERRCODES = frozenset({40003, 47003})
_TOKEN_REFRESH_MARGIN = timedelta(minutes=5)


class WeChatSubscribeSender:
    """订阅消息 via `/cgi-bin/message/subscribe/send`, with a cached access token."""

    name = "wechat"

    def __init__(
        self,
        base_url: str,
        appid: str,
        secret: str,
        templates: Mapping[NotificationKind, str],
        page: str,
        *,
        miniprogram_state: str = "formal",
        timeout: float = 5.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.appid = appid
        self.secret = secret
        self.templates = dict(templates)
        self.page = page
        self.miniprogram_state = miniprogram_state
        self.timeout = timeout
        self._clock = clock
        self._http = requests.Session()
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_valid_until: datetime | None = None

    def send(self, notification: Notification, recipient: User) -> None:
        """Send one subscribe message to the recipient's openid."""
        if not recipient.openid:
            raise NoConsent("recipient has no WeChat openid")
        template_id = self.templates.get(notification.kind)
        if not template_id:
            raise NoConsent(f"no template configured for {notification.kind.value}")
        body = {
            "touser": recipient.openid,
            "template_id": template_id,
            "miniprogram_state": self.miniprogram_state,
            "lang": "zh_CN",
            "data": message_data(notification),
        }
        if notification.hazard_id is not None:
            body["page"] = f"{self.page}?id={notification.hazard_id}"
        elif notification.kind is not NotificationKind.DOCUMENT_FILED:
            body["page"] = self.page
        # A filed document opens no page: the mini-program has none for it (the console has).
        answer = self._post_send(self._access_token(), body)
        errcode = _errcode(answer)
        if errcode in _TOKEN_INVALID:
            # Revoked early (e.g. someone else fetched a new token with our secret): once more.
            self._forget_token()
            answer = self._post_send(self._access_token(), body)
            errcode = _errcode(answer)
        if errcode == 0:
            return
        reason = f"errcode {errcode}: {str(answer.get('errmsg', ''))[:120]}"
        log.warning(
            "wechat subscribe send failed for notification %s (user %s): errcode %d",
            notification.id,
            recipient.id,
            errcode,
        )
        if errcode == 43101:  # the user has not subscribed (or used up their one-time consent)
            raise NoConsent(reason)
        if errcode in _PERMANENT_ERRCODES:
            raise PermanentFailure(reason)
        if errcode in _CHANNEL_ERRCODES or errcode in _TOKEN_INVALID:
            raise ChannelUnavailable(reason)
        raise TemporaryFailure(reason)

    def close(self) -> None:
        """Close pooled HTTP connections."""
        self._http.close()

    def _access_token(self) -> str:
        with self._lock:
            valid_until = self._token_valid_until
            if self._token is not None and valid_until and self._clock() < valid_until:
                return self._token
            answer = self._request(
                "GET",
                "/cgi-bin/token",
                params={
                    "grant_type": "client_credential",
                    "appid": self.appid,
                    "secret": self.secret,
                },
            )
            errcode = _errcode(answer)
            token = answer.get("access_token")
            if errcode or not isinstance(token, str) or not token:
                raise ChannelUnavailable(f"access_token request failed: errcode {errcode}")
            lifetime = timedelta(seconds=int(answer.get("expires_in") or 7200))
            self._token = token
            self._token_valid_until = (
                self._clock() + lifetime - min(_TOKEN_REFRESH_MARGIN, lifetime / 2)
            )
            return token

    def _forget_token(self) -> None:
        with self._lock:
            self._token = None

    def _post_send(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._request(
            "POST",
            "/cgi-bin/message/subscribe/send",
            params={"access_token": token},
            json=body,
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(
                method, self.base_url + path, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            # Only the class name: the exception text holds the URL, with the secret or token.
            raise ChannelUnavailable(f"network error: {type(exc).__name__}") from None
        if response.status_code >= 500:
            raise ChannelUnavailable(f"HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise TemporaryFailure(f"HTTP {response.status_code}, not a JSON object")
        return answer


def _errcode(answer: Mapping[str, Any]) -> int:
    try:
        return int(answer.get("errcode") or 0)
    except (TypeError, ValueError):
        return -1


def parse_templates(entries: tuple[str, ...]) -> dict[NotificationKind, str]:
    """`("overdue=TPL1", "due_soon=TPL2")` → {kind: template id}; unknown kinds are an error."""
    templates: dict[NotificationKind, str] = {}
    for entry in entries:
        kind, sep, template_id = entry.partition("=")
        if not sep or kind.strip() not in set(NotificationKind) or not template_id.strip():
            raise SettingsError(
                f"WECHAT_SUBSCRIBE_TEMPLATES: {entry!r} is not kind=template_id "
                f"(kinds: {', '.join(NotificationKind)})"
            )
        templates[NotificationKind(kind.strip())] = template_id.strip()
    return templates


def build_sender(ctx: Context) -> Sender:
    """The sender NOTIFICATION_SENDER names, built once per context (it caches a token)."""
    sender = ctx.adapters.get("notification_sender")
    if sender is None:
        sender = _new_sender(ctx.settings, ctx.now)
        ctx.adapters["notification_sender"] = sender
    return sender  # type: ignore[no-any-return]


def _new_sender(s: Settings, clock: Callable[[], datetime]) -> Sender:
    if s.notification_sender == "log":
        return LogSender()
    if s.notification_sender == "wechat":
        if not (s.wechat_appid and s.wechat_secret):
            raise SettingsError(
                "WECHAT_APPID and WECHAT_SECRET are required when NOTIFICATION_SENDER=wechat"
            )
        return WeChatSubscribeSender(
            s.wechat_api_base,
            s.wechat_appid,
            s.wechat_secret,
            parse_templates(s.wechat_subscribe_templates),
            s.wechat_subscribe_page,
            miniprogram_state=s.wechat_miniprogram_state,
            timeout=s.wechat_timeout_seconds,
            clock=clock,
        )
    raise SettingsError("NOTIFICATION_SENDER must be 'log' or 'wechat'")


@dataclass
class DeliveryReport:
    """What one delivery run did."""

    sent: int = 0
    skipped: int = 0
    failed: int = 0  # given up: permanent failure or OUTBOX_MAX_ATTEMPTS reached
    retry: int = 0  # failed this time, pending again with a later next_attempt_at
    stopped_early: bool = False  # the channel was down; the rest waits for the next run


def send_pending(
    ctx: Context, sender: Sender, limit: int = 100, now: datetime | None = None
) -> DeliveryReport:
    """Deliver up to `limit` due pending notifications and record each outcome."""
    clock = (lambda: now) if now is not None else ctx.now
    ids = _claim(ctx, limit, clock())
    report = DeliveryReport()
    for position, notification_id in enumerate(ids):
        loaded = _load(ctx, notification_id)
        if loaded is None:
            continue
        notification, recipient = loaded
        outcome: DeliveryError | None = None
        try:
            if not recipient.active:
                raise NoConsent("recipient account is deactivated")
            sender.send(notification, recipient)
        except DeliveryError as exc:
            outcome = exc
        except Exception as exc:  # a sender bug must not wedge the queue on one row
            log.exception("sender %s crashed on notification %s", sender.name, notification_id)
            outcome = TemporaryFailure(f"sender error: {type(exc).__name__}")
        _record(ctx, notification_id, outcome, clock(), report)
        if isinstance(outcome, ChannelUnavailable):
            _release(ctx, ids[position + 1 :], clock())
            report.stopped_early = True
            break
    if ids:
        log.info(
            "outbox via %s: %d sent, %d skipped, %d failed, %d to retry%s",
            sender.name,
            report.sent,
            report.skipped,
            report.failed,
            report.retry,
            " (channel down, stopped early)" if report.stopped_early else "",
        )
    return report


def _claim(ctx: Context, limit: int, now: datetime) -> list[int]:
    """Lease due rows to this run (short transaction; no lock is held while sending)."""
    due = (Notification.status == NotificationStatus.PENDING) & (
        Notification.next_attempt_at <= now
    )
    with ctx.uow() as uow:
        candidates = list(
            uow.session.scalars(
                select(Notification.id)
                .where(due)
                .order_by(Notification.next_attempt_at, Notification.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not candidates:
            return []
        # Conditional, so of two runs racing on SQLite (no row locks) only one gets a row.
        claimed = set(
            uow.session.scalars(
                update(Notification)
                .where(Notification.id.in_(candidates), due)
                .values(next_attempt_at=now + CLAIM_LEASE)
                .returning(Notification.id)
                .execution_options(synchronize_session=False)
            )
        )
        uow.commit()
    return [i for i in candidates if i in claimed]


def _load(ctx: Context, notification_id: int) -> tuple[Notification, User] | None:
    with ctx.read() as uow:
        notification = uow.session.get(Notification, notification_id)
        if notification is None or notification.status is not NotificationStatus.PENDING:
            return None
        recipient = uow.session.get(User, notification.recipient_id)
        if recipient is None:
            return None
        return notification, recipient


def _record(
    ctx: Context,
    notification_id: int,
    outcome: DeliveryError | None,
    now: datetime,
    report: DeliveryReport,
) -> None:
    settings = ctx.settings
    with ctx.uow() as uow:
        n = uow.session.get(Notification, notification_id)
        if n is None or n.status is not NotificationStatus.PENDING:
            return
        n.attempts += 1
        n.last_error = None if outcome is None else str(outcome)[:300]
        if outcome is None:
            n.status, n.sent_at = NotificationStatus.SENT, now
            report.sent += 1
        elif isinstance(outcome, NoConsent):
            n.status = NotificationStatus.SKIPPED
            report.skipped += 1
        elif isinstance(outcome, TemporaryFailure) and n.attempts < settings.outbox_max_attempts:
            delay = settings.outbox_retry_base_seconds * 2 ** (n.attempts - 1)
            n.next_attempt_at = now + timedelta(
                seconds=min(delay, settings.outbox_retry_max_seconds)
            )
            report.retry += 1
        else:
            n.status = NotificationStatus.FAILED
            report.failed += 1
        uow.commit()


def _release(ctx: Context, ids: list[int], now: datetime) -> None:
    """Hand claimed but untried rows back, due now, for the next run."""
    if not ids:
        return
    with ctx.uow() as uow:
        uow.session.execute(
            update(Notification)
            .where(Notification.id.in_(ids), Notification.status == NotificationStatus.PENDING)
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        uow.commit()
