"""Masking of phone numbers, e-mail addresses and URLs in message text."""

from __future__ import annotations

import pytest

from wareader_pipelines.nlp.pii import (
    PhoneRedactor,
    PiiMasker,
    mask_name_words,
    mask_urls,
    name_parts,
    name_words,
    phone_digits,
    phone_regions,
    redact,
    region_of_phone_digits,
)


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("Llámame al +34 612 34 56 78 mañana", "US", "Llámame al [PHONE] mañana"),
        ("office: (415) 555-0132, ask for Ann", "US", "office: [PHONE], ask for Ann"),
        ("Ruf an: 030 1234567 bis 18 Uhr", "DE", "Ruf an: [PHONE] bis 18 Uhr"),
        ("call +1 415-555-0132 or +49 30 1234567", "BR", "call [PHONE] or [PHONE]"),
        ("meu zap (11) 98765-4321", "BR", "meu zap [PHONE]"),
    ],
)
def test_redact_masks_phone_numbers_in_several_formats(
    text: str, region: str, expected: str
) -> None:
    assert redact(text, default_region=region) == expected


def test_redact_reads_national_numbers_in_the_given_region_only() -> None:
    # a Berlin number without country code is not a valid US number
    assert redact("030 1234567", default_region="US") == "030 1234567"
    assert redact("030 1234567", default_region="DE") == "[PHONE]"


def test_redact_leaves_numbers_that_are_not_phone_numbers() -> None:
    for text in ["order 20240115 shipped", "pin 1234567", "it costs 1.234.567 pesos", "at 10:30"]:
        assert redact(text) == text


def test_redact_masks_emails_and_urls() -> None:
    text = "write to ana.garcia+work@example.co.uk or see https://x.com/status/1234567890123 and www.tienda.es"
    assert redact(text) == "write to [EMAIL] or see [URL] and [URL]"


def test_redact_keeps_plain_text_identical() -> None:
    text = "Nos vemos mañana a las 5 😂"
    assert redact(text) == text


def test_phone_digits_gives_e164_digits_of_valid_numbers_only() -> None:
    assert phone_digits("+34 612 34 56 78") == "34612345678"
    assert phone_digits("(415) 555-0132") == "14155550132"
    assert phone_digits("030 1234567", "DE") == "49301234567"
    assert phone_digits("030 1234567", "US") is None
    assert phone_digits("Mom") is None
    assert phone_digits("+00 12") is None


def test_region_of_phone_digits() -> None:
    assert region_of_phone_digits("34612345678") == "ES"
    assert region_of_phone_digits("14155550132") == "US"
    assert region_of_phone_digits("user.abc") is None


def test_bare_international_numbers_written_like_whatsapp_ids_are_masked() -> None:
    # E.164 without "+": no default region reads these as valid, yet they are phone numbers.
    assert redact("me liga 5511987654321", default_region="US") == "me liga [PHONE]"
    assert redact("Nummer 4915112345678!", default_region="ES") == "Nummer [PHONE]!"
    # Long digit runs that are not a valid number anywhere stay as they are.
    assert redact("order 12345678901234", default_region="US") == "order 12345678901234"


def test_phone_redactor_masks_phones_and_known_senders_but_keeps_links_and_addresses() -> None:
    redactor = PhoneRedactor(default_region="ES", known_numbers=["34612345678", "12", ""])
    text = (
        "call +1 415-555-2671 or 612 34 56 78, id 34612345678, see https://x.example/1 or a@b.org"
    )
    assert redactor(text) == (
        "call [PHONE] or [PHONE], id [PHONE], see https://x.example/1 or a@b.org"
    )
    # A bare digit run that is not a known sender stays, unlike in `redact`.
    assert PhoneRedactor()("order 5511987654321") == "order 5511987654321"
    assert redact("sent from 5511987654321") == "sent from [PHONE]"


def test_masks_keep_brackets_punctuation_and_line_breaks() -> None:
    text = "Carlos Pereira (+55 11 91234-5678)\nou (11) 98765-4321."
    assert redact(text, default_region="BR") == "Carlos Pereira ([PHONE])\nou [PHONE]."
    masked = redact(text, default_region="BR", names={"Carlos Pereira"})
    assert masked == "[NAME] ([PHONE])\nou [PHONE]."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mi fijo es 912 345 678, llama", "mi fijo es [PHONE], llama"),  # Spain
        ("appelle le 06 12 34 56 78 !", "appelle le [PHONE] !"),  # France
        ("Tel. 089 1234567\nbis dann", "Tel. [PHONE]\nbis dann"),  # Germany
    ],
)
def test_national_numbers_of_every_region_the_languages_imply(text: str, expected: str) -> None:
    regions = phone_regions(["es", "fr", "de"], extra=["US"])
    assert {"ES", "MX", "AR", "FR", "BE", "CA", "DE", "AT", "CH", "US"} <= set(regions)
    assert redact(text, default_region="US") == text  # one default region misses them
    assert redact(text, default_region="US", regions=regions) == expected


