"""Ready-made survey templates, as data, and the service that turns one into a survey.

Every text is given in English and Turkish. NPS templates ask detractors (0–6) what to improve
and promoters (9–10) what they liked, on the page after the score, so the logic works without
JavaScript. Templates for named respondents end with `may_contact`, the closed-loop consent.
"""

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from audiences.models import Audience, AudienceKind
from journeys.models import Touchpoint
from surveys.logic import logic_errors
from surveys.models import (
    Presentation,
    PriorityClass,
    Question,
    QuestionType,
    Survey,
    SurveyStatus,
)

Texts = dict[str, str]


def t(en: str, tr: str) -> Texts:
    """One text in both catalogue languages."""
    return {"en": en, "tr": tr}


def choice(value: str, en: str, tr: str) -> dict[str, Any]:
    return {"value": value, "label": t(en, tr)}


@dataclass(frozen=True)
class QuestionTemplate:
    """One question of a template; `order` follows its position in the template."""

    key: str
    type: str
    label: Texts
    page: int = 1
    help: Texts = field(default_factory=dict)
    required: bool = True
    choices: tuple[dict[str, Any], ...] = ()
    scale_max: int | None = None
    multiline: bool = False
    show_if: dict[str, Any] | None = None


@dataclass(frozen=True)
class SurveyTemplate:
    """A ready-made survey: texts, questions and how it competes for attention."""

    key: str
    name: Promise
    description: Promise
    title: Texts
    intro: Texts
    thank_you: Texts
    questions: tuple[QuestionTemplate, ...]
    priority_class: int
    anonymous: bool = False
    # One score question per screen suits the short NPS / CSAT / CES templates best.
    presentation: str = Presentation.PAGES


DETRACTOR = {"question": "nps", "op": "lte", "value": 6}
PROMOTER = {"question": "nps", "op": "gte", "value": 9}
PASSIVE = {
    "all": [
        {"question": "nps", "op": "gte", "value": 7},
        {"question": "nps", "op": "lte", "value": 8},
    ]
}
YES_NO = (choice("yes", "Yes", "Evet"), choice("no", "No", "Hayır"))
# No help text on NPS questions: the hosted page labels the scale's ends under it, once.
AGREE_5_HELP = t(
    "1 = strongly disagree, 5 = strongly agree",
    "1 = kesinlikle katılmıyorum, 5 = kesinlikle katılıyorum",
)
THANKS = t(
    "Thank you! Your answers help us improve.",
    "Teşekkür ederiz! Yanıtlarınız kendimizi geliştirmemize yardımcı oluyor.",
)


def may_contact(page: int) -> QuestionTemplate:
    """The closed-loop question: whether the respondent may be contacted about the answer."""
    return QuestionTemplate(
        key="may_contact",
        type=QuestionType.SINGLE_CHOICE,
        page=page,
        label=t(
            "May we contact you about your answer?",
            "Yanıtınızla ilgili sizinle iletişime geçebilir miyiz?",
        ),
        help=t(
            "Only the team responsible will contact you, and only about this answer.",
            "Yalnızca sorumlu ekip ve yalnızca bu yanıtla ilgili olarak sizinle iletişime geçer.",
        ),
        choices=YES_NO,
    )


def improve(
    page: int, en: str = "What should we improve?", tr: str = "Neyi iyileştirmeliyiz?"
) -> QuestionTemplate:
    return QuestionTemplate(
        key="improve",
        type=QuestionType.TEXT,
        page=page,
        label=t(en, tr),
        required=False,
        multiline=True,
        show_if=DETRACTOR,
    )


def liked(
    page: int, en: str = "What did you like most?", tr: str = "En çok neyi beğendiniz?"
) -> QuestionTemplate:
    return QuestionTemplate(
        key="liked",
        type=QuestionType.TEXT,
        page=page,
        label=t(en, tr),
        required=False,
        multiline=True,
        show_if=PROMOTER,
    )


