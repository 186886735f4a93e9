"""The closed loop: alert rules raise alerts, alerts open follow-up cases, people are told."""