def test_phone_regions_of_any_language_are_all_regions() -> None:
    assert len(phone_regions()) > 200
    assert "JP" not in phone_regions(["pt"]) and {"BR", "PT", "AO"} <= set(phone_regions(["pt"]))


def test_participant_names_are_masked_whole_and_by_part_case_insensitively() -> None:
    names = {"Ana Souza", "Bruno 🌸", "+34 612 34 56 78", "Al"}
    text = "@Ana tell bruno that Ana Souza's cat, Analía and Al are here"
    assert (
        redact(text, names=names) == "@[NAME] tell [NAME] that [NAME]'s cat, Analía and Al are here"
    )
    assert name_parts("Bruno 🌸") == {"Bruno"}
    assert name_parts("+34 612 34 56 78") == set()


def test_links_can_be_kept_with_the_personal_data_inside_them_masked() -> None:
    masker = PiiMasker(("BR",), "US")
    text = "https://wa.me/5511987654321 or mail ana@x.com"
    assert masker.mask(text, keep_urls=True) == "https://wa.me/[PHONE] or mail [EMAIL]"
    assert masker.mask(text) == "[URL] or mail [EMAIL]"
    assert mask_urls(masker.mask(text, keep_urls=True)) == "[URL] or mail [EMAIL]"


# Every region (a deployment that names no languages): validity alone would mask all of these.
EVERY_REGION = phone_regions()


@pytest.mark.parametrize(
    "text",
    [
        "Your order #4521987 has shipped and arrives Friday",
        "Pedido nº 123456789 confirmado, total 1.234,56 €",
        "Invoice INV-2024-004512 is due on 2024-06-30",
        "Ihre Bestellnummer 4711081512, Betrag 249,90 EUR",
        "Numéro de commande 20240513042, montant 1 234,50 €",
        "la fattura 9876543 del 12.05.2024 è pagata",
        "Protocolo de atendimento 2024051300123",
        "order 100234567 and order 100234568 were merged",
        "Rechnung Nr. 30012345 vom 13.05.2024",
        "tracking 1Z999AA10123456784, PO-4521987, ref 5511987654321",
        "Paid 12,345,678 pesos on 13/05/2024",
        "seu pedido 98765-4321 saiu para entrega",
    ],
)
def test_order_numbers_invoice_ids_amounts_and_dates_are_kept(text: str) -> None:
    """Issue 9 §4: business references are not phone numbers, read in every region."""
    assert redact(text, default_region="US", regions=EVERY_REGION) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Order #4521987: questions? call 0612345678",
            "Order #4521987: questions? call [PHONE]",
        ),
        ("pedido 123456789, mi móvil 612 34 56 78", "pedido 123456789, mi móvil [PHONE]"),
        (
            "Rechnung 30012345 — Rückfragen: +49 89 1234567",
            "Rechnung 30012345 — Rückfragen: [PHONE]",
        ),
        (
            "commande 20240513042\nappelle le 06 12 34 56 78",
            "commande 20240513042\nappelle le [PHONE]",
        ),
        ("my cell (415) 555-0134, order shipped", "my cell [PHONE], order shipped"),
        ("mi número es 912 345 678", "mi número es [PHONE]"),
        ("in case you need me: (415) 555-0134", "in case you need me: [PHONE]"),
        ("your order is late, text me at 0612345678", "your order is late, text me at [PHONE]"),
        ("me liga no (11) 92754-2435", "me liga no [PHONE]"),  # "no": Portuguese "at the"
        ("order from +55 11 91234-5678 arrived", "order from [PHONE] arrived"),
        # spaced groups are how phone numbers are written, even after a reference word
        ("order 612 34 56 78", "order [PHONE]"),
        ("Rechnung 089 1234567", "Rechnung [PHONE]"),
        # a bare international number, as WhatsApp ids are written, unless it is a reference
        ("order 1234 from 5511987654321", "order 1234 from [PHONE]"),
    ],
)
def test_real_phone_numbers_beside_business_references_are_still_masked(
    text: str, expected: str
) -> None:
    assert redact(text, default_region="US", regions=EVERY_REGION) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ANA y ana, Ana!", "[NAME] y [NAME], [NAME]!"),  # any case
        ("Anabel and Mariana", "Anabel and Mariana"),  # whole words only
        ("d'Souza-Lima says hi", "d'Souza-Lima says hi"),  # a compound word is one word
        ("souza: see [NAME] and [PHONE]", "[NAME]: see [NAME] and [PHONE]"),  # masks stay
        ("no names here at all", "no names here at all"),
        ("", ""),
    ],
)
def test_mask_name_words_masks_the_whole_words_of_known_names(text: str, expected: str) -> None:
    # "Name" and "Phone" are people here too: the masks already in a text are left alone.
    words = name_words(["Ana Souza", "Name Phone"])
    assert {"ana", "souza", "name", "phone"} <= words
    assert mask_name_words(text, words) == expected
