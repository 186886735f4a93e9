"""Running the platform: health, metrics for Prometheus, demo data. The top layer."""