RELATIONSHIP_NPS = SurveyTemplate(
    key="relationship_nps",
    presentation=Presentation.ONE_QUESTION,
    name=_("Relationship NPS"),
    description=_("How likely customers are to recommend you, with follow-ups by score."),
    priority_class=PriorityClass.RELATIONSHIP,
    title=t("Your experience with us", "Bizimle deneyiminiz"),
    intro=t(
        "A few short questions about your experience with us.",
        "Bizimle deneyiminiz hakkında birkaç kısa soru.",
    ),
    thank_you=THANKS,
    questions=(
        QuestionTemplate(
            key="nps",
            type=QuestionType.NPS,
            label=t(
                "How likely are you to recommend us to a friend or colleague?",
                "Bizi bir arkadaşınıza veya iş arkadaşınıza tavsiye etme olasılığınız nedir?",
            ),
        ),
        QuestionTemplate(
            key="main_reason",
            type=QuestionType.SINGLE_CHOICE,
            required=False,
            label=t(
                "What matters most to you in working with us?",
                "Bizimle çalışırken sizin için en önemli olan nedir?",
            ),
            choices=(
                choice("quality", "Product quality", "Ürün kalitesi"),
                choice("price", "Price", "Fiyat"),
                choice("service", "Customer service", "Müşteri hizmetleri"),
                choice("delivery", "Delivery", "Teslimat"),
                choice("ease", "Ease of use", "Kullanım kolaylığı"),
            ),
        ),
        improve(2),
        QuestionTemplate(
            key="higher",
            type=QuestionType.TEXT,
            page=2,
            required=False,
            multiline=True,
            show_if=PASSIVE,
            label=t(
                "What would make you give us a higher score?",
                "Bize daha yüksek puan vermeniz için ne yapmalıyız?",
            ),
        ),
        liked(2),
        may_contact(3),
    ),
)

TRANSACTIONAL_CSAT = SurveyTemplate(
    key="transactional_csat",
    presentation=Presentation.ONE_QUESTION,
    name=_("Transactional CSAT"),
    description=_("Satisfaction with one purchase or visit, asked right after it."),
    priority_class=PriorityClass.TRANSACTIONAL,
    title=t("Your recent purchase", "Son alışverişiniz"),
    intro=t(
        "Tell us how your recent purchase went.",
        "Son alışverişinizin nasıl geçtiğini bize anlatın.",
    ),
    thank_you=THANKS,
    questions=(
        QuestionTemplate(
            key="csat",
            type=QuestionType.CSAT,
            label=t(
                "How satisfied are you with your recent purchase?",
                "Son alışverişinizden ne kadar memnun kaldınız?",
            ),
            help=t(
                "1 = very dissatisfied, 5 = very satisfied",
                "1 = hiç memnun değilim, 5 = çok memnunum",
            ),
        ),
        QuestionTemplate(
            key="disappointed",
            type=QuestionType.MULTIPLE_CHOICE,
            page=2,
            required=False,
            show_if={"question": "csat", "op": "lte", "value": 3},
            label=t("What disappointed you?", "Sizi ne hayal kırıklığına uğrattı?"),
            help=t("Choose all that apply.", "Uygun olanların tümünü seçin."),
            choices=(
                choice("product", "The product", "Ürün"),
                choice("delivery", "Delivery", "Teslimat"),
                choice("price", "Price", "Fiyat"),
                choice("staff", "Staff", "Çalışanlar"),
                choice("website", "Website or app", "Web sitesi veya uygulama"),
            ),
        ),
        QuestionTemplate(
            key="comment",
            type=QuestionType.TEXT,
            page=2,
            required=False,
            multiline=True,
            label=t(
                "Is there anything else you would like to tell us?",
                "Bize iletmek istediğiniz başka bir şey var mı?",
            ),
        ),
        may_contact(3),
    ),
)

SUPPORT_CES = SurveyTemplate(
    key="support_ces",
    presentation=Presentation.ONE_QUESTION,
    name=_("Post-support CES"),
    description=_("Customer effort after a support request, on a 7-point agreement scale."),
    priority_class=PriorityClass.TRANSACTIONAL,
    title=t("Your support request", "Destek talebiniz"),
    intro=t(
        "You recently contacted our support team. How did it go?",
        "Kısa süre önce destek ekibimizle iletişime geçtiniz. Nasıl geçti?",
    ),
    thank_you=THANKS,
    questions=(
        QuestionTemplate(
            key="ces",
            type=QuestionType.CES,
            scale_max=7,
            label=t(
                "The company made it easy for me to handle my issue.",
                "Şirket, sorunumu çözmemi kolaylaştırdı.",
            ),
            help=t(
                "1 = strongly disagree, 7 = strongly agree",
                "1 = kesinlikle katılmıyorum, 7 = kesinlikle katılıyorum",
            ),
        ),
        QuestionTemplate(
            key="resolved",
            type=QuestionType.SINGLE_CHOICE,
            label=t("Was your issue resolved?", "Sorununuz çözüldü mü?"),
            choices=(
                choice("yes", "Yes", "Evet"),
                choice("partly", "Partly", "Kısmen"),
                choice("no", "No", "Hayır"),
            ),
        ),
        QuestionTemplate(
            key="difficult",
            type=QuestionType.TEXT,
            page=2,
            required=False,
            multiline=True,
            show_if={"question": "ces", "op": "lte", "value": 3},
            label=t("What made it difficult?", "Sizi en çok ne zorladı?"),
        ),
        QuestionTemplate(
            key="contacts",
            type=QuestionType.SINGLE_CHOICE,
            page=2,
            required=False,
            label=t(
                "How many times did you contact us about this issue?",
                "Bu sorun için bizimle kaç kez iletişime geçtiniz?",
            ),
            choices=(
                choice("1", "Once", "Bir kez"),
                choice("2", "Twice", "İki kez"),
                choice("3+", "Three times or more", "Üç kez veya daha fazla"),
            ),
        ),
        may_contact(3),
    ),
)


