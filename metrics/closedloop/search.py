"""Cases by their person (name, e-mail, phone, external id), title and notes.

The person part is the people search (audiences.search, on the trigram-indexed search column);
titles and notes are folded the Turkish way on the fly and matched anywhere. Cases are few next
to people and answers (one per alert), and the list is already narrowed to the user's audiences.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from audiences.models import Person
from audiences.search import people_search_q
from metrics.closedloop.models import Case, CaseNote
from xmplatform.core.search import MIN_PARTIAL, Fold, clean_query, fold


def cases_matching(cases: QuerySet[Case], query: str) -> QuerySet[Case]:
    """`cases` narrowed to those whose person, title or a note `query` finds."""
    query = clean_query(query)
    if not query:
        return cases
    people = people_search_q(query)
    condition = Q(person_id__in=Person.objects.filter(people).values("pk"))
    folded = fold(query)
    if len(folded) >= MIN_PARTIAL:
        notes = CaseNote.objects.alias(folded=Fold("text")).filter(folded__contains=folded)
        condition |= Q(folded_title__contains=folded) | Q(pk__in=notes.values("case_id"))
    return cases.alias(folded_title=Fold("title")).filter(condition)
