"""Demo surveys, invitations and responses, and their distribution, for `seed_demo`.

Live surveys are created from the catalogue for each demo audience present. For most, a share
of the audience's members gets an invitation and most of those a completed response over the
last 90 days. The employee pulse is what its wave rule ("Quarterly employee pulse") does: every
current employee is invited at each of the last three quarterly runs (09:00 on the first day of
January, April, July and October, in hourly batches) and about two in three answer within the
fortnight the invitation lasts. Scores differ by segment, touchpoint, question and wave, so the
dashboards have something to show; comments are the survey's own (customers write about
orders, employees about workload, managers, growth, tools…), in the respondent's language.
Every seeded invitation was planned before it was due and sent, and every one that reached
someone has its contact-ledger entry, as the sending path would have written it, so the
fatigue guard and report see the history.

Anonymous surveys' responses are stored as the hosted pages store them (surveys.periods): on
their reporting period's first day (the pulse: its wave's, from the run day until its
invitations expire), without times, under random ids, and released in batches of at least the
anonymity threshold, the periods already over published.

`seed_distribution` then adds fatigue policies and distribution rules (two touchpoint
triggers, two scheduled waves; the pulse's wave records the runs seeded here and names its
invitations) and plans the relationship wave once through the real planner: planned
invitations wait for `dispatch_due`, suppressed ones name their rule. Everything is written
with bulk inserts; re-running creates nothing twice.
"""

import datetime
import random
import zoneinfo
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule

from audiences.models import Audience, Channel, Membership
from journeys.models import Touchpoint, TouchpointRole
from surveys import tokens
from surveys.catalog import survey_create_from_template
from surveys.distribution import fatigue
from surveys.distribution import planning as distribution
from surveys.logic import visible_keys
from surveys.models import (
    Answer,
    ContactKind,
    ContactLedger,
    DistributionRule,
    FatiguePolicy,
    Invitation,
    InvitationState,
    Question,
    QuestionType,
    ReportingPeriod,
    ReportingPeriodKind,
    Response,
    RuleKind,
    Survey,
    SurveyStatus,
)
from surveys.periods import CALENDAR_KINDS, period_bounds, period_start_moment, periods_release
from surveys.services import anonymous_response_id, day_start

BATCH = 1000
WINDOW_DAYS = 90
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)

# The quarterly pulse's wave rule (DEMO_RULES): when it runs, how many it sends an hour, how
# long its invitations last (its reporting period: the run day and the 13 after).
PULSE_HOUR = 9
PULSE_MONTHS = (1, 4, 7, 10)
PULSE_HOURLY_CAP = 200
PULSE_EXPIRY_DAYS = 14


@dataclass(frozen=True)
class DemoSurvey:
    audience: str
    template: str
    name: str
    share: float  # of the audience's members invited (a wave invites every current member)
    touchpoint_role: str | None = None  # the survey is about the first touchpoint in this role
    mood: float = 0.7  # mean sentiment, 0 (awful) … 1 (delighted)
    channels: tuple[str, ...] = (Channel.EMAIL,)
    # Planned this long before it was due (a trigger's delay; a wave's invitations are planned
    # at the run, due in hourly batches).
    lead: datetime.timedelta = HOUR
    # > 0: sent as the quarterly wave, its last `waves` runs up to now, instead of spread.
    waves: int = 0
    participation: float = 0.55  # of the invitations answered (a wave's varies a little)
    texts: str = "customer"  # which comments (TEXTS) its respondents write
    text_share: float = 0.6  # of respondents shown a free-text question who write something
    question_moods: tuple[tuple[str, float], ...] = ()  # a question's offset from the mood
    segment_spread: float = 0.1  # the best segment this much above the mood, the worst below


DEMO_SURVEYS = (
    DemoSurvey("customers", "relationship_nps", "Customer relationship NPS", 0.35, mood=0.78),
    DemoSurvey(
        "customers",
        "transactional_csat",
        "Checkout satisfaction (CSAT)",
        0.3,
        touchpoint_role=TouchpointRole.PURCHASE,
        mood=0.8,
        channels=(Channel.EMAIL, Channel.SMS),
    ),
    DemoSurvey(
        "customers",
        "support_ces",
        "Support effort (CES)",
        0.15,
        touchpoint_role=TouchpointRole.SUPPORT_REQUEST,
        mood=0.7,
        lead=2 * HOUR,
    ),
    DemoSurvey(
        "employees",
        "employee_pulse",
        "Employee engagement pulse",
        1.0,
        mood=0.79,
        channels=(Channel.EMAIL,),  # the wave's channel: work e-mail only
        waves=3,
        participation=0.68,
        texts="employee",
        text_share=0.4,
        segment_spread=0.06,  # departments differ, but not by worlds
        # Proud and supported by their managers, less sure about growth and the workload.
        question_moods=(("proud", 0.05), ("manager", 0.03), ("growth", -0.06), ("workload", -0.1)),
    ),
    DemoSurvey("fans", "fan_experience", "Match-day experience", 0.3, mood=0.8),
    DemoSurvey("suppliers", "supplier_satisfaction", "Supplier satisfaction", 0.5, mood=0.7),
)

