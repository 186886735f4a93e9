"""Metrics dashboard pages inside the admin."""

app_name = "metrics"
urlpatterns: list = []
