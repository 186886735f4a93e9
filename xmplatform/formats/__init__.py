"""One date and time format per language (settings.FORMAT_MODULE_PATH).

Django's own formats differ between pages ("Nov. 7, 2026", 12/07/2026, 2026-09-07); these
give each language one long form for text and one short form for tables. Input formats are
left to Django's locale modules.
"""
