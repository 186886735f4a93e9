"""The XM team's workspace: the admin's look, its navigation by work, and its home page.

The top layer: it reads from every app (audiences, journeys, surveys, metrics) and no app
imports it.
"""