# Free-text follow-ups by question key and language: customers'.
TEXTS: dict[str, dict[str, tuple[str, ...]]] = {
    "improve": {
        "tr": (
            "Teslimat çok gecikti, kargo takibi de güncellenmedi.",
            "Müşteri hizmetlerine ulaşmak çok zor, hep bekletiliyorum.",
            "Fiyatlar son aylarda fazla arttı.",
            "Uygulama sık sık donuyor, ödeme adımında hata aldım.",
            "Çalışanlar ilgisizdi, sorularıma net yanıt alamadım.",
        ),
        "en": (
            "Delivery was very late and the tracking never updated.",
            "It is hard to reach customer service; I am always kept waiting.",
            "Prices have gone up too much lately.",
            "The app keeps freezing; I got an error at checkout.",
            "Staff seemed uninterested and could not answer my questions.",
        ),
    },
    "liked": {
        "tr": (
            "Çalışanlar çok ilgili ve güler yüzlüydü.",
            "Sipariş ertesi gün elimdeydi, harika!",
            "Ürün kalitesi beklediğimden iyi.",
            "Her şey hızlı ve sorunsuzdu.",
        ),
        "en": (
            "The staff were attentive and friendly.",
            "My order arrived the next day, brilliant!",
            "The quality is better than I expected.",
            "Everything was quick and smooth.",
        ),
    },
    "higher": {
        "tr": ("Biraz daha hızlı teslimat yeterli olur.", "Daha fazla ödeme seçeneği olmalı."),
        "en": ("Slightly faster delivery would do it.", "More payment options, please."),
    },
    "comment": {
        "tr": ("Paketleme özenliydi.", "İade süreci daha kolay olmalı."),
        "en": ("The packaging was careful.", "Returns should be easier."),
    },
    "difficult": {
        "tr": ("Aynı şeyi üç farklı kişiye anlatmak zorunda kaldım.", "Bekleme süresi çok uzundu."),
        "en": ("I had to explain the same thing to three people.", "The wait was far too long."),
    },
}

