"""Admin for surveys: the builder, responses and exports, distribution and fatigue."""

from surveys.intercept import admin as intercept_admin  # noqa: F401

from . import builder, distribution, kiosk, people, public_links, responses  # noqa: F401