def agreement(key: str, en: str, tr: str) -> QuestionTemplate:
    return QuestionTemplate(
        key=key, type=QuestionType.RATING, page=2, scale_max=5, label=t(en, tr), help=AGREE_5_HELP
    )


EMPLOYEE_PULSE = SurveyTemplate(
    key="employee_pulse",
    name=_("Employee eNPS and engagement pulse"),
    description=_("Anonymous eNPS with four engagement statements; no answer names anyone."),
    priority_class=PriorityClass.RESEARCH,
    anonymous=True,
    title=t("Engagement pulse", "Çalışan bağlılığı nabız anketi"),
    intro=t(
        "This survey is anonymous: your answers are never linked to your name.",
        "Bu anket anonimdir: yanıtlarınız hiçbir zaman adınızla ilişkilendirilmez.",
    ),
    thank_you=t(
        "Thank you for your honest answers.",
        "Dürüst yanıtlarınız için teşekkür ederiz.",
    ),
    questions=(
        QuestionTemplate(
            key="nps",
            type=QuestionType.NPS,
            label=t(
                "How likely are you to recommend our organisation as a place to work?",
                "Kurumumuzu çalışılacak bir yer olarak tavsiye etme olasılığınız nedir?",
            ),
        ),
        agreement("proud", "I am proud to work here.", "Burada çalışmaktan gurur duyuyorum."),
        agreement(
            "growth",
            "I see opportunities to learn and grow here.",
            "Burada öğrenme ve gelişme fırsatları görüyorum.",
        ),
        agreement("manager", "My manager supports me.", "Yöneticim bana destek oluyor."),
        agreement("workload", "My workload is manageable.", "İş yüküm yönetilebilir düzeyde."),
        improve(3),
        liked(
            3,
            "What do you like most about working here?",
            "Burada çalışmanın en çok neyini seviyorsunuz?",
        ),
    ),
)

SUPPLIER_SATISFACTION = SurveyTemplate(
    key="supplier_satisfaction",
    name=_("Supplier satisfaction"),
    description=_("How suppliers experience working with you: payments, communication, orders."),
    priority_class=PriorityClass.RESEARCH,
    title=t("Working with us", "Bizimle çalışmak"),
    intro=t(
        "As our supplier, your view helps us become a better partner.",
        "Tedarikçimiz olarak görüşleriniz daha iyi bir iş ortağı olmamıza yardımcı oluyor.",
    ),
    thank_you=THANKS,
    questions=(
        QuestionTemplate(
            key="nps",
            type=QuestionType.NPS,
            label=t(
                "How likely are you to recommend working with us to another supplier?",
                "Bizimle çalışmayı başka bir tedarikçiye tavsiye etme olasılığınız nedir?",
            ),
        ),
        QuestionTemplate(
            key="csat",
            type=QuestionType.CSAT,
            label=t(
                "Overall, how satisfied are you with our collaboration?",
                "Genel olarak iş birliğimizden ne kadar memnunsunuz?",
            ),
            help=t(
                "1 = very dissatisfied, 5 = very satisfied",
                "1 = hiç memnun değilim, 5 = çok memnunum",
            ),
        ),
        QuestionTemplate(
            key="payments",
            type=QuestionType.RATING,
            page=2,
            scale_max=5,
            label=t(
                "How would you rate the timeliness of our payments?",
                "Ödemelerimizin zamanında yapılmasını nasıl değerlendirirsiniz?",
            ),
        ),
        QuestionTemplate(
            key="communication",
            type=QuestionType.RATING,
            page=2,
            scale_max=5,
            label=t(
                "How would you rate the clarity of our communication?",
                "İletişimimizin açıklığını nasıl değerlendirirsiniz?",
            ),
        ),
        QuestionTemplate(
            key="forecasts",
            type=QuestionType.RATING,
            page=2,
            scale_max=5,
            label=t(
                "How would you rate the accuracy of our orders and forecasts?",
                "Sipariş ve tahminlerimizin doğruluğunu nasıl değerlendirirsiniz?",
            ),
        ),
        improve(3),
        liked(3),
        may_contact(4),
    ),
)