# Employees' comments by question key and language, as topics: (openings, follow-ups). A comment
# is one opening of a topic, half the time followed by one of its follow-ups, so a wave's
# comments vary as people's do (the same topics, rarely the same words).
Topic = tuple[tuple[str, ...], tuple[str, ...]]
EMPLOYEE_TEXTS: dict[str, dict[str, tuple[Topic, ...]]] = {
    "improve": {
        "en": (
            (  # workload
                (
                    "The workload has been too high since the reorganisation.",
                    "We are always short-staffed and everyone is covering for someone.",
                ),
                (
                    "Overtime has become the norm.",
                    "Priorities change every week, so nothing gets finished.",
                ),
            ),
            (  # manager support
                (
                    "I would like more regular one-to-ones with my manager.",
                    "Decisions are made above our heads without asking the team.",
                ),
                (
                    "Feedback only comes at the annual review.",
                    "It would help to know what is expected of me.",
                ),
            ),
            (  # career growth
                (
                    "Career paths are unclear; I do not know how to get promoted.",
                    "There is hardly any budget for training or conferences.",
                ),
                (
                    "Internal vacancies are often filled from outside.",
                    "A mentoring programme would make a real difference.",
                ),
            ),
            (  # tools
                (
                    "Our laptops are slow and the VPN drops several times a day.",
                    "We use too many tools that do not talk to each other.",
                ),
                (
                    "Simple requests to IT take weeks.",
                    "I lose an hour a day copying data between systems.",
                ),
            ),
            (  # recognition
                (
                    "Good work goes unnoticed unless it is a big project.",
                    "Recognition depends too much on who you know.",
                ),
                (
                    "A simple thank-you from leadership would go a long way.",
                    "The people who keep things running are rarely mentioned.",
                ),
            ),
            (  # remote work
                (
                    "The new three-days-in-the-office rule feels arbitrary.",
                    "Hybrid meetings are hard to follow from home.",
                ),
                (
                    "My commute takes almost two hours a day.",
                    "Teams should be able to agree their own office days.",
                ),
            ),
            (  # communication
                (
                    "We hear about important changes from the press before management tells us.",
                    "Information gets lost between departments.",
                ),
                (
                    "A short monthly update from leadership would help.",
                    "Nobody knows who owns what.",
                ),
            ),
            (  # pay and benefits
                (
                    "Salaries have not kept up with inflation.",
                    "The pay review process is not transparent.",
                ),
                (
                    "Several good colleagues have left for better offers.",
                    "The meal allowance has not changed in two years.",
                ),
            ),
            (  # meetings
                (
                    "So many meetings leave no time for the actual work.",
                    "Meetings often run without an agenda.",
                ),
                ("Meeting-free afternoons would help.", "Half of them could be an e-mail."),
            ),
            (  # onboarding and documentation
                (
                    "New joiners are left on their own in their first weeks.",
                    "The documentation is out of date or missing.",
                ),
                (
                    "Every newcomer should have a buddy.",
                    "I still learn our processes by asking around.",
                ),
            ),
        ),
        "tr": (
            (  # iş yükü
                (
                    "Yeniden yapılanmadan beri iş yükü çok arttı.",
                    "Sürekli eksik kadroyla çalışıyoruz, herkes birinin işini üstleniyor.",
                ),
                (
                    "Fazla mesai artık olağan hale geldi.",
                    "Öncelikler her hafta değişiyor, hiçbir iş bitmiyor.",
                ),
            ),
            (  # yönetici desteği
                (
                    "Yöneticimle daha düzenli birebir görüşmeler yapmak isterim.",
                    "Kararlar ekibe danışılmadan tepeden veriliyor.",
                ),
                (
                    "Geri bildirim yalnızca yıllık değerlendirmede geliyor.",
                    "Benden ne beklendiğini bilmek işimi kolaylaştırır.",
                ),
            ),
            (  # kariyer gelişimi
                (
                    "Kariyer yolları belirsiz, nasıl terfi alacağımı bilmiyorum.",
                    "Eğitim ve konferanslar için neredeyse hiç bütçe yok.",
                ),
                (
                    "Açık pozisyonlar çoğu zaman dışarıdan dolduruluyor.",
                    "Bir mentorluk programı gerçekten fark yaratır.",
                ),
            ),
            (  # araçlar
                (
                    "Bilgisayarlarımız yavaş, VPN günde birkaç kez kopuyor.",
                    "Birbiriyle konuşmayan çok fazla araç kullanıyoruz.",
                ),
                (
                    "BT'ye açılan basit talepler haftalar sürüyor.",
                    "Sistemler arasında veri kopyalarken günde bir saat kaybediyorum.",
                ),
            ),
            (  # takdir
                (
                    "Büyük bir proje olmadıkça iyi iş fark edilmiyor.",
                    "Takdir görmek fazlasıyla kimi tanıdığınıza bağlı.",
                ),
                (
                    "Yönetimden basit bir teşekkür bile çok şey değiştirir.",
                    "İşleri ayakta tutanların adı pek anılmıyor.",
                ),
            ),
            (  # uzaktan çalışma
                (
                    "Haftada üç gün ofis kuralı keyfi geliyor.",
                    "Hibrit toplantıları evden takip etmek zor.",
                ),
                (
                    "İşe gidip gelmek günde neredeyse iki saatimi alıyor.",
                    "Ofis günlerine ekipler kendileri karar verebilmeli.",
                ),
            ),
            (  # iletişim
                (
                    "Önemli değişiklikleri yönetimden önce basından duyuyoruz.",
                    "Bilgi departmanlar arasında kayboluyor.",
                ),
                (
                    "Yönetimden aylık kısa bir bilgilendirme iyi olurdu.",
                    "Hangi işin kimde olduğunu kimse bilmiyor.",
                ),
            ),
            (  # ücret ve yan haklar
                (
                    "Maaşlar enflasyonun gerisinde kaldı.",
                    "Ücret değerlendirme süreci şeffaf değil.",
                ),
                (
                    "Birkaç iyi arkadaşımız daha iyi teklifler için ayrıldı.",
                    "Yemek kartı iki yıldır artmadı.",
                ),
            ),
            (  # toplantılar
                (
                    "Toplantılar o kadar çok ki asıl işe zaman kalmıyor.",
                    "Toplantılar çoğu zaman gündemsiz yapılıyor.",
                ),
                (
                    "Toplantısız öğleden sonralar çok iyi olurdu.",
                    "Yarısı bir e-postayla halledilebilir.",
                ),
            ),
            (  # oryantasyon ve dokümantasyon
                (
                    "Yeni gelenler ilk haftalarında kendi hallerine bırakılıyor.",
                    "Dokümantasyon ya eski ya da hiç yok.",
                ),
                (
                    "Her yeni çalışana bir destek arkadaşı atanmalı.",
                    "Süreçleri hâlâ sora sora öğreniyorum.",
                ),
            ),
        ),
    },
    "liked": {
        "en": (
            (  # colleagues
                (
                    "My colleagues are helpful and friendly.",
                    "The team spirit in my department is great.",
                ),
                (
                    "We cover for each other when things get busy.",
                    "I learn something from them every week.",
                ),
            ),
            (  # manager
                (
                    "My manager trusts me and gives me room to decide.",
                    "My manager always makes time when I need help.",
                ),
                ("I never feel micromanaged.", "Our one-to-ones are genuinely useful."),
            ),
            (  # flexibility
                (
                    "Flexible hours make it easy to combine work and family.",
                    "I can work from home when I need to.",
                ),
                ("It shows they trust us.", "That alone keeps me here."),
            ),
            (  # meaningful work
                (
                    "I believe in what we build and in whom we build it for.",
                    "My work makes a visible difference to our customers.",
                ),
                (
                    "Customer feedback reaches us directly.",
                    "Seeing the results is motivating.",
                ),
            ),
            (  # learning
                (
                    "There is a lot to learn and people share what they know.",
                    "The internal training sessions are excellent.",
                ),
                (
                    "I have grown more here in one year than in three anywhere else.",
                    "Senior colleagues take the time to explain.",
                ),
            ),
            (  # culture
                (
                    "Everyone is treated with respect, whatever their role.",
                    "It is a friendly place where you can ask anything.",
                ),
                (
                    "Mistakes are treated as something to learn from.",
                    "Nobody is afraid to disagree with a manager.",
                ),
            ),
            (  # benefits
                (
                    "The private health insurance is really good.",
                    "The benefits are generous compared with other employers.",
                ),
                (
                    "The day off on your birthday is a nice touch.",
                    "The lunches at the office are great.",
                ),
            ),
            (  # stability
                ("The company is stable and pays on time.", "I feel secure here."),
                ("That matters a lot in this economy.", "I can plan for the future."),
            ),
        ),
        "tr": (
            (  # çalışma arkadaşları
                (
                    "Çalışma arkadaşlarım yardımsever ve samimi.",
                    "Departmanımdaki takım ruhu harika.",
                ),
                (
                    "İşler yoğunlaşınca birbirimize destek oluyoruz.",
                    "Her hafta onlardan yeni bir şey öğreniyorum.",
                ),
            ),
            (  # yönetici
                (
                    "Yöneticim bana güveniyor ve karar alanı tanıyor.",
                    "Yöneticim yardıma ihtiyacım olduğunda hep zaman ayırıyor.",
                ),
                (
                    "Hiçbir zaman mikro yönetildiğimi hissetmiyorum.",
                    "Birebir görüşmelerimiz gerçekten faydalı.",
                ),
            ),
            (  # esneklik
                (
                    "Esnek çalışma saatleri işle aileyi dengelemeyi kolaylaştırıyor.",
                    "Gerektiğinde evden çalışabiliyorum.",
                ),
                ("Bize güvendiklerini gösteriyor.", "Sırf bu bile beni burada tutuyor."),
            ),
            (  # anlamlı iş
                (
                    "Ürettiğimiz şeye ve kimin için ürettiğimize inanıyorum.",
                    "İşimin müşterilerimiz üzerinde görünür bir etkisi var.",
                ),
                (
                    "Müşteri geri bildirimleri bize doğrudan ulaşıyor.",
                    "Sonuçları görmek motive edici.",
                ),
            ),
            (  # öğrenme
                (
                    "Öğrenecek çok şey var ve herkes bildiğini paylaşıyor.",
                    "Şirket içi eğitimler çok başarılı.",
                ),
                (
                    "Burada bir yılda, başka yerlerde üç yılda geliştiğimden fazla geliştim.",
                    "Kıdemli arkadaşlar anlatmaya zaman ayırıyor.",
                ),
            ),
            (  # kültür
                (
                    "Rolü ne olursa olsun herkese saygıyla davranılıyor.",
                    "Her şeyi sorabileceğiniz samimi bir ortam var.",
                ),
                (
                    "Hatalar öğrenme fırsatı olarak görülüyor.",
                    "Kimse yöneticisiyle farklı düşünmekten çekinmiyor.",
                ),
            ),
            (  # yan haklar
                (
                    "Özel sağlık sigortası gerçekten iyi.",
                    "Yan haklar diğer işverenlere göre cömert.",
                ),
                (
                    "Doğum gününde verilen izin günü çok hoş bir jest.",
                    "Ofisteki öğle yemekleri harika.",
                ),
            ),
            (  # istikrar
                (
                    "Şirket istikrarlı ve maaşlar zamanında ödeniyor.",
                    "Burada kendimi güvende hissediyorum.",
                ),
                ("Bu ekonomide bunun önemi büyük.", "Geleceğimi planlayabiliyorum."),
            ),
        ),
    },
}


