"""Admin for surveys: the builder, responses and exports, distribution and fatigue."""

from . import builder, distribution, people, responses  # noqa: F401
