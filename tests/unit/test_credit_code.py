import pytest

from service.directory import credit_code


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L"])
def test_published_codes_pass_the_checksum(code):
    result = credit_code.check(code)
    assert result.wellformed and result.checksum_ok


def test_a_changed_character_fails_the_checksum_but_stays_wellformed():
    result = credit_code.check("91350100M000100Y44")
    assert result.wellformed and not result.checksum_ok


@pytest.mark.parametrize(
    "raw",
    ["", "9135010", "91350100M000100Y430", "91350100M000100Y4I", "91350100m000100y4!"],
)
def test_malformed_codes_are_not_wellformed(raw):
    assert not credit_code.check(raw).wellformed


def test_lower_case_and_spaces_are_normalized():
    result = credit_code.check(" 91350100m000100y43 ")
    assert result.code == "91350100M000100Y43" and result.checksum_ok


def test_generated_codes_are_valid():
    for _ in range(200):
        assert credit_code.check(credit_code.generate()).checksum_ok