FAN_EXPERIENCE = SurveyTemplate(
    key="fan_experience",
    name=_("Fan experience"),
    description=_("Match-day experience: recommendation, overall rating and its moments."),
    priority_class=PriorityClass.RELATIONSHIP,
    title=t("Your match day", "Maç gününüz"),
    intro=t(
        "Tell us about your last match day with us.",
        "Son maç gününüzü bize anlatın.",
    ),
    thank_you=t(
        "Thank you! See you at the next match.",
        "Teşekkür ederiz! Bir sonraki maçta görüşmek üzere.",
    ),
    questions=(
        QuestionTemplate(
            key="nps",
            type=QuestionType.NPS,
            label=t(
                "How likely are you to recommend our match-day experience to a friend?",
                "Maç günü deneyimimizi bir arkadaşınıza tavsiye etme olasılığınız nedir?",
            ),
        ),
        QuestionTemplate(
            key="overall",
            type=QuestionType.RATING,
            scale_max=5,
            label=t(
                "How would you rate your last match day overall?",
                "Son maç gününüzü genel olarak nasıl değerlendirirsiniz?",
            ),
        ),
        QuestionTemplate(
            key="enjoyed",
            type=QuestionType.MULTIPLE_CHOICE,
            page=2,
            required=False,
            label=t(
                "Which parts of the day did you enjoy?",
                "Günün hangi bölümlerinden keyif aldınız?",
            ),
            help=t("Choose all that apply.", "Uygun olanların tümünü seçin."),
            choices=(
                choice("tickets", "Buying tickets", "Bilet satın alma"),
                choice("entry", "Getting into the stadium", "Stadyuma giriş"),
                choice("atmosphere", "The atmosphere", "Atmosfer"),
                choice("food", "Food and drinks", "Yiyecek ve içecekler"),
                choice("transport", "Getting there and back", "Ulaşım"),
            ),
        ),
        improve(3),
        liked(3),
        may_contact(4),
    ),
)

TEMPLATES: dict[str, SurveyTemplate] = {
    tpl.key: tpl
    for tpl in (
        RELATIONSHIP_NPS,
        TRANSACTIONAL_CSAT,
        SUPPORT_CES,
        EMPLOYEE_PULSE,
        SUPPLIER_SATISFACTION,
        FAN_EXPERIENCE,
    )
}


def template_choices() -> list[tuple[str, Promise]]:
    """(key, name) pairs for a form's choice field, in catalogue order."""
    return [(tpl.key, tpl.name) for tpl in TEMPLATES.values()]


def template_questions(template: SurveyTemplate, survey: Survey | None = None) -> list[Question]:
    """Unsaved Question rows for `template` (ordered 1, 2, …)."""
    return [
        Question(
            survey=survey,
            order=position,
            page=q.page,
            key=q.key,
            type=q.type,
            required=q.required,
            label=dict(q.label),
            help=dict(q.help),
            choices=[{"value": c["value"], "label": dict(c["label"])} for c in q.choices],
            scale_max=q.scale_max,
            multiline=q.multiline,
            show_if=q.show_if,
        )
        for position, q in enumerate(template.questions, start=1)
    ]


@transaction.atomic
def survey_create_from_template(
    *,
    template_key: str,
    audience: Audience,
    name: str | None = None,
    touchpoint: Touchpoint | None = None,
) -> Survey:
    """Create a draft survey for `audience` from the template `template_key`.

    The touchpoint, when given, must belong to one of the audience's journeys. Raises
    ValidationError for an unknown template or a foreign touchpoint; writes nothing then.
    """
    template = TEMPLATES.get(template_key)
    if template is None:
        raise ValidationError(
            _("Unknown survey template “%(key)s”; choose one of: %(keys)s."),
            params={"key": template_key, "keys": ", ".join(TEMPLATES)},
            code="unknown_template",
        )
    if (
        touchpoint is not None
        and not Touchpoint.objects.filter(
            pk=touchpoint.pk, stage__journey__audience=audience
        ).exists()
    ):
        raise ValidationError(
            _("The touchpoint “%(touchpoint)s” is not on a journey of %(audience)s."),
            params={"touchpoint": touchpoint.name, "audience": audience.name},
            code="foreign_touchpoint",
        )
    survey = Survey.objects.create(
        audience=audience,
        touchpoint=touchpoint,
        name=name or f"{template.name} – {audience.name}",
        title=dict(template.title),
        intro=dict(template.intro),
        thank_you=dict(template.thank_you),
        status=SurveyStatus.DRAFT,
        # Employees answer anonymously whatever the template says.
        anonymous=template.anonymous or audience.kind == AudienceKind.EMPLOYEE,
        languages=["tr", "en"],
        default_language="tr",
        priority_class=template.priority_class,
        presentation=template.presentation,
    )
    questions = template_questions(template, survey)
    errors = logic_errors(questions)
    if errors:
        # A catalogue defect, not user input: fail loudly rather than store unsound logic.
        raise ValueError(f"survey template {template_key!r} has unsound display logic: {errors}")
    Question.objects.bulk_create(questions)
    return survey
