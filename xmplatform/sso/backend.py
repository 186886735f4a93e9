"""The authentication backend of single sign-on (mozilla-django-oidc's code flow).

On top of the library's checks (state, PKCE, nonce, the ID token's signature and algorithm,
its expiry) the ID token must be for this client (`aud`) and, when the provider's discovery
document names one, from that issuer (`iss`); the userinfo answer must be about the same
subject. People are matched by issuer and subject, never by e-mail (xmplatform.sso.accounts).

A sign-in that fails leaves its reason on the request (`request.sso_failure`) for the callback
page to show; details go to the log.
"""

from __future__ import annotations

import logging
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from xmplatform.sso import provider
from xmplatform.sso.accounts import NoAccess, sign_in_user

log = logging.getLogger(__name__)


class SignInBackend(OIDCAuthenticationBackend):
    """Authenticates the callback of a sign-in started at /admin/sign-in/sso/ (nothing else)."""

    get_settings = staticmethod(provider.oidc_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The library reads endpoints here; ours may come from discovery, read at sign-in.
        self.UserModel = get_user_model()
        self.issuer = ""

    def _configure(self) -> None:
        found = provider.endpoints()
        self.OIDC_OP_TOKEN_ENDPOINT = found.token
        self.OIDC_OP_USER_ENDPOINT = found.userinfo
        self.OIDC_OP_JWKS_ENDPOINT = found.jwks
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.issuer = found.issuer

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> Any:  # type: ignore[override]
        # Password log-ins never carry a nonce: only the sign-in callback reaches the provider.
        if request is None or not provider.enabled() or "nonce" not in kwargs:
            return None
        try:
            self._configure()
            return super().authenticate(request, **kwargs)
        except NoAccess as refusal:
            log.info("Single sign-on refused: %s", refusal)
            request.sso_failure = _(  # type: ignore[attr-defined]
                "Your account was recognised, but it gives no access to xmplatform. Ask your "
                "administrator to add you to a group that does."
            )
        except provider.ProviderUnavailable as error:
            log.warning("Single sign-on: the provider could not be read: %s", error)
            request.sso_failure = _(  # type: ignore[attr-defined]
                "The sign-in service could not be reached. Try again in a few minutes."
            )
        except (requests.RequestException, ValueError, KeyError) as error:
            log.warning("Single sign-on: the provider's answer was not usable: %s", error)
            request.sso_failure = _(  # type: ignore[attr-defined]
                "The sign-in service gave an answer xmplatform could not use. Try again; if it "
                "keeps failing, tell your administrator."
            )
        except (SuspiciousOperation, jwt.PyJWTError) as error:
            log.warning("Single sign-on: a token was refused: %s", error)
            request.sso_failure = _(  # type: ignore[attr-defined]
                "The sign-in could not be verified. Start again from the log-in page."
            )
        return None

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        payload: dict[str, Any] = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("The ID token is for another client (aud).")
        if self.issuer and payload.get("iss") != self.issuer:
            raise SuspiciousOperation("The ID token is from another issuer (iss).")
        if not payload.get("sub") or not payload.get("iss"):
            raise SuspiciousOperation("The ID token names no subject or issuer.")
        return payload

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if not isinstance(userinfo, dict) or str(userinfo.get("sub")) != str(payload["sub"]):
            raise SuspiciousOperation("The userinfo answer is about another subject.")
        # The ID token's claims with what userinfo adds (some providers send groups in one only).
        claims = {
            **payload,
            **{k: v for k, v in userinfo.items() if k not in ("iss", "aud", "exp", "iat", "nonce")},
        }
        return sign_in_user(issuer=str(payload["iss"]), claims=claims)