def _comment(texts: str, key: str, language: str, rng: random.Random) -> str | None:
    """What one respondent writes into free-text question `key`, in their language (None: the
    survey's comments have nothing for this question)."""
    if texts == "employee":
        by_language = EMPLOYEE_TEXTS.get(key)
        if by_language is None:
            return None
        openings, follow_ups = rng.choice(by_language.get(language) or by_language["en"])
        text = rng.choice(openings)
        return f"{text} {rng.choice(follow_ups)}" if rng.random() < 0.5 else text
    by_language_plain = TEXTS.get(key)
    if by_language_plain is None:
        return None
    return rng.choice(by_language_plain.get(language) or by_language_plain["en"])


def _biases(values: Sequence[Any], spread: float) -> dict[Any, float]:
    """A fixed, visible offset per value: the first ones better, the last ones worse."""
    if len(values) < 2:
        return {v: 0.0 for v in values}
    step = 2 * spread / (len(values) - 1)
    return {v: spread - i * step for i, v in enumerate(values)}


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def _answers(
    questions: Sequence[Question],
    mood: float,
    language: str,
    rng: random.Random,
    spec: DemoSurvey | None = None,
) -> dict[str, Any]:
    """Typed answers of one respondent whose sentiment is about `mood`, honouring the logic;
    `spec` gives the survey's comments, how many write one and each question's offset."""
    texts = spec.texts if spec else "customer"
    text_share = spec.text_share if spec else 0.6
    offsets = dict(spec.question_moods) if spec else {}
    values: dict[str, Any] = {}
    for q in questions:
        # Each scored answer moves a little around the respondent's mood.
        feel = _clamp(mood + offsets.get(q.key, 0.0) + rng.gauss(0, 0.08))
        if q.type == QuestionType.NPS:
            values[q.key] = round(feel * 10)
        elif q.type == QuestionType.CSAT:
            values[q.key] = 1 + round(feel * 4)
        elif q.type in (QuestionType.CES, QuestionType.RATING):
            top = q.scale_max or (7 if q.type == QuestionType.CES else 5)
            values[q.key] = 1 + round(feel * (top - 1))
        elif q.type == QuestionType.SINGLE_CHOICE:
            options = [str(c["value"]) for c in q.choices]
            if q.key == "may_contact":
                values[q.key] = "yes" if rng.random() < 0.6 else "no"
            elif q.required or rng.random() < 0.8:
                values[q.key] = rng.choice(options)
        elif q.type == QuestionType.MULTIPLE_CHOICE:
            if q.required or rng.random() < 0.8:
                options = [str(c["value"]) for c in q.choices]
                values[q.key] = rng.sample(options, k=rng.randint(1, min(2, len(options))))
        elif q.type == QuestionType.TEXT and (q.required or rng.random() < text_share):
            text = _comment(texts, q.key, language, rng)
            if text is not None:
                values[q.key] = text
    shown = visible_keys(questions, values)
    return {key: value for key, value in values.items() if key in shown}


def _answer_row(response: Response, question: Question, value: Any) -> Answer:
    row = Answer(response=response, question=question, text="")
    if question.type == QuestionType.MULTIPLE_CHOICE:
        row.choices = list(value)
    elif question.type == QuestionType.SINGLE_CHOICE:
        row.choices, row.text = [value], value
    elif question.type == QuestionType.TEXT:
        row.text = value
    else:
        row.number = value
    return row


def _pick_state(rng: random.Random, participation: float = 0.55) -> str:
    roll = rng.random()
    if roll < participation:
        return InvitationState.RESPONDED
    if roll < participation + 0.2:
        return InvitationState.OPENED
    return InvitationState.SENT


def _reply_delay(rng: random.Random) -> datetime.timedelta:
    """How long after its invitation arrived someone answers: half within a day and a half,
    then after each of the two reminders (days 3 and 6), never after expiry (14 days)."""
    roll = rng.random()
    if roll < 0.5:
        days = rng.uniform(0.01, 1.5)
    elif roll < 0.8:
        days = rng.uniform(3, 5.5)
    else:
        days = rng.uniform(6, PULSE_EXPIRY_DAYS - 1)
    return datetime.timedelta(days=days)


