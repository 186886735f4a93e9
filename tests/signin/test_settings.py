"""Sign-in settings from the environment: off when nothing is set, clear refusals of bad values."""

import environ
import pytest
from django.core.exceptions import ImproperlyConfigured

from xmplatform.sso.conf import parse_group_grants, sign_in_settings

PROVIDER = {
    "OIDC_RP_CLIENT_ID": "xmplatform",
    "OIDC_RP_CLIENT_SECRET": "s3cret",
    "OIDC_OP_DISCOVERY_ENDPOINT": "https://id.example.com/realms/acme",
}


def settings_from(monkeypatch: pytest.MonkeyPatch, **variables: str) -> dict:
    for name in (*PROVIDER, "XM_2FA", "OIDC_GROUP_GRANTS", "OIDC_RP_SIGN_ALGO"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return sign_in_settings(environ.Env())


def test_nothing_set_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    values = settings_from(monkeypatch)

    assert values["SSO_ENABLED"] is False
    assert values["XM_2FA"] == "off"
    assert "OIDC_RP_CLIENT_ID" not in values


def test_a_provider_by_discovery(monkeypatch: pytest.MonkeyPatch) -> None:
    values = settings_from(
        monkeypatch, **PROVIDER, OIDC_GROUP_GRANTS="xm-hr=employees:manage", XM_2FA="Required"
    )

    assert values["SSO_ENABLED"] is True
    assert values["OIDC_RP_SIGN_ALGO"] == "RS256"
    assert values["OIDC_GROUP_GRANTS"] == {"xm-hr": (("employees", "manager"),)}
    assert values["XM_2FA"] == "required"


def test_group_grants_keep_the_highest_role_and_several_audiences() -> None:
    grants = parse_group_grants(
        " xm-cx=customers:view , xm-cx=customers:analyst, xm-cx=partners:viewer,"
        "xm-hr=employees:manager,xm-hr=employees:viewer,"
    )

    assert grants == {
        "xm-cx": (("customers", "analyst"), ("partners", "viewer")),
        "xm-hr": (("employees", "manager"),),
    }


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"XM_2FA": "yes"}, "XM_2FA='yes': use off, optional"),
        ({"OIDC_RP_CLIENT_ID": "x"}, "OIDC_RP_CLIENT_SECRET is not"),
        (
            {"OIDC_RP_CLIENT_ID": "x", "OIDC_RP_CLIENT_SECRET": "y"},
            "needs the provider's OIDC_OP_DISCOVERY_ENDPOINT",
        ),
        ({**PROVIDER, "OIDC_RP_SIGN_ALGO": "none"}, "OIDC_RP_SIGN_ALGO='NONE'"),
        ({**PROVIDER, "OIDC_GROUP_GRANTS": "xm-hr=employees"}, "is not group=audience-slug:role"),
        ({**PROVIDER, "OIDC_GROUP_GRANTS": "xm-hr=employees:owner"}, "viewer, analyst or manager"),
        ({**PROVIDER, "OIDC_OP_DISCOVERY_ENDPOINT": "id.example.com"}, "is not an http(s) URL"),
    ],
    ids=["2fa", "secret", "endpoints", "algorithm", "grant", "role", "url"],
)
def test_bad_values_say_what_to_fix(
    monkeypatch: pytest.MonkeyPatch, variables: dict, message: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings_from(monkeypatch, **variables)
