"""The words a phone writes into a chat export instead of content, per language.

Private to `chat_export`: media placeholders, deleted and edited markers and
the encryption notices. WhatsApp translates them into the phone's language,
so each table lists the languages we have seen (en, es, de, pt, fr, it, nl,
tr). Keys are compared casefolded, after stripping direction marks, spaces
and a final period; adding a language is adding strings here.
"""

from __future__ import annotations

import re

DIRECTION_MARKS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
"""Invisible bidi controls that exports put at line starts, before markers and around numbers."""

# Android "without media" placeholders: the whole body is one of these.
_MEDIA_OMITTED_PHRASES: dict[str, str] = {
    "<Media omitted>": "media",
    "<Multimedia omitido>": "media",
    "<Multimedia omitida>": "media",
    "<Medien ausgeschlossen>": "media",
    "<Mídia oculta>": "media",
    "<Arquivo de mídia oculto>": "media",
    "<Multimédia omitido>": "media",
    "<Médias omis>": "media",
    "<Média omis>": "media",
    "<Media omessi>": "media",
    "<Media weggelaten>": "media",
    "<Medya dahil edilmedi>": "media",
    "<Sticker omitted>": "sticker",
    "<Image omitted>": "image",
    "<Video omitted>": "video",
    "<Audio omitted>": "audio",
    "<Document omitted>": "document",
    "<GIF omitted>": "video",
    "<Sticker omitido>": "sticker",
    "<Sticker weggelassen>": "sticker",
}
MEDIA_OMITTED = {key.casefold(): kind for key, kind in _MEDIA_OMITTED_PHRASES.items()}

# iOS "without media" placeholders: the (first line of the) body is one of these.
_IOS_OMITTED_PHRASES: dict[str, str] = {
    # en
    "image omitted": "image",
    "video omitted": "video",
    "audio omitted": "audio",
    "sticker omitted": "sticker",
    "GIF omitted": "video",
    "document omitted": "document",
    "Contact card omitted": "contacts",
    # es
    "imagen omitida": "image",
    "video omitido": "video",
    "audio omitido": "audio",
    "sticker omitido": "sticker",
    "GIF omitido": "video",
    "documento omitido": "document",
    "tarjeta de contacto omitida": "contacts",
    # de
    "Bild weggelassen": "image",
    "Video weggelassen": "video",
    "Audio weggelassen": "audio",
    "Sticker weggelassen": "sticker",
    "GIF weggelassen": "video",
    "Dokument weggelassen": "document",
    "Kontaktkarte ausgelassen": "contacts",
    # pt
    "imagem ocultada": "image",
    "vídeo omitido": "video",
    "vídeo ocultado": "video",
    "áudio ocultado": "audio",
    "áudio omitido": "audio",
    "figurinha omitida": "sticker",
    "GIF omitido.": "video",
    "documento ocultado": "document",
    "cartão de contato omitido": "contacts",
    # fr
    "image absente": "image",
    "vidéo absente": "video",
    "audio omis": "audio",
    "autocollant omis": "sticker",
    "GIF retiré": "video",
    "document omis": "document",
    "fiche contact omise": "contacts",
    # it
    "immagine omessa": "image",
    "video omesso": "video",
    "audio omesso": "audio",
    "sticker omesso": "sticker",
    "GIF omessa": "video",
    "documento omesso": "document",
    "scheda contatto omessa": "contacts",
    # nl
    "afbeelding weggelaten": "image",
    "video weggelaten": "video",
    "audio weggelaten": "audio",
    "sticker weggelaten": "sticker",
    "document weggelaten": "document",
}
IOS_OMITTED = {key.casefold(): kind for key, kind in _IOS_OMITTED_PHRASES.items()}
IOS_DOCUMENT_OMITTED = tuple(k for k, v in IOS_OMITTED.items() if v == "document")
"""iOS writes `Budget.pdf • 2 pages ‎document omitted`: these end such a line."""

# Android "with media": `IMG-20240513-WA0001.jpg (file attached)`, caption on the next lines.
FILE_ATTACHED = re.compile(
    r"^(?P<file>[^\n]+?\.[0-9A-Za-z]{1,6}) \((?:file attached|archivo adjunto|Datei angehängt"
    r"|arquivo anexado|ficheiro anexado|fichier joint|file allegato|bestand bijgevoegd"
    r"|dosya ekli|dosya eklendi)\)",
    re.IGNORECASE,
)

# iOS "with media": `<attached: 00000012-PHOTO-2024-05-13-10-15-02.jpg>` in any language.
ATTACHED = re.compile(
    r"^<(?:attached|Anhang|adjunto|anexado|anexo|pièce jointe|allegato|bijlage|ek|eki)"
    r"\s?:\s?(?P<file>[^<>\n]+?)>",
    re.IGNORECASE,
)

