"""Kiosk mode of public links: registered devices (a tablet in a shop or a lobby) that take
many responses, each accepted once by its submission key, and that keep answers given
offline until the connection is back.

- models: the devices and the submission keys they have had accepted;
- services: issue, revoke and find devices; accept one submission exactly once;
- views: the setup link, the kiosk page and its service worker.
"""
