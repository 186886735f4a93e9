"""Admin registrations (see surveys/admin/__init__.py)."""
