"""Models of comments: what the text pipeline derived from each free-text answer, the topics of
each free-text question, and the per-language sentiment models.

A comment is one-to-one with its answer and deleted with it (erasure deletes free-text answers),
and it never holds the text: its stems are the search and topic index, its sentiment and
topics the analysis. The text is read from the answer when an analyst may see it.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from surveys.models import Answer, Question, Response, Survey


class Comment(models.Model):
    """The analysis of one free-text answer of a completed, released response (no text)."""

    answer = models.OneToOneField(
        Answer,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="comment",
        verbose_name=_("answer"),
    )
    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, related_name="+", verbose_name=_("survey")
    )
    question = models.ForeignKey(
        Question, on_delete=models.CASCADE, related_name="+", verbose_name=_("question")
    )
    response = models.ForeignKey(
        Response,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        verbose_name=_("response"),
    )
    language = models.CharField(_("language"), max_length=8)
    # The response's day: an anonymous response's is its reporting period's first day.
    day = models.DateField(_("day"))
    anonymous = models.BooleanField(_("anonymous survey"), default=False)
    # The same response's outcome answer (the survey's first NPS question, else its first CSAT):
    # the sentiment model's label and the topics' mean score and NPS effect.
    score = models.SmallIntegerField(_("outcome score"), null=True, blank=True)
    score_type = models.CharField(_("outcome type"), max_length=8, blank=True)
    sentiment = models.FloatField(_("sentiment"), default=0.0)
    # The stems, space-separated with a space at each end (" kargo teslimat "): the topic
    # model's input and the plain search index. Derived, lossy, deleted with the answer.
    stems = models.TextField(_("stems"), blank=True)
    processed_at = models.DateTimeField(_("processed"))

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        indexes = [
            models.Index(fields=["survey", "question", "day"], name="comment_survey_q_day"),
        ]

    def __str__(self) -> str:
        return f"{self.question_id}/{self.answer_id}"


class TopicSource(models.TextChoices):
    DISCOVERED = "discovered", _("Discovered (NMF)")
    RULE = "rule", _("Keyword rule")


class Topic(models.Model):
    """A topic of one free-text question: discovered by the topic model or defined by keywords.

    `terms` are stems, most important first (a discovered topic's heaviest NMF terms, a rule's
    stemmed keywords); `weights` the discovered part's term weights ({stem: weight}) that new
    comments are matched with; `label` reads as words people wrote. A topic the team edited
    (its label, or a merge into it) is `pinned`: refits never change it. A merged topic points
    to the topic it went into and is inactive.
    """

    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, related_name="+", verbose_name=_("survey")
    )
    question = models.ForeignKey(
        Question, on_delete=models.CASCADE, related_name="+", verbose_name=_("question")
    )
    label = models.CharField(_("label"), max_length=200)
    source = models.CharField(
        _("source"), max_length=12, choices=TopicSource.choices, default=TopicSource.DISCOVERED
    )
    keywords = models.CharField(
        _("keywords"),
        max_length=500,
        blank=True,
        help_text=_(
            "Comma-separated words. A comment holding any of them (in any inflection: "
            "“kargo” also finds “kargom”) belongs to the topic."
        ),
    )
    terms = models.JSONField(_("terms"), default=list, blank=True, editable=False)
    # The terms as words people wrote (their most frequent form), for labels and the API.
    words = models.JSONField(_("words"), default=list, blank=True, editable=False)
    weights = models.JSONField(_("term weights"), default=dict, blank=True, editable=False)
    pinned = models.BooleanField(
        _("kept by refits"),
        default=False,
        help_text=_("Edited or merged by the team: a refit of the topic model keeps it as it is."),
    )
    active = models.BooleanField(_("active"), default=True)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merged",
        verbose_name=_("merged into"),
        editable=False,
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("topic")
        verbose_name_plural = _("topics")
        ordering = ["survey", "question", "pk"]
        indexes = [
            models.Index(fields=["survey", "question", "active"], name="topic_survey_q"),
        ]

    def __str__(self) -> str:
        return self.label


class CommentTopic(models.Model):
    """A comment belongs to a topic (its NMF weight share, or 1 for a keyword rule)."""

    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, related_name="topic_links", verbose_name=_("comment")
    )
    topic = models.ForeignKey(
        Topic, on_delete=models.CASCADE, related_name="comment_links", verbose_name=_("topic")
    )
    weight = models.FloatField(_("weight"))

    class Meta:
        verbose_name = _("comment topic")
        verbose_name_plural = _("comment topics")
        constraints = [
            models.UniqueConstraint(fields=["topic", "comment"], name="comment_topic_unique"),
        ]
        indexes = [models.Index(fields=["comment"], name="comment_topic_comment")]

    def __str__(self) -> str:
        return f"{self.comment_id} → {self.topic_id}"


class TopicFit(models.Model):
    """The topic model of one free-text question as of its last fit: the TF-IDF vocabulary and
    idf the comments processed since are vectorised with, and how many comments it saw."""

    question = models.OneToOneField(
        Question, on_delete=models.CASCADE, related_name="+", verbose_name=_("question")
    )
    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, related_name="+", verbose_name=_("survey")
    )
    vocabulary = models.JSONField(_("vocabulary"), default=list)
    idf = models.JSONField(_("idf"), default=list)
    comments = models.PositiveIntegerField(_("comments fitted"), default=0)
    fitted_at = models.DateTimeField(_("fitted"))

    class Meta:
        verbose_name = _("topic model")
        verbose_name_plural = _("topic models")

    def __str__(self) -> str:
        return f"{self.question_id} ({self.comments})"


class SentimentKind(models.TextChoices):
    MODEL = "model", _("Trained model")
    LEXICON = "lexicon", _("Lexicon")


class SentimentModel(models.Model):
    """One language's sentiment model: a logistic regression over TF-IDF of stems, trained on
    comments labelled by the same response's score, with its held-out accuracy; or the lexicon
    while too few comments are labelled. Its parameters are plain numbers (no pickle)."""

    language = models.CharField(_("language"), max_length=8, unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=SentimentKind.choices)
    vocabulary = models.JSONField(_("vocabulary"), default=list)
    idf = models.JSONField(_("idf"), default=list)
    coef = models.JSONField(_("coefficients"), default=list)
    intercept = models.FloatField(_("intercept"), default=0.0)
    labelled = models.PositiveIntegerField(_("labelled comments"), default=0)
    tested = models.PositiveIntegerField(_("held-out comments"), default=0)
    accuracy = models.FloatField(_("held-out accuracy"), null=True, blank=True)
    baseline = models.FloatField(_("majority-class accuracy"), null=True, blank=True)
    trained_at = models.DateTimeField(_("trained"))

    class Meta:
        verbose_name = _("sentiment model")
        verbose_name_plural = _("sentiment models")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="lexicon") | Q(accuracy__isnull=False), name="sentiment_accuracy"
            )
        ]

    def __str__(self) -> str:
        return f"{self.language} ({self.kind})"
