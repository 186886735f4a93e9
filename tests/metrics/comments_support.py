"""Synthetic comments for the text pipeline's tests: two Turkish themes (delivery, price) and two
English ones, each with a tone that matches its score, generated from a fixed seed."""

import random
from typing import Any

from metrics.comments import processing
from surveys.models import Question, QuestionType, Survey
from tests.metrics.conftest import World, add_responses

TR_DELIVERY = [
    "kargom çok geç geldi",
    "kargonun teslimatı gecikti",
    "kargo teslimat süresi berbat",
    "teslimatlar hep geç kalıyor",
    "kargo paketi hasarlı geldi",
    "kargoyu günlerce bekledim",
    "teslimat adresime ulaşmadı",
    "kargo firması rezalet",
]
TR_PRICE = [
    "fiyatlar çok pahalı",
    "ürünün fiyatı pahalıydı",
    "fiyat politikası fahiş",
    "pahalı fiyatlara zam geldi",
    "indirimli fiyat bile pahalı",
    "fiyatları yüksek buldum",
    "fiyat performans kötü pahalı",
    "bu fiyata değmez pahalı",
]
EN_DELIVERY = [
    "my delivery arrived late",
    "the deliveries are always delayed",
    "courier delivered the parcel damaged",
    "delivery took two weeks",
    "the parcel delivery was lost",
    "late delivery again",
    "shipping and delivery too slow",
    "the courier never delivered",
]
EN_PRICE = [
    "prices are too expensive",
    "the price is overpriced",
    "expensive prices for what you get",
    "price went up again expensive",
    "pricing is too high",
    "cheaper prices elsewhere expensive here",
    "the price of the product is expensive",
    "high price expensive plan",
]
TR_GOOD = ["çok memnun kaldım", "harika hizmet teşekkürler", "güzel ve hızlı", "süper"]
TR_BAD = ["hiç memnun değilim", "berbat bir deneyim", "kötü hizmet", "maalesef üzgünüm"]
EN_GOOD = ["really happy thanks", "great service", "love it", "excellent"]
EN_BAD = ["very disappointed", "terrible experience", "awful service", "not happy at all"]


def theme_specs(
    seed: int, themes: dict[str, list[str]], per_theme: int, language: str, **common: Any
) -> list[dict[str, Any]]:
    """Responses whose comment is about one theme: two of its phrases, NPS 2–5 for themes
    about problems (every theme here is one), plus `common` spec keys."""
    rnd = random.Random(seed)
    specs = []
    for _name, phrases in themes.items():
        for _ in range(per_theme):
            text = " ".join(rnd.sample(phrases, 2))
            specs.append({"nps": rnd.choice([2, 3, 4, 5]), "comment": text, "language": language})
    for spec in specs:
        spec.update(common)
    return specs


def tone_specs(seed: int, n: int, language: str, **common: Any) -> list[dict[str, Any]]:
    """Responses whose comment's tone matches the score: promoters praise, detractors complain,
    with a theme word on either side so tone, not topic, tells them apart."""
    rnd = random.Random(seed)
    good, bad = (TR_GOOD, TR_BAD) if language == "tr" else (EN_GOOD, EN_BAD)
    nouns = ["kargo", "fiyat", "destek"] if language == "tr" else ["delivery", "price", "support"]
    specs = []
    for i in range(n):
        positive = i % 2 == 0
        words = rnd.sample(good if positive else bad, 2) + [rnd.choice(nouns)]
        rnd.shuffle(words)
        specs.append(
            {
                "nps": rnd.choice([9, 10]) if positive else rnd.choice([0, 2, 4, 6]),
                "comment": " ".join(words),
                "language": language,
                **common,
            }
        )
    return specs


def text_question(survey: Survey, key: str = "why") -> Question:
    return Question.objects.create(
        survey=survey, key=key, type=QuestionType.TEXT, order=9, required=False
    )


def seed_and_process(world: World, specs: list[dict[str, Any]]) -> processing.Run:
    add_responses(world, specs)
    return processing.comments_process()
