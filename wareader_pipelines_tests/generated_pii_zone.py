"""A generated landing zone of chat exports full of personal data, for the privacy scan.

Tests do not import `benchmarks/` (its generator measures throughput); this one is small
and written for one purpose: every message is in one of six languages and some (about one
in twenty, as in real chats rather than a stress test: each costs libphonenumber a pass per
region) carry what must never reach an analyst: phone numbers in their region's national and international
forms (each checked valid with libphonenumber), e-mail addresses, and the chat's own
participants addressed by name. It also writes order numbers and amounts, which must stay.
Deterministic for a seed.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import phonenumbers

# language -> (region, first names, surnames, sentences, how a name is addressed, phone lead)
LOCALES: dict[str, tuple[str, list[str], list[str], list[str], list[str], list[str]]] = {
    "en": (
        "US",
        ["Olivia", "Liam", "Emma", "Noah", "Harper", "Mason"],
        ["Walker", "Bennett", "Hughes", "Foster"],
        [
            "See you at the station tomorrow morning",
            "The meeting moved to Thursday afternoon",
            "Can you bring the charger when you come over",
            "I finished the report, sending it now",
        ],
        ["@{name} are you coming?", "tell {name} we are late", "thanks {name}!"],
        ["call me on", "my number is", "text me at"],
    ),
    "es": (
        "ES",
        ["Lucía", "Mateo", "Valentina", "Santiago", "Carmen", "Diego"],
        ["Navarro", "Romero", "Ortega", "Delgado"],
        [
            "Nos vemos mañana en la estación",
            "La reunión se movió al jueves por la tarde",
            "¿Puedes traer el cargador cuando vengas?",
            "Ya terminé el informe, te lo mando",
        ],
        ["@{name} ¿vienes?", "dile a {name} que llegamos tarde", "gracias {name}!"],
        ["llámame al", "mi número es el", "escríbeme al"],
    ),
    "pt": (
        "BR",
        ["Beatriz", "Rafael", "Larissa", "Thiago", "Camila", "Gustavo"],
        ["Cardoso", "Ribeiro", "Moreira", "Teixeira"],
        [
            "A gente se vê amanhã na rodoviária",
            "A reunião mudou para quinta à tarde",
            "Você pode trazer o carregador quando vier?",
            "Terminei o relatório, já te mando",
        ],
        ["@{name} você vem?", "avisa o {name} que vamos atrasar", "valeu {name}!"],
        ["me liga no", "meu número é", "chama no zap"],
    ),
    "de": (
        "DE",
        ["Lukas", "Hannah", "Felix", "Johanna", "Maximilian", "Greta"],
        ["Hoffmann", "Schäfer", "Zimmermann", "Krüger"],
        [
            "Wir sehen uns morgen früh am Bahnhof",
            "Das Treffen ist auf Donnerstag verschoben",
            "Kannst du das Ladegerät mitbringen?",
            "Der Bericht ist fertig, ich schicke ihn gleich",
        ],
        ["@{name} kommst du?", "sag {name} dass wir später kommen", "danke {name}!"],
        ["ruf mich an unter", "meine Nummer ist", "Handy:"],
    ),
    "fr": (
        "FR",
        ["Camille", "Louis", "Manon", "Hugo", "Chloé", "Théo"],
        ["Lefebvre", "Moreau", "Girard", "Fontaine"],
        [
            "On se retrouve demain matin à la gare",
            "La réunion est déplacée à jeudi après-midi",
            "Tu peux apporter le chargeur en venant ?",
            "J'ai fini le rapport, je te l'envoie",
        ],
        ["@{name} tu viens ?", "dis à {name} qu'on sera en retard", "merci {name} !"],
        ["appelle-moi au", "mon numéro c'est le", "tél :"],
    ),
    "it": (
        "IT",
        ["Giulia", "Lorenzo", "Chiara", "Matteo", "Francesca", "Davide"],
        ["Ferrari", "Esposito", "Colombo", "Ricci"],
        [
            "Ci vediamo domani mattina in stazione",
            "La riunione è spostata a giovedì pomeriggio",
            "Puoi portare il caricatore quando vieni?",
            "Ho finito la relazione, te la mando",
        ],
        ["@{name} vieni?", "di' a {name} che siamo in ritardo", "grazie {name}!"],
        ["chiamami al", "il mio numero è", "cellulare:"],
    ),
}
LANGUAGES = tuple(LOCALES)
# Order numbers, invoice ids and amounts: business text that is not personal data (§4).
REFERENCES = ["order #{n7}", "pedido nº {n9}", "Rechnung Nr. {n8}", "total 1.{n3},50 €"]


@dataclass
class GeneratedZone:
    """Where the zone is, its time span, and what was written into the text."""

    root: Path
    start: datetime
    end: datetime
    messages: int = 0
    features: Counter[str] = field(default_factory=Counter)
    participants: dict[str, set[str]] = field(default_factory=dict)  # chat title -> names


def _valid_phone(rng: random.Random, region: str) -> phonenumbers.PhoneNumber:
    """A random valid mobile (or fixed line) number of `region`."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = str(example.national_number)
    while True:
        digits = national[:2] + "".join(str(rng.randrange(10)) for _ in national[2:])
        number = phonenumbers.parse(digits, region)
        if phonenumbers.is_valid_number(number):
            return number


