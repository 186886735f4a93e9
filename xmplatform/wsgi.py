"""WSGI entry point (gunicorn xmplatform.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xmplatform.settings")

application = get_wsgi_application()
