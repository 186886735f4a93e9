"""Versions of a survey's questions: a survey with responses changes by new versions.

Each question keeps one row (and so one id) for its key across versions: answers, exports,
rollups and metrics follow the key without joining versions. A version records the questions
as respondents saw them (`questions`) and what changed from the version before (`changes`);
a response records the number of the version it was answered in. See
surveys.services.authoring for the rules of an edit.
"""
