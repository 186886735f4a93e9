"""What demo customers write about delivery, price and support, by tone and language.

A comment is one opening of its topic and tone, often followed by one of its follow-ups, so the
same topics come back in many phrasings (and, in Turkish, in many inflections: kargo, kargom,
kargonun, teslimat, teslimatı…), as stemming and topic discovery meet them in real comments.
"""

import random

# topic -> tone -> language -> (openings, follow-ups). Tones: "bad" (detractors complain),
# "meh" (passives say what would make it better), "good" (promoters praise).
Phrases = tuple[tuple[str, ...], tuple[str, ...]]
STORY_TEXTS: dict[str, dict[str, dict[str, Phrases]]] = {
    "delivery": {
        "bad": {
            "tr": (
                (
                    "Kargom bir haftada geldi, teslimat çok gecikti.",
                    "Teslimat söylenenden üç gün sonra yapıldı.",
                    "Kargo takibi günlerce güncellenmedi, siparişim kayboldu sandım.",
                    "Siparişim geç geldi ve kimse haber vermedi.",
                    "Kargonun gecikmesi artık alışkanlık oldu.",
                    "Teslimatlarınız hep gecikiyor, kargo firmasını değiştirin.",
                ),
                (
                    "Bir daha hızlı kargo için para ödemem.",
                    "Kargo ücreti ödediğim halde beklemek zorunda kaldım.",
                    "Teslimat saatini de kimse tutturamadı.",
                    "Paketi kapıda bırakıp gitmişler.",
                ),
            ),
            "en": (
                (
                    "My parcel took a week; the delivery was very late.",
                    "Delivery came three days after the promised date.",
                    "The tracking did not update for days; I thought my order was lost.",
                    "My order arrived late and nobody told me.",
                    "Late deliveries have become the norm.",
                    "Your deliveries are always late; change the courier.",
                ),
                (
                    "I will not pay for express shipping again.",
                    "I paid for shipping and still had to wait.",
                    "Nobody kept to the delivery slot either.",
                    "They left the parcel at the door and went.",
                ),
            ),
        },
        "meh": {
            "tr": (
                (
                    "Teslimat biraz daha hızlı olsa yeterli.",
                    "Kargo takibi daha sık güncellenmeli.",
                    "Teslimat saatini seçebilmek isterdim.",
                    "Kargom geldi ama bir gün gecikmeyle.",
                ),
                (
                    "Onun dışında her şey yolundaydı.",
                    "Bu düzelirse puanım yükselir.",
                    "Hafta sonu teslimat da olsa iyi olur.",
                ),
            ),
            "en": (
                (
                    "Slightly faster delivery would do it.",
                    "The tracking should update more often.",
                    "I would like to choose the delivery slot.",
                    "My parcel came, but a day late.",
                ),
                (
                    "Otherwise everything was fine.",
                    "Fix that and my score goes up.",
                    "Weekend deliveries would help too.",
                ),
            ),
        },
        "good": {
            "tr": (
                (
                    "Siparişim ertesi gün elimdeydi, harika!",
                    "Kargo çok hızlı geldi, paketleme de özenliydi.",
                    "Teslimat söz verilen günden önce yapıldı.",
                    "Kargom her seferinde zamanında geliyor.",
                    "Hızlı teslimatınız için teşekkürler.",
                ),
                (
                    "Kargo takibi de anlık güncelleniyor.",
                    "Arkadaşlarıma da tavsiye ettim.",
                    "Kuryeniz de çok nazikti.",
                ),
            ),
            "en": (
                (
                    "My order arrived the next day, brilliant!",
                    "The parcel came very quickly and was packed with care.",
                    "Delivery came before the promised date.",
                    "My deliveries always arrive on time.",
                    "Thank you for the fast delivery.",
                ),
                (
                    "The tracking updates in real time too.",
                    "I have recommended you to my friends.",
                    "The courier was very polite as well.",
                ),
            ),
        },
    },
    "price": {
        "bad": {
            "tr": (
                (
                    "Fiyatlar çok pahalı, son aylarda fazla arttı.",
                    "Aynı ürünü başka yerde daha ucuza buluyorum.",
                    "Fiyatlarınız kaliteye göre pahalı kalıyor.",
                    "Her ay fiyat artışı yapılıyor, artık alamıyorum.",
                    "İndirimler gerçek değil, fiyatı önce artırıyorsunuz.",
                ),
                (
                    "Kargo ücreti de cabası.",
                    "Sadık müşteriye hiçbir ayrıcalık yok.",
                    "Bu fiyata rakiplere geçmeyi düşünüyorum.",
                ),
            ),
            "en": (
                (
                    "Prices are too expensive; they have gone up too much lately.",
                    "I find the same product cheaper elsewhere.",
                    "Your prices are high for the quality.",
                    "Prices rise every month; I can no longer afford it.",
                    "The discounts are not real; you raise the price first.",
                ),
                (
                    "And then there is the shipping fee.",
                    "Loyal customers get nothing special.",
                    "At these prices I am thinking of switching.",
                ),
            ),
        },
        "meh": {
            "tr": (
                (
                    "Fiyatlar biraz daha uygun olabilir.",
                    "Düzenli alışveriş yapanlara indirim olmalı.",
                    "Kargo ücretsiz olsa daha sık alırım.",
                ),
                ("Ürünler güzel ama fiyatı düşündürüyor.", "Kampanyaları daha sık yapın."),
            ),
            "en": (
                (
                    "Prices could be a little lower.",
                    "Regular customers should get a discount.",
                    "Free shipping would make me order more often.",
                ),
                ("The products are nice but the price makes me think.", "Run offers more often."),
            ),
        },
        "good": {
            "tr": (
                (
                    "Fiyatlar gayet uygun, kalitesine göre ucuz bile.",
                    "Fiyat performans açısından en iyisi.",
                    "Kampanyalarınız gerçekten avantajlı.",
                ),
                ("Ödediğim paraya değdi.", "Fiyatları her zaman adil buldum."),
            ),
            "en": (
                (
                    "Prices are fair, cheap even for the quality.",
                    "The best value for money around.",
                    "Your offers are a real bargain.",
                ),
                ("It was worth every penny.", "I have always found the prices fair."),
            ),
        },
    },
    "support": {
        "bad": {
            "tr": (
                (
                    "Destek ekibine ulaşmak çok zor, hep bekletiliyorum.",
                    "Müşteri hizmetleri sorunumu çözmedi, üç kez aradım.",
                    "Destek ekibiniz sorularıma net yanıt veremedi.",
                    "Canlı destekte yarım saat bekledim, sonra bağlantı koptu.",
                    "Aynı sorunu her aramada baştan anlatmak zorunda kaldım.",
                ),
                (
                    "Kimse geri dönüş yapmadı.",
                    "Temsilci ilgisizdi.",
                    "Sorunum hâlâ çözülmedi.",
                ),
            ),
            "en": (
                (
                    "Support is hard to reach; I am always kept waiting.",
                    "Customer service did not solve my problem; I called three times.",
                    "Your support team could not answer my questions.",
                    "I waited half an hour on the chat and then it dropped.",
                    "I had to explain the same problem from scratch on every call.",
                ),
                (
                    "Nobody called me back.",
                    "The agent seemed uninterested.",
                    "My problem is still not solved.",
                ),
            ),
        },
        "meh": {
            "tr": (
                (
                    "Destek ekibi ilgili ama yanıtlar biraz yavaş.",
                    "Müşteri hizmetlerinde bekleme süresi kısalmalı.",
                    "Canlı destek akşamları da açık olsa iyi olur.",
                ),
                ("Sonunda sorunum çözüldü.", "Temsilciler nazikti."),
            ),
            "en": (
                (
                    "The support team is helpful but slow to answer.",
                    "The waiting time at customer service should be shorter.",
                    "Live chat should be open in the evenings too.",
                ),
                ("In the end my issue was solved.", "The agents were polite."),
            ),
        },
        "good": {
            "tr": (
                (
                    "Destek ekibi çok ilgili ve güler yüzlüydü.",
                    "Müşteri hizmetleri sorunumu ilk aramada çözdü.",
                    "Destek ekibinize teşekkürler, çok yardımcı oldular.",
                    "Canlı destekte hemen yanıt aldım.",
                ),
                ("Böyle hizmet az bulunur.", "Temsilci sonuna kadar ilgilendi."),
            ),
            "en": (
                (
                    "The support team was attentive and friendly.",
                    "Customer service solved my problem on the first call.",
                    "Thanks to your support team; they were very helpful.",
                    "I got an answer on the live chat straight away.",
                ),
                ("Service like this is rare.", "The agent stayed with it to the end."),
            ),
        },
    },
}


def story_comment(topic: str, tone: str, language: str, rng: random.Random) -> str:
    """One comment about `topic` in `tone`, in `language` (English if it has none)."""
    by_language = STORY_TEXTS[topic][tone]
    openings, follow_ups = by_language.get(language) or by_language["en"]
    text = rng.choice(openings)
    return f"{text} {rng.choice(follow_ups)}" if rng.random() < 0.6 else text


# What disappointed a checkout respondent (the CSAT template's choices), as a comment topic.
CHECKOUT_TOPICS = {"delivery": "delivery", "price": "price", "staff": "support"}


def checkout_comment(values: dict, language: str, rng: random.Random) -> str | None:
    """A checkout comment whose tone follows the CSAT answer (1–2 complain, 3 suggest, 4–5
    praise), about what disappointed them when they said, else delivery, price or support."""
    score = values.get("csat")
    if score is None:
        return None
    tone = "bad" if score <= 2 else "meh" if score == 3 else "good"
    named = [CHECKOUT_TOPICS[c] for c in values.get("disappointed") or () if c in CHECKOUT_TOPICS]
    topic = named[0] if named else rng.choice(("delivery", "delivery", "price", "support"))
    return story_comment(topic, tone, language, rng)
