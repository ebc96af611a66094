"""The one password rule: length, kinds of characters, not the username, not a common one."""

import pytest

from service.access import passwords
from service.access.passwords import WeakPassword


@pytest.mark.parametrize(
    "password",
    ["correct-horse-9", "Zhang.wei.2026", "abcdefghij1", "1234567890!", "长江大桥-南京-1968"],
)
def test_strong_passwords_pass(password):
    assert passwords.problems(password, "zhangwei") == []
    passwords.check(password, "zhangwei")


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Ab1-xyz", "at least 10 characters"),
        ("abcdefghijkl", "at least two of letters, digits and symbols"),
        ("123456789012", "at least two of letters, digits and symbols"),
        ("!!!!!!!!!!!!", "at least two of letters, digits and symbols"),
        ("demo12345", "is a common password"),
        ("Admin12345", "is a common password"),
        ("P@ssw0rd123", "is a common password"),
        ("x" * 129 + "1", "at most 128 characters"),
    ],
)
def test_weak_passwords_are_refused_with_their_reason(password, reason):
    with pytest.raises(WeakPassword) as caught:
        passwords.check(password, "someone")
    error = caught.value
    assert error.status == 422 and error.code == "weak_password"
    assert reason in error.message_en and error.message_en.startswith("Password too weak: ")
    assert error.message.startswith("密码太弱：")
    assert any(reason in line for line in error.errors["password"])


def test_the_username_is_not_a_password_whatever_its_case():
    with pytest.raises(WeakPassword) as caught:
        passwords.check("Zhangwei-01", "zhangwei-01")
    assert "must not be the username" in caught.value.message_en


def test_every_reason_is_named_in_one_line():
    with pytest.raises(WeakPassword) as caught:
        passwords.check("admin123", "admin123")
    message = caught.value.message_en
    assert "\n" not in message and "\n" not in caught.value.message
    assert "at least 10 characters" in message
    assert "must not be the username" in message and "is a common password" in message


def test_common_passwords_would_all_be_refused_by_the_list_alone():
    # The list is the last defence for the passwords the other checks let through.
    assert "demo12345" in passwords.COMMON
    assert all(p == p.lower() for p in passwords.COMMON)


def test_one_time_passwords_pass_the_rule_and_differ():
    made = {passwords.generate() for _ in range(200)}
    assert len(made) == 200
    for password in made:
        assert passwords.problems(password) == []
        assert len(password) == passwords.ONE_TIME_LENGTH
        assert password[0].isalnum()
        assert not set(password) & set("0O1lI")
