"""The hosted survey pages' machine, apart from the views that serve it.

- languages: which of a survey's languages a respondent sees, and texts in it;
- fields: what a question looks like on the page;
- flows: where a respondent's answers live (the database, or a staff preview's session);
- pages: the page flow (display logic, resume, progress) and the pages it renders;
- limits: the hosted pages' rate limits.

surveys.views only turns a request into a respondent and a flow, and answers with what this
package renders; writes go through surveys.services.
"""