def wave_runs(*, now: datetime.datetime, count: int) -> list[datetime.datetime]:
    """The quarterly pulse's last `count` runs up to `now`, oldest first: PULSE_HOUR on the
    first day of each PULSE_MONTHS month, in the beat's time zone (the rule's crontab)."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    local = now.astimezone(zone)
    year, month = local.year, max(m for m in PULSE_MONTHS if m <= local.month)
    runs: list[datetime.datetime] = []
    while len(runs) < count:
        run = datetime.datetime(year, month, 1, PULSE_HOUR, tzinfo=zone)
        if run <= now:
            runs.append(run)
        earlier = [m for m in PULSE_MONTHS if m < month]
        year, month = (year, max(earlier)) if earlier else (year - 1, max(PULSE_MONTHS))
    return runs[::-1]


# (invitation, period start or completion day, segment, language, mood offset)
Answered = tuple[Invitation, datetime.date, str, str, float]
Member = tuple[int, str, str, datetime.date | None, datetime.date | None]


def _invitations_spread(
    spec: DemoSurvey,
    survey: Survey,
    members: list[Member],
    now: datetime.datetime,
    rng: random.Random,
) -> tuple[list[Invitation], list[Answered], dict[datetime.date, datetime.date]]:
    """A share of the current members invited once, at random moments of the last 90 days."""
    current = [m for m in members if m[4] is None]
    if not current:
        return [], [], {}
    invited = rng.sample(current, k=max(1, round(len(current) * spec.share)))
    window = datetime.timedelta(days=WINDOW_DAYS).total_seconds()
    # Anonymous: the calendar period (no wave) whose first day stands for each answer.
    kind = survey.reporting_period
    kind = kind if kind in CALENDAR_KINDS else ReportingPeriodKind.MONTH
    periods: dict[datetime.date, datetime.date] = {}
    invitations: list[Invitation] = []
    answered: list[Answered] = []
    for person_id, segment, person_language, _joined, _left in invited:
        language = person_language if person_language in survey.languages else "tr"
        state = _pick_state(rng, spec.participation)
        sent_at = now - datetime.timedelta(seconds=rng.uniform(3600, window))
        invitation = _invitation(survey, person_id, rng.choice(spec.channels), language, state)
        invitation.due_at = invitation.sent_at = sent_at
        invitation.expires_at = sent_at + datetime.timedelta(days=14)
        opened_at = min(now, sent_at + datetime.timedelta(minutes=rng.randint(2, 600)))
        responded_at = min(now, opened_at + datetime.timedelta(minutes=3))
        if state in (InvitationState.OPENED, InvitationState.RESPONDED):
            # Anonymous surveys keep the day only, as the hosted pages do (response_submit).
            invitation.opened_at = day_start(opened_at) if survey.anonymous else opened_at
        if state == InvitationState.RESPONDED:
            day = timezone.localdate(responded_at)
            if survey.anonymous:
                # Answered in which period, never when (as response_submit records it).
                day, end = period_bounds(kind=kind, day=day)
                periods[day] = end
                invitation.responded_at = period_start_moment(day)
            else:
                invitation.responded_at = responded_at
            answered.append((invitation, day, segment, language, 0.0))
        invitations.append(invitation)
    return invitations, answered, periods


def _invitations_waves(
    spec: DemoSurvey,
    survey: Survey,
    members: list[Member],
    runs: Sequence[datetime.datetime],
    now: datetime.datetime,
    rng: random.Random,
) -> tuple[list[Invitation], list[Answered], dict[datetime.date, datetime.date]]:
    """Each run invites everyone who was a member that day, in person order, PULSE_HOURLY_CAP
    an hour; about `participation` of them answer before `now` and before expiry. A wave's
    answers belong to its period (the run day until its invitations expire); later waves are
    a little happier, so the trend moves."""
    expiry = PULSE_EXPIRY_DAYS * DAY
    periods: dict[datetime.date, datetime.date] = {}
    invitations: list[Invitation] = []
    answered: list[Answered] = []
    for w, run in enumerate(runs):
        start = timezone.localdate(run)
        end = start + (PULSE_EXPIRY_DAYS - 1) * DAY
        participation = spec.participation + rng.uniform(-0.05, 0.05)
        trend = -0.03 * (len(runs) - 1 - w)
        invited = [
            m for m in members if (m[3] is None or m[3] <= start) and (m[4] is None or m[4] > start)
        ]
        for index, (person_id, segment, person_language, _joined, _left) in enumerate(invited):
            language = person_language if person_language in survey.languages else "tr"
            invitation = _invitation(
                survey, person_id, spec.channels[0], language, InvitationState.SENT
            )
            invitation.due_at = run + (index // PULSE_HOURLY_CAP) * HOUR
            invitation.expires_at = invitation.due_at + expiry
            sent_at = invitation.due_at + datetime.timedelta(seconds=rng.uniform(5, 900))
            invitations.append(invitation)
            if sent_at > now:
                invitation.state = InvitationState.PLANNED  # this morning's later batches
                continue
            invitation.sent_at = sent_at
            roll = rng.random()
            at = sent_at + _reply_delay(rng)
            if at > now or roll >= participation + 0.12:
                continue  # not opened (yet)
            # Anonymous: the day it was opened, and that it was answered in this period.
            invitation.opened_at = day_start(at) if survey.anonymous else at
            invitation.state = InvitationState.OPENED
            if roll < participation:
                invitation.state = InvitationState.RESPONDED
                invitation.responded_at = period_start_moment(start) if survey.anonymous else at
                answered.append((invitation, start, segment, language, trend))
                periods[start] = end
    return invitations, answered, periods


def _invitation(
    survey: Survey, person_id: int, channel: str, language: str, state: str
) -> Invitation:
    nonce = tokens.new_nonce()
    return Invitation(
        survey=survey,
        person_id=person_id,
        channel=channel,
        nonce=nonce,
        token_hash=tokens.token_hash(tokens.token_for(nonce)),
        state=state,
        language=language,
    )


def _seed_one(
    spec: DemoSurvey,
    audience: Audience,
    touchpoints: list[dict[str, Any]],
    now: datetime.datetime,
    rng: random.Random,
) -> dict[str, int]:
    """One live survey with its invitations, responses and answers (bulk inserts only)."""
    about = next((t for t in touchpoints if t["role"] == spec.touchpoint_role), None)
    if spec.touchpoint_role and about is None:
        if spec.template == "support_ces":
            return {}  # no support touchpoint in this journey: the survey would be about nothing
        about = touchpoints[0] if touchpoints else None  # the journey's first moment instead
    survey = survey_create_from_template(
        template_key=spec.template,
        audience=audience,
        name=spec.name,
        touchpoint=Touchpoint(pk=about["id"]) if about else None,
    )
    survey.status = SurveyStatus.LIVE
    survey.save(update_fields=["status"])
    questions = list(Question.objects.filter(survey=survey).order_by("page", "order"))

    members: list[Member] = list(
        Membership.objects.filter(audience=audience)
        .order_by("person_id")
        .values_list("person_id", "segment", "person__language", "joined_on", "left_on")
    )
    if not any(m[4] is None for m in members):
        return {"surveys": 1}
    segment_bias = _biases(sorted({m[1] for m in members}), spec.segment_spread)
    tp_ids = [t["id"] for t in touchpoints]
    tp_bias = _biases(tp_ids, 0.12)

    runs = wave_runs(now=now, count=spec.waves) if spec.waves else []
    if spec.waves:
        invitations, answered, periods = _invitations_waves(spec, survey, members, runs, now, rng)
    else:
        invitations, answered, periods = _invitations_spread(spec, survey, members, now, rng)
    Invitation.objects.bulk_create(invitations, batch_size=BATCH)
    # Planned before due (the insert stamps them now): at the wave's run, or `lead` before.
    if spec.waves:
        expiry = PULSE_EXPIRY_DAYS * DAY
        for run in runs:
            Invitation.objects.filter(
                survey=survey, due_at__gte=run, due_at__lt=run + expiry
            ).update(planned_at=run)
    else:
        Invitation.objects.filter(survey=survey).update(planned_at=F("due_at") - spec.lead)
    ReportingPeriod.objects.bulk_create(
        [
            ReportingPeriod(survey=survey, starts_on=start, ends_on=end)
            for start, end in periods.items()
        ]
    )

    responses: list[Response] = []
    planned: list[dict[str, Any]] = []
    for invitation, day, segment, language, offset in answered:
        # A transactional survey is about its touchpoint; others are attributed to a journey
        # moment so the heatmap has cells (the dashboard hides the small ones). An anonymous
        # response is about the survey's touchpoint only, as the hosted pages store it.
        tp_id = about["id"] if about else (rng.choice(tp_ids) if tp_ids else None)
        if survey.anonymous:
            tp_id = about["id"] if about else None
        mood = spec.mood + offset + segment_bias.get(segment, 0.0) + tp_bias.get(tp_id, 0.0)
        mood += rng.gauss(0, 0.18)
        response = Response(
            survey=survey,
            audience=audience,
            touchpoint_id=tp_id,
            channel=invitation.channel,
            language=language,
            segment=segment,
            completed_on=day,
        )
        if survey.anonymous:
            # A random id (ids in invitation order would pair them), unreleased until
            # periods_release; announced and checked on the period's first day.
            response.pk = anonymous_response_id()
            response.released = False
            response.announced_on = day
            response.alerts_checked_at = period_start_moment(day)
        else:
            response.invitation = invitation
            response.person_id = invitation.person_id
            response.started_at = invitation.responded_at - datetime.timedelta(minutes=2)
            response.completed_at = invitation.responded_at
        responses.append(response)
        planned.append(_answers(questions, _clamp(mood), language, rng, spec))
    Response.objects.bulk_create(responses, batch_size=BATCH)

    by_key = {q.key: q for q in questions}
    answers = [
        _answer_row(response, by_key[key], value)
        for response, values in zip(responses, planned, strict=True)
        for key, value in values.items()
    ]
    Answer.objects.bulk_create(answers, batch_size=BATCH)
    return {
        "surveys": 1,
        "invitations": len(invitations),
        "responses": len(responses),
        "answers": len(answers),
    }


@transaction.atomic
def seed_surveys(
    *,
    now: datetime.datetime | None = None,
    rng: random.Random | None = None,
    stdout: Any = None,
    **_options: Any,
) -> dict[str, int]:
    """Create the demo surveys for the demo audiences present; existing ones are kept as they are.

    A survey already present (same audience and name) is skipped with its responses, so running
    the seed again adds nothing.
    """
    now = now or timezone.now()
    rng = rng or random.Random(7)  # noqa: S311 - demo data, not security
    slugs = sorted({spec.audience for spec in DEMO_SURVEYS})
    audiences = {a.slug: a for a in Audience.objects.filter(slug__in=slugs)}
    existing = set(
        Survey.objects.filter(
            audience__in=audiences.values(), name__in=[spec.name for spec in DEMO_SURVEYS]
        ).values_list("audience__slug", "name")
    )
    touchpoints: dict[int, list[dict[str, Any]]] = {a.pk: [] for a in audiences.values()}
    for tp in (
        Touchpoint.objects.filter(stage__journey__audience__in=audiences.values())
        .order_by("stage__journey__name", "stage__order", "stage_id", "order", "id")
        .values("id", "role", "stage__journey__audience_id")
    ):
        touchpoints[tp["stage__journey__audience_id"]].append(dict(tp))

    totals = {"surveys": 0, "invitations": 0, "responses": 0, "answers": 0}
    for spec in DEMO_SURVEYS:
        audience = audiences.get(spec.audience)
        if audience is None or (spec.audience, spec.name) in existing:
            continue
        counts = _seed_one(spec, audience, touchpoints[audience.pk], now, rng)
        for key, value in counts.items():
            totals[key] += value
    demo_ids = list(
        Survey.objects.filter(
            audience__in=audiences.values(), name__in=[spec.name for spec in DEMO_SURVEYS]
        ).values_list("id", flat=True)
    )
    # What the beat would have done meanwhile: batches of at least k released, the periods
    # already over published (on the night after they ended, as the beat would have).
    periods_release(now=now)
    _published_backdate(survey_ids=demo_ids, now=now)
    # Over every demo survey, not only the new ones: a demo seeded before the ledger was
    # filled here gets its history too.
    totals["contacts"] = _ledger_seed(survey_ids=demo_ids)
    if stdout is not None:
        stdout.write(
            "Surveys: {surveys} created, {invitations} invitations, {responses} responses, "
            "{answers} answers, {contacts} contact-ledger entries.".format(**totals)
        )
    return totals


# How long after midnight the beat's first release run publishes a period that has ended.
PUBLISH_AFTER = datetime.timedelta(minutes=5)


def published_on_time(*, ends_on: datetime.date, now: datetime.datetime) -> datetime.datetime:
    """When the beat would have published a period that ended on `ends_on` (never after now)."""
    return min(now, period_start_moment(ends_on + DAY) + PUBLISH_AFTER)


def _published_backdate(*, survey_ids: Sequence[int], now: datetime.datetime) -> int:
    """The demo periods `periods_release` just published (at `now`) are dated when the beat
    would have published them, the night after they ended; returns how many (one statement
    per period: a demo survey has a handful)."""
    periods = ReportingPeriod.objects.filter(survey_id__in=survey_ids, published_at=now)
    dated = 0
    for pk, ends_on in periods.values_list("pk", "ends_on"):
        at = published_on_time(ends_on=ends_on, now=now)
        dated += ReportingPeriod.objects.filter(pk=pk).update(published_at=at)
    return dated


# The states the sending path leaves an invitation's ledger entry on (surveys.distribution.sending).
REACHED = (
    InvitationState.SENT,
    InvitationState.DELIVERY_UNKNOWN,
    InvitationState.OPENED,
    InvitationState.RESPONDED,
)


def _ledger_seed(*, survey_ids: Sequence[int]) -> int:
    """One `invitation` ledger entry, at its sent time, per invitation of `survey_ids` that
    reached its person and has none yet; returns how many (one INSERT … SELECT).

    The row is the one distribution.sending writes when it admits an invitation: the person, the
    invitation, its survey and channel.
    """
    if not survey_ids:
        return 0
    ledger = connection.ops.quote_name(ContactLedger._meta.db_table)
    table = connection.ops.quote_name(Invitation._meta.db_table)
    surveys = ", ".join(["%s"] * len(survey_ids))
    states = ", ".join(["%s"] * len(REACHED))
    kind = ContactKind.INVITATION.value
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ledger} (person_id, invitation_id, survey_id, kind, channel, at)"  # noqa: S608
            f" SELECT i.person_id, i.id, i.survey_id, %s, i.channel, i.sent_at FROM {table} i"
            f" WHERE i.survey_id IN ({surveys}) AND i.state IN ({states})"
            " AND i.person_id IS NOT NULL AND i.sent_at IS NOT NULL"
            f" AND NOT EXISTS (SELECT 1 FROM {ledger} l WHERE l.invitation_id = i.id"
            " AND l.kind = %s)",
            [kind, *survey_ids, *(state.value for state in REACHED), kind],
        )
        return cursor.rowcount


# --- Distribution: fatigue policies, rules, one planned wave ------------------------------

# The policies keep the defaults but for the recontact window: 80 days, not 90, since quarter
# starts can be 89–92 days apart and a 90-day window would suppress most of the quarterly
# pulse's second run (every applicable policy is checked, so both must allow it).
GLOBAL_POLICY: dict[str, Any] = {"recontact_days": 80}

# Employees get the quarterly pulse and one in ten is also a customer: at most one survey a
# month, and none outside working hours (18:00–09:00 in their zone).
EMPLOYEE_POLICY: dict[str, Any] = {
    "max_invitations": 1,
    "window_days": 30,
    "recontact_days": 80,
    "quiet_start": datetime.time(18, 0),
    "quiet_end": datetime.time(9, 0),
}

RELATIONSHIP_WAVE = "Monthly relationship NPS (10 % of customers)"

# (audience slug, survey name, rule fields); a wave's "crontab" goes to its beat entry.
DEMO_RULES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "customers",
        "Support effort (CES)",
        {
            "name": "Support effort after a request resolved at first contact",
            "kind": RuleKind.TRIGGER,
            "delay": datetime.timedelta(hours=2),
            "sampling_rate": 0.25,
            "condition": {"first_contact_resolved": True},
            "channels": [Channel.EMAIL, Channel.SMS],
            "reminder_count": 1,
            "reminder_after_days": 3,
        },
    ),
    (
        "customers",
        "Checkout satisfaction (CSAT)",
        {
            "name": "Checkout satisfaction after each purchase",
            "kind": RuleKind.TRIGGER,
            "delay": datetime.timedelta(hours=1),
            "sampling_rate": 1.0,
            "channels": [Channel.EMAIL, Channel.SMS],
        },
    ),
    (
        "employees",
        "Employee engagement pulse",
        {
            "name": "Quarterly employee pulse",
            "kind": RuleKind.WAVE,
            "channels": [Channel.EMAIL],  # work e-mail only, never a private phone
            "reminder_count": 2,
            "reminder_after_days": 3,
            "expiry_days": PULSE_EXPIRY_DAYS,
            "hourly_cap": PULSE_HOURLY_CAP,  # the pulse arrives over the morning, not in one burst
            "crontab": {
                "minute": "0",
                "hour": str(PULSE_HOUR),
                "day_of_month": "1",
                "month_of_year": ",".join(str(m) for m in PULSE_MONTHS),
            },
        },
    ),
    (
        "customers",
        "Customer relationship NPS",
        {
            "name": RELATIONSHIP_WAVE,
            "kind": RuleKind.WAVE,
            "sample_share": 0.1,
            "channels": [Channel.EMAIL, Channel.SMS],
            "reminder_count": 1,
            "reminder_after_days": 3,
            "crontab": {"minute": "0", "hour": "10", "day_of_month": "1", "month_of_year": "*"},
        },
    ),
)


def _policies_seed() -> int:
    """The global policy (the defaults, recontact aside) and the employees' one, only when there
    is no policy at all (someone's own settings are left alone); returns how many were created."""
    if FatiguePolicy.objects.exists():
        return 0
    policies = [FatiguePolicy(audience=None, **GLOBAL_POLICY)]
    employees = Audience.objects.filter(slug="employees").first()
    if employees is not None:
        policies.append(FatiguePolicy(audience=employees, **EMPLOYEE_POLICY))
    FatiguePolicy.objects.bulk_create(policies)
    return len(policies)


# The demo surveys seeded as their wave's runs (DemoSurvey.waves).
WAVE_SURVEYS = frozenset((spec.audience, spec.name) for spec in DEMO_SURVEYS if spec.waves)


def _wave_history_record(rule: DistributionRule) -> int:
    """Give a new wave rule the runs `seed_surveys` seeded for its survey: their invitations
    (planned at the run, no rule yet) name it, and it counts them as its runs, the latest as its
    last run, as `wave_run` would have left it; returns how many runs (three statements)."""
    seeded = Invitation.objects.filter(survey_id=rule.survey_id, rule__isnull=True)
    runs = sorted(seeded.order_by().values_list("planned_at", flat=True).distinct())
    if not runs:
        return 0
    seeded.update(rule=rule)
    DistributionRule.objects.filter(pk=rule.pk).update(runs=len(runs), last_run_at=runs[-1])
    rule.runs, rule.last_run_at = len(runs), runs[-1]
    return len(runs)


def _rules_seed() -> tuple[int, DistributionRule | None]:
    """The demo rules for the demo surveys present, waves in the beat schedule; returns how
    many were created and the relationship wave (None without its survey)."""
    demo = Survey.objects.select_related("audience").filter(
        audience__slug__in={slug for slug, _, _ in DEMO_RULES},
        name__in={name for _, name, _ in DEMO_RULES},
    )
    # Newest first, so the oldest survey of a name wins.
    surveys = {(s.audience.slug, s.name): s for s in demo.order_by("-pk")}
    created = 0
    relationship = None
    for slug, survey_name, spec in DEMO_RULES:
        survey = surveys.get((slug, survey_name))
        if survey is None:
            continue
        fields = dict(spec)
        crontab = fields.pop("crontab", None)
        if fields["kind"] == RuleKind.TRIGGER:
            if survey.touchpoint_id is None:
                continue  # a trigger on no touchpoint would never fire
            fields["touchpoint_id"] = survey.touchpoint_id
        rule, new = DistributionRule.objects.get_or_create(
            survey=survey, name=fields.pop("name"), defaults=fields
        )
        if new and crontab is not None:
            schedule, _ = CrontabSchedule.objects.get_or_create(
                **crontab, day_of_week="*", timezone=settings.TIME_ZONE
            )
            distribution.wave_schedule(rule=rule, crontab=schedule)
        if new and (slug, survey_name) in WAVE_SURVEYS:
            _wave_history_record(rule)
        created += new
        if rule.name == RELATIONSHIP_WAVE:
            relationship = rule
    return created, relationship


@transaction.atomic
def seed_distribution(
    *, now: datetime.datetime | None = None, stdout: Any = None, **_options: Any
) -> dict[str, Any]:
    """Fatigue policies, the demo distribution rules, and one run of the relationship wave.

    Run after `seed_surveys`, whose ledger entries the guard reads. The pulse's wave takes the
    runs seeded for it (their invitations, its run count and last run), so its survey's
    automatic reporting period is the wave's. The relationship wave is planned through
    `distribution.planning.wave_run`, as the admin's "Plan the wave now" does, only if it never
    ran; nothing is sent. Running it again creates nothing.
    """
    now = now or timezone.now()
    policies = _policies_seed()
    rules, relationship = _rules_seed()
    plan = distribution.WavePlan()
    if relationship is not None and relationship.runs == 0:
        plan = distribution.wave_run(rule=relationship, now=now)
    totals = {
        "rules": rules,
        "policies": policies,
        "planned": plan.planned,
        "suppressed": Counter(plan.suppressed),
    }
    if stdout is not None:
        stdout.write(_distribution_line(totals))
    return totals


def _distribution_line(totals: dict[str, Any]) -> str:
    suppressed: Counter = totals["suppressed"]
    reasons = ", ".join(
        f"{n} {fatigue.reason_label(reason)}"
        for reason, n in sorted(suppressed.items(), key=lambda item: (-item[1], item[0]))
    )
    return (
        f"Distribution: {totals['rules']} rules, {totals['policies']} fatigue policies, "
        f"relationship wave planned {totals['planned']}, "
        f"suppressed {suppressed.total()}" + (f" ({reasons})." if reasons else ".")
    )
