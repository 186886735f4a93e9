"""The small curated word lists the text pipeline ships with: stop words and a sentiment lexicon,
for Turkish and English.

Stop words are the function words (conjunctions, pronouns, particles, auxiliaries) that carry
no topic; they are dropped before stemming. Negations ("değil", "yok", "not", "never") are no
stop words: they stay in a comment's stems for the sentiment model, and only topics leave them
out (`TOPIC_EXCLUDED`).

The lexicon is the sentiment fallback while a language has too little labelled data for the
trained model (metrics.comments.sentiment): stems of clearly positive and clearly negative
words of customer and employee comments. A comment scores (positive − negative) / (positive +
negative) over its stems, 0 when it holds none; a negation in the comment flips the sign.
Entries are whole words, stemmed with the language's Snowball stemmer when loaded.
"""

STOP_WORDS: dict[str, frozenset[str]] = {
    "tr": frozenset(
        """
        acaba ama ancak artık aslında az bana bazı belki ben beni benim bir biraz birkaç birşey
        biz bize bizi bizim böyle bu buna bunda bundan bunu bunun burada çünkü da daha de defa
        diye dolayı en fakat falan gibi göre hani hem henüz hep hepsi her herhangi herkes için
        ile ise işte kadar kendi kendine ki kim kimse mi mı mu mü nasıl ne neden nerede neye
        niçin niye o olan olarak oldu olduğu olduğunu olmak olması olsa on ona ondan onlar
        onları onların onu onun orada öyle sadece sanki sen sende seni senin siz size sizi
        sizin şey şeyler şimdi şu şuna şunu tabii tüm ve veya ya yani zaten zira bile dahi
        hatta her şeyi diğer başka aynı bile ben de mı ki olur oluyor olacak oldum olmuş
        idi imiş ise iken gene yine yoksa çok
        """.split()
    ),
    "en": frozenset(
        """
        a about above after again all am an and any are as at be because been before being
        below between both but by can could did do does doing down during each few for from
        further had has have having he her here hers herself him himself his how i if in into
        is it its itself just me more most my myself of off on once only or other our ours
        ourselves out over own same she should so some such than that the their theirs them
        themselves then there these they this those through to too under until up us very was
        we were what when where which while who whom why will with would you your yours
        yourself yourselves also got get really much many one im ive its it's i'm i've
        """.split()
    ),
}

NEGATIONS: dict[str, frozenset[str]] = {
    "tr": frozenset({"değil", "yok", "hiç", "asla", "hiçbir"}),
    "en": frozenset({"not", "no", "never", "nothing", "dont", "didnt", "isnt", "wasnt", "cant"}),
}

# Stems topics leave out: negations and words that say only how much, not what about.
TOPIC_EXCLUDED: frozenset[str] = frozenset().union(*NEGATIONS.values()) | frozenset(
    {"çok", "gerçek", "cok"}
)

# Sentiment lexicon: whole words, stemmed when loaded (metrics.comments.text.lexicon).
POSITIVE: dict[str, frozenset[str]] = {
    "tr": frozenset(
        """
        güzel iyi harika mükemmel memnun memnunum teşekkürler sağolun hızlı kolay başarılı
        süper tavsiye beğendim sevdim mutlu keyifli rahat temiz kaliteli uygun ilgili nazik
        yardımsever çözüldü sorunsuz zamanında bayıldım muhteşem şahane olumlu güvenilir
        hızlıca özenli
        """.split()
    ),
    "en": frozenset(
        """
        good great excellent amazing love loved nice fast quick quickly easy happy helpful
        friendly perfect recommend thanks satisfied smooth best awesome wonderful pleased
        fantastic reliable clean fair kind polite efficient
        """.split()
    ),
}
NEGATIVE: dict[str, frozenset[str]] = {
    "tr": frozenset(
        """
        kötü berbat pahalı geç gecikti gecikme rezalet şikayet sorun problem yavaş bozuk
        hasarlı kırık eksik kayıp mağdur memnuniyetsiz kaba ilgisiz saçma fahiş zor yanlış
        bekledim beklettiler iptal kızgın maalesef üzgün yorucu ulaşamadım
        """.split()
    ),
    "en": frozenset(
        """
        bad terrible awful horrible poor slow late delay delayed expensive overpriced broken
        damaged missing lost rude unhelpful disappointed disappointing worst problem issue
        complaint wrong hard difficult annoying angry frustrating useless unacceptable waited
        """.split()
    ),
}
