"""The comments demo respondents write, by question key and language."""

import random

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


def comment(texts: str, key: str, language: str, rng: random.Random) -> str | None:
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