def _phone_text(rng: random.Random, region: str) -> str:
    number = _valid_phone(rng, region)
    style = rng.choice(
        [phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.INTERNATIONAL]
    )
    return phonenumbers.format_number(number, style)


def generate_zone(root: Path, *, messages: int, seed: int, chats: int = 200) -> GeneratedZone:
    """Write `chats` iOS-style exports holding `messages` messages in all under root/exports."""
    rng = random.Random(seed)
    start = datetime(2024, 3, 1, tzinfo=UTC)
    zone = GeneratedZone(root=root, start=start, end=start)
    exports = root / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    per_chat = messages // chats
    for chat in range(chats):
        language = LANGUAGES[chat % len(LANGUAGES)]
        region, firsts, lasts, sentences, addressing, leads = LOCALES[language]
        people = rng.sample(firsts, rng.randint(2, 4))
        people = [f"{p} {rng.choice(lasts)}" if rng.random() < 0.5 else p for p in people]
        title = f"{language}-{chat:03d}"
        zone.participants[title] = set(people)
        at = start + timedelta(minutes=rng.randrange(60 * 24 * 3))
        lines = []
        for _ in range(per_chat):
            at += timedelta(seconds=rng.randrange(30, 3 * 3600))
            sender = rng.choice(people)
            roll = rng.random()
            text = rng.choice(sentences)
            if roll < 0.01:
                text = f"{rng.choice(leads)} {_phone_text(rng, region)}"
                zone.features["phone"] += 1
            elif roll < 0.02:
                first = rng.choice(people).split()[0]
                text = f"{text}, {first.lower()}.{rng.choice(lasts).lower()}@example.com"
                zone.features["email"] += 1
            elif roll < 0.06:
                other = rng.choice([p for p in people if p != sender]).split()[0]
                text = rng.choice(addressing).format(name=other)
                zone.features["name"] += 1
            elif roll < 0.065:
                text = rng.choice(REFERENCES).format(
                    n3=rng.randrange(100, 999),
                    n7=rng.randrange(10**6, 10**7),
                    n8=rng.randrange(10**7, 10**8),
                    n9=rng.randrange(10**8, 10**9),
                )
                zone.features["reference"] += 1
            lines.append(f"[{at:%Y-%m-%d, %H:%M:%S}] {sender}: {text}")
        (exports / f"WhatsApp Chat - {title}.txt").write_text("\n".join(lines) + "\n")
        zone.messages += len(lines)
        zone.end = max(zone.end, at)
    zone.end = (zone.end + timedelta(days=1)).replace(hour=0, minute=0, second=0)
    return zone
