"""Metric rollups and alerting models."""