_DELETED_PHRASES = (
    "This message was deleted",
    "You deleted this message",
    "Se eliminó este mensaje",
    "Eliminaste este mensaje",
    "Este mensaje fue eliminado",
    "Diese Nachricht wurde gelöscht",
    "Du hast diese Nachricht gelöscht",
    "Esta mensagem foi apagada",
    "Mensagem apagada",
    "Você apagou esta mensagem",
    "Apagaste esta mensagem",
    "Ce message a été supprimé",
    "Vous avez supprimé ce message",
    "Questo messaggio è stato eliminato",
    "Hai eliminato questo messaggio",
    "Dit bericht is verwijderd",
    "Je hebt dit bericht verwijderd",
    "Bu mesaj silindi",
    "Bu mesajı sildiniz",
)

DELETED: frozenset[str] = frozenset(phrase.casefold() for phrase in _DELETED_PHRASES)


def _written_forms(phrase: str) -> set[str]:
    """The ways a phone writes a marker line: as is or capitalized, with or without a final
    period, with or without a leading direction mark."""
    bases = {phrase, phrase[:1].upper() + phrase[1:], phrase[:1].lower() + phrase[1:]}
    return {mark + base + end for base in bases for end in ("", ".") for mark in ("", "\u200e")}


EXACT: dict[str, str] = {
    form: kind
    for table in (
        {phrase: "deleted" for phrase in _DELETED_PHRASES},
        _IOS_OMITTED_PHRASES,
        _MEDIA_OMITTED_PHRASES,
    )
    for phrase, kind in table.items()
    for form in _written_forms(phrase)
}
"""Every marker line exactly as written → message type: one dict lookup per message."""

# Appended to an edited message's last line, after a space or a direction mark.
EDITED = re.compile(
    r"[ \u00a0\u200e\u200f]*<(?:This message was edited|Se editó este mensaje\.?"
    r"|Diese Nachricht wurde bearbeitet\.?|Mensagem editada|Esta mensagem foi editada\.?"
    r"|Ce message a été modifié\.?|Questo messaggio è stato modificato\.?"
    r"|Dit bericht is bewerkt\.?|Bu mesaj düzenlendi\.?)>$",
    re.IGNORECASE,
)

NOTICE_PREFIXES = (
    "Messages",
    "Los mensajes",
    "Nachrichten",
    "As mensagens",
    "Les messages",
    "I messaggi",
    "Berichten",
)
"""How every NOTICE starts: a cheap test before the regex."""

# Notices that are never a person's message, even when a name stands before them.
NOTICE = re.compile(
    r"^(?:Messages and calls are end-to-end encrypted"
    r"|Messages (?:you send )?to this (?:group|chat)(?: and calls)? are now secured"
    r"|Messages and calls are now secured"
    r"|Los mensajes y las llamadas están cifrados de extremo a extremo"
    r"|Los mensajes y las llamadas ahora están cifrados"
    r"|Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt"
    r"|As mensagens e (?:as )?(?:chamadas|ligações) (?:são|estão) protegidas com a criptografia"
    r"|Les messages et les appels sont chiffrés de bout en bout"
    r"|I messaggi e le chiamate sono crittografati end-to-end"
    r"|Berichten en gesprekken zijn end-to-end versleuteld)",
    re.IGNORECASE,
)

# Group events. Only applied to lines written under the group's own name (newer exports put
# `Group Name: Ana added Ben` where older ones wrote an author-less `Ana added Ben`).
GROUP_EVENT = re.compile(
    r"(?:created (?:the )?group|created this group|\badded\b|\bremoved\b|\bleft\b"
    r"|joined using this group's invite link|changed the subject|changed this group's icon"
    r"|changed the group (?:description|name)|changed their phone number|now an admin"
    r"|creó el grupo|\bañadió\b|\beliminó a\b|salió del grupo|se unió|cambió el asunto"
    r"|cambió el (?:í|i)cono|cambió la descripción|cambió su número"
    r"|hat die Gruppe|hinzugefügt|\bentfernt\b|verlassen|Einladungslink|hat den Betreff"
    r"|Gruppenbild|Gruppenbeschreibung|Telefonnummer geändert"
    r"|criou (?:o|este) grupo|\badicionou\b|\bremoveu\b|\bsaiu\b|entrou usando"
    r"|(?:mudou|alterou) (?:o nome|a imagem|a descrição|o assunto|seu número)"
    r"|a créé (?:le|ce) groupe|a ajouté|a retiré|est parti|a rejoint"
    r"|a (?:modifié|changé) (?:le sujet|l'icône|la description|le nom)|a changé de numéro"
    r"|ha creato (?:il|questo) gruppo|ha aggiunto|ha rimosso|è uscit[oa]|si è unit[oa]"
    r"|ha (?:cambiato|modificato) (?:l'oggetto|l'immagine|la descrizione|il suo numero))",
    re.IGNORECASE,
)
