"""Sign-in for organisations: single sign-on with OpenID Connect, and two-step verification.

- Single sign-on (`backend`, `views`, `grants`): staff sign in at their organisation's identity
  provider; an account is made on the first sign-in, and the groups the provider names give
  audience grants, set again on every sign-in.
- Two-step verification (`twostep`): password accounts confirm each log-in with a code from an
  authenticator app (TOTP, django-otp). Single sign-on accounts are not asked: their provider
  verifies them.

Both are off unless switched on by environment variables (`conf`, README "Sign-in").
"""
