"""What WhatsApp chats look like in each language the generator writes: phrases, names, markers.

Small built-in lists, written by hand for `generate_landing`: no corpus is downloaded. The
markers (media placeholders, deleted and edited notes, encryption notices, group events)
are the strings phones write into exports in that language, the same ones the export
parser knows (`wareader_pipelines/parsing/export_markers.py`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChatLocale:
    """One language's chat text and the export markers a phone set to it writes."""

    code: str  # ISO 639-1
    phrases: tuple[str, ...]  # one sentence each, chat register
    short_replies: tuple[str, ...]  # "ok", "jaja": messages that carry (almost) no language
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    group_titles: tuple[str, ...]
    country_code: str  # of the phone numbers of people writing this language
    mobile_prefix: str  # first national digits of a mobile number
    phone_groups: tuple[int, ...]  # national digits as written in text: "+34 612 34 56 78"
    title_prefix: str  # export file name: "<prefix> <chat title>.txt"
    media_omitted: str  # Android, exported without media
    ios_omitted: dict[str, str]  # iOS, exported without media: kind -> marker
    file_attached: str  # Android, exported with media: "<file> (<this>)"
    ios_attached: str  # iOS, exported with media: "<<this>: <file>>"
    deleted: str
    edited: str
    encryption_notice: str
    created_group: str  # "{a}" the author, "{t}" the title
    added: str  # "{a}" added "{b}"
    left: str
    changed_subject: str
    changed_icon: str
    pii_lead: str  # words before a phone number written in a message
    at_time: str  # "at {t}": a detail that makes otherwise repeated sentences distinct


LOCALES: dict[str, ChatLocale] = {
    "en": ChatLocale(
        code="en",
        phrases=(
            "Are we still on for dinner tonight?",
            "I'll be there in ten minutes",
            "Can you send me the address again?",
            "Running a bit late, sorry!",
            "Did you see the game last night?",
            "Happy birthday! Have a great day",
            "What time does the store open tomorrow?",
            "I just got home",
            "Let me check and get back to you",
            "That sounds like a great plan",
            "Don't forget to bring the charger",
            "The meeting was moved to Thursday morning",
            "Thanks so much for your help yesterday",
            "I'm at the supermarket, do we need anything?",
            "The kids loved the park today",
            "Can you pick up some bread on the way?",
            "My flight lands at half past six",
            "I'll call you after work",
            "We should book the tickets this week",
            "Traffic is terrible right now",
            "Who is coming to the party on Saturday?",
            "I think I forgot my keys at your place",
            "The package arrived this morning",
            "Good morning everyone",
            "Have a safe trip and text me when you arrive",
            "It's raining again, take an umbrella",
            "I can't find the photos from the trip",
            "Let's meet at the usual place",
            "Sorry I missed your call",
            "The weather is beautiful today",
        ),
        short_replies=("ok", "okay", "lol", "haha", "yes", "no", "thanks!", "sure", "omg", "k"),
        first_names=("Alice", "James", "Emily", "Michael", "Olivia", "Daniel", "Sophie", "Tom"),
        last_names=("Walker", "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Clark", "Hall"),
        group_titles=("Family", "Book Club", "Soccer Dads", "Roommates", "Road Trip 2024"),
        country_code="1",
        mobile_prefix="415555",
        phone_groups=(3, 3, 4),
        title_prefix="WhatsApp Chat with",
        media_omitted="<Media omitted>",
        ios_omitted={
            "image": "image omitted",
            "video": "video omitted",
            "audio": "audio omitted",
            "sticker": "sticker omitted",
        },
        file_attached="file attached",
        ios_attached="attached",
        deleted="This message was deleted",
        edited="<This message was edited>",
        encryption_notice=(
            "Messages and calls are end-to-end encrypted. No one outside of this chat, "
            "not even WhatsApp, can read or listen to them. Tap to learn more."
        ),
        created_group='{a} created group "{t}"',
        added="{a} added {b}",
        left="{a} left",
        changed_subject='{a} changed the subject to "{t}"',
        changed_icon="{a} changed this group's icon",
        pii_lead="you can reach me at",
        at_time="at {t}",
    ),
    "es": ChatLocale(
        code="es",
        phrases=(
            "¿Seguimos con la cena de esta noche?",
            "Llego en diez minutos",
            "¿Me puedes mandar la dirección otra vez?",
            "Voy un poco tarde, ¡perdón!",
            "¿Viste el partido anoche?",
            "¡Feliz cumpleaños! Que pases un gran día",
            "¿A qué hora abre la tienda mañana?",
            "Acabo de llegar a casa",
            "Déjame revisar y te digo",
            "Me parece un plan estupendo",
            "No te olvides de traer el cargador",
            "La reunión se cambió al jueves por la mañana",
            "Muchas gracias por tu ayuda de ayer",
            "Estoy en el súper, ¿necesitamos algo?",
            "A los niños les encantó el parque hoy",
            "¿Puedes comprar pan de camino?",
            "Mi vuelo aterriza a las seis y media",
            "Te llamo después del trabajo",
            "Deberíamos reservar las entradas esta semana",
            "Hay muchísimo tráfico ahora mismo",
            "¿Quién viene a la fiesta del sábado?",
            "Creo que me dejé las llaves en tu casa",
            "El paquete llegó esta mañana",
            "Buenos días a todos",
            "Buen viaje y escríbeme cuando llegues",
            "Está lloviendo otra vez, lleva paraguas",
            "No encuentro las fotos del viaje",
            "Nos vemos en el sitio de siempre",
            "Perdona, no vi tu llamada",
            "Hace un día precioso",
        ),
        short_replies=("ok", "vale", "jaja", "jajaja", "sí", "no", "gracias", "dale", "claro"),
        first_names=("María", "José", "Lucía", "Javier", "Carmen", "Pablo", "Sofía", "Andrés"),
        last_names=("García", "Martínez", "López", "Sánchez", "Pérez", "Gómez", "Ruiz", "Díaz"),
        group_titles=("Familia García", "Fútbol los martes", "Piso Lavapiés", "Boda Ana y Luis"),
        country_code="34",
        mobile_prefix="6",
        phone_groups=(3, 2, 2, 2),
        title_prefix="Chat de WhatsApp con",
        media_omitted="<Multimedia omitido>",
        ios_omitted={
            "image": "imagen omitida",
            "video": "video omitido",
            "audio": "audio omitido",
            "sticker": "sticker omitido",
        },
        file_attached="archivo adjunto",
        ios_attached="adjunto",
        deleted="Se eliminó este mensaje",
        edited="<Se editó este mensaje.>",
        encryption_notice=(
            "Los mensajes y las llamadas están cifrados de extremo a extremo. Nadie fuera de "
            "este chat, ni siquiera WhatsApp, puede leerlos ni escucharlos."
        ),
        created_group='{a} creó el grupo "{t}"',
        added="{a} añadió a {b}",
        left="{a} salió del grupo",
        changed_subject='{a} cambió el asunto a "{t}"',
        changed_icon="{a} cambió el ícono de este grupo",
        pii_lead="mi número es",
        at_time="a las {t}",
    ),
    "pt": ChatLocale(
        code="pt",
        phrases=(
            "Ainda vamos jantar hoje à noite?",
            "Chego em dez minutos",
            "Pode me mandar o endereço de novo?",
            "Estou um pouco atrasado, desculpa!",
            "Você viu o jogo ontem à noite?",
            "Feliz aniversário! Tenha um ótimo dia",
            "Que horas a loja abre amanhã?",
            "Acabei de chegar em casa",
            "Vou verificar e te aviso",
            "Parece um ótimo plano",
            "Não esquece de trazer o carregador",
            "A reunião foi remarcada para quinta de manhã",
            "Muito obrigado pela ajuda ontem",
            "Estou no mercado, precisamos de alguma coisa?",
            "As crianças adoraram o parque hoje",
            "Pode comprar pão no caminho?",
            "Meu voo chega às seis e meia",
            "Te ligo depois do trabalho",
            "Precisamos comprar os ingressos esta semana",
            "O trânsito está horrível agora",
            "Quem vem para a festa no sábado?",
            "Acho que esqueci minhas chaves na sua casa",
            "A encomenda chegou hoje de manhã",
            "Bom dia, pessoal",
            "Boa viagem e me avisa quando chegar",
            "Está chovendo de novo, leva o guarda-chuva",
            "Não encontro as fotos da viagem",
            "Vamos nos encontrar no lugar de sempre",
            "Desculpa, não vi sua ligação",
            "O dia está lindo hoje",
        ),
        short_replies=("ok", "kkkk", "kkkkkk", "sim", "não", "valeu", "obrigado", "blz", "rsrs"),
        first_names=("João", "Ana", "Pedro", "Beatriz", "Lucas", "Mariana", "Rafael", "Júlia"),
        last_names=("Silva", "Santos", "Oliveira", "Souza", "Costa", "Pereira", "Almeida", "Lima"),
        group_titles=("Família Silva", "Pelada de quinta", "Turma da faculdade", "Condomínio"),
        country_code="55",
        mobile_prefix="119",
        phone_groups=(2, 5, 4),
        title_prefix="Conversa do WhatsApp com",
        media_omitted="<Mídia oculta>",
        ios_omitted={
            "image": "imagem ocultada",
            "video": "vídeo omitido",
            "audio": "áudio ocultado",
            "sticker": "figurinha omitida",
        },
        file_attached="arquivo anexado",
        ios_attached="anexado",
        deleted="Mensagem apagada",
        edited="<Mensagem editada>",
        encryption_notice=(
            "As mensagens e as chamadas são protegidas com a criptografia de ponta a ponta e "
            "ficam somente entre você e os participantes desta conversa."
        ),
        created_group='{a} criou o grupo "{t}"',
        added="{a} adicionou {b}",
        left="{a} saiu",
        changed_subject='{a} mudou o assunto para "{t}"',
        changed_icon="{a} mudou a imagem deste grupo",
        pii_lead="meu contato é",
        at_time="às {t}",
    ),
    "de": ChatLocale(
        code="de",
        phrases=(
            "Bleibt es bei heute Abend zum Essen?",
            "Ich bin in zehn Minuten da",
            "Kannst du mir die Adresse nochmal schicken?",
            "Ich komme etwas später, sorry!",
            "Hast du gestern das Spiel gesehen?",
            "Alles Gute zum Geburtstag! Hab einen schönen Tag",
            "Wann macht der Laden morgen auf?",
            "Ich bin gerade nach Hause gekommen",
            "Ich schaue nach und melde mich",
            "Das klingt nach einem guten Plan",
            "Vergiss das Ladekabel nicht",
            "Das Treffen wurde auf Donnerstag früh verschoben",
            "Vielen Dank für deine Hilfe gestern",
            "Ich bin im Supermarkt, brauchen wir noch etwas?",
            "Die Kinder fanden den Park heute toll",
            "Kannst du unterwegs Brot mitbringen?",
            "Mein Flug landet um halb sieben",
            "Ich rufe dich nach der Arbeit an",
            "Wir sollten die Karten diese Woche buchen",
            "Der Verkehr ist gerade furchtbar",
            "Wer kommt am Samstag zur Party?",
            "Ich glaube, ich habe meine Schlüssel bei dir vergessen",
            "Das Paket ist heute Morgen angekommen",
            "Guten Morgen zusammen",
            "Gute Reise und schreib mir, wenn du angekommen bist",
            "Es regnet schon wieder, nimm einen Schirm mit",
            "Ich finde die Fotos vom Urlaub nicht",
            "Treffen wir uns am üblichen Ort",
            "Sorry, ich habe deinen Anruf verpasst",
            "Das Wetter ist heute herrlich",
        ),
        short_replies=("ok", "ja", "nein", "danke", "klar", "jo", "haha", "super", "passt"),
        first_names=("Lukas", "Anna", "Felix", "Lena", "Jonas", "Marie", "Paul", "Hannah"),
        last_names=("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner"),
        group_titles=("Familie Müller", "WG Kreuzberg", "Lauftreff", "Elternabend 3b"),
        country_code="49",
        mobile_prefix="151",
        phone_groups=(3, 8),
        title_prefix="WhatsApp Chat mit",
        media_omitted="<Medien ausgeschlossen>",
        ios_omitted={
            "image": "Bild weggelassen",
            "video": "Video weggelassen",
            "audio": "Audio weggelassen",
            "sticker": "Sticker weggelassen",
        },
        file_attached="Datei angehängt",
        ios_attached="Anhang",
        deleted="Diese Nachricht wurde gelöscht",
        edited="<Diese Nachricht wurde bearbeitet.>",
        encryption_notice=(
            "Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt. Niemand außerhalb "
            "dieses Chats kann sie lesen oder anhören, nicht einmal WhatsApp."
        ),
        created_group="{a} hat die Gruppe „{t}“ erstellt",
        added="{a} hat {b} hinzugefügt",
        left="{a} hat die Gruppe verlassen",
        changed_subject="{a} hat den Betreff zu „{t}“ geändert",
        changed_icon="{a} hat das Gruppenbild geändert",
        pii_lead="meine Nummer ist",
        at_time="um {t}",
    ),
    "fr": ChatLocale(
        code="fr",
        phrases=(
            "On dîne toujours ensemble ce soir ?",
            "J'arrive dans dix minutes",
            "Tu peux me renvoyer l'adresse ?",
            "Je suis un peu en retard, désolé !",
            "Tu as vu le match hier soir ?",
            "Joyeux anniversaire ! Passe une excellente journée",
            "À quelle heure ouvre le magasin demain ?",
            "Je viens de rentrer à la maison",
            "Je vérifie et je te redis",
            "Ça me paraît être un super plan",
            "N'oublie pas d'apporter le chargeur",
            "La réunion a été déplacée à jeudi matin",
            "Merci beaucoup pour ton aide hier",
            "Je suis au supermarché, il nous faut quelque chose ?",
            "Les enfants ont adoré le parc aujourd'hui",
            "Tu peux prendre du pain en passant ?",
            "Mon vol atterrit à six heures et demie",
            "Je t'appelle après le travail",
            "Il faudrait réserver les billets cette semaine",
            "La circulation est horrible en ce moment",
            "Qui vient à la soirée samedi ?",
            "Je crois que j'ai oublié mes clés chez toi",
            "Le colis est arrivé ce matin",
            "Bonjour à tous",
            "Bon voyage et écris-moi quand tu arrives",
            "Il pleut encore, prends un parapluie",
            "Je ne trouve pas les photos du voyage",
            "On se retrouve à l'endroit habituel",
            "Désolé, j'ai raté ton appel",
            "Il fait super beau aujourd'hui",
        ),
        short_replies=("ok", "oui", "non", "merci", "mdr", "ptdr", "d'accord", "top", "grave"),
        first_names=("Camille", "Louis", "Chloé", "Hugo", "Léa", "Antoine", "Manon", "Julien"),
        last_names=("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit"),
        group_titles=("Famille Martin", "Colocation Lyon", "Rando du dimanche", "Anniv de Léa"),
        country_code="33",
        mobile_prefix="6",
        phone_groups=(1, 2, 2, 2, 2),
        title_prefix="Discussion WhatsApp avec",
        media_omitted="<Médias omis>",
        ios_omitted={
            "image": "image absente",
            "video": "vidéo absente",
            "audio": "audio omis",
            "sticker": "autocollant omis",
        },
        file_attached="fichier joint",
        ios_attached="pièce jointe",
        deleted="Ce message a été supprimé",
        edited="<Ce message a été modifié.>",
        encryption_notice=(
            "Les messages et les appels sont chiffrés de bout en bout. Aucun tiers, pas même "
            "WhatsApp, ne peut les lire ou les écouter."
        ),
        created_group="{a} a créé le groupe « {t} »",
        added="{a} a ajouté {b}",
        left="{a} est parti",
        changed_subject="{a} a modifié le sujet en « {t} »",
        changed_icon="{a} a changé l'icône de ce groupe",
        pii_lead="mon numéro c'est",
        at_time="à {t}",
    ),
    "it": ChatLocale(
        code="it",
        phrases=(
            "Confermata la cena di stasera?",
            "Arrivo tra dieci minuti",
            "Mi rimandi l'indirizzo?",
            "Sono un po' in ritardo, scusa!",
            "Hai visto la partita ieri sera?",
            "Buon compleanno! Passa una splendida giornata",
            "A che ora apre il negozio domani?",
            "Sono appena tornato a casa",
            "Controllo e ti faccio sapere",
            "Mi sembra un ottimo piano",
            "Non dimenticare di portare il caricatore",
            "La riunione è stata spostata a giovedì mattina",
            "Grazie mille per l'aiuto di ieri",
            "Sono al supermercato, serve qualcosa?",
            "Ai bambini è piaciuto tantissimo il parco oggi",
            "Puoi prendere il pane mentre torni?",
            "Il mio volo atterra alle sei e mezza",
            "Ti chiamo dopo il lavoro",
            "Dovremmo prenotare i biglietti questa settimana",
            "C'è un traffico terribile adesso",
            "Chi viene alla festa sabato?",
            "Credo di aver dimenticato le chiavi da te",
            "Il pacco è arrivato stamattina",
            "Buongiorno a tutti",
            "Buon viaggio e scrivimi quando arrivi",
            "Piove di nuovo, prendi l'ombrello",
            "Non trovo le foto del viaggio",
            "Ci vediamo al solito posto",
            "Scusa, non ho visto la tua chiamata",
            "Oggi è una giornata bellissima",
        ),
        short_replies=("ok", "sì", "no", "grazie", "ahah", "va bene", "certo", "dai", "perfetto"),
        first_names=("Giulia", "Marco", "Chiara", "Luca", "Francesca", "Matteo", "Sara", "Davide"),
        last_names=("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo"),
        group_titles=("Famiglia Rossi", "Calcetto giovedì", "Vacanze in Puglia", "Ufficio"),
        country_code="39",
        mobile_prefix="3",
        phone_groups=(3, 3, 4),
        title_prefix="Chat WhatsApp con",
        media_omitted="<Media omessi>",
        ios_omitted={
            "image": "immagine omessa",
            "video": "video omesso",
            "audio": "audio omesso",
            "sticker": "sticker omesso",
        },
        file_attached="file allegato",
        ios_attached="allegato",
        deleted="Questo messaggio è stato eliminato",
        edited="<Questo messaggio è stato modificato.>",
        encryption_notice=(
            "I messaggi e le chiamate sono crittografati end-to-end. Nessuno al di fuori di "
            "questa chat, nemmeno WhatsApp, può leggerli o ascoltarli."
        ),
        created_group='{a} ha creato il gruppo "{t}"',
        added="{a} ha aggiunto {b}",
        left="{a} è uscito",
        changed_subject='{a} ha cambiato l\'oggetto in "{t}"',
        changed_icon="{a} ha cambiato l'immagine di questo gruppo",
        pii_lead="il mio numero è",
        at_time="alle {t}",
    ),
}

LANGUAGES: tuple[str, ...] = tuple(LOCALES)

# Emoji as people send them: plain, with skin tones, ZWJ sequences, flags, keycaps.
EMOJI_PLAIN = ("😂", "❤️", "👍", "🙏", "😊", "🎉", "😍", "🔥", "😅", "🤣", "😭", "🥰", "✅", "☀️")
EMOJI_SKIN_TONE = ("👍🏽", "🙏🏿", "👋🏼", "💪🏾", "👌🏻", "🤞🏽")
EMOJI_ZWJ = ("👨‍👩‍👧‍👦", "👩🏽‍💻", "🏳️‍🌈", "🤦‍♂️", "👩‍❤️‍👨", "🧑🏻‍🍳")
EMOJI_FLAGS = ("🇪🇸", "🇧🇷", "🇩🇪", "🇫🇷", "🇮🇹", "🇺🇸")
EMOJI_ALL = EMOJI_PLAIN * 4 + EMOJI_SKIN_TONE + EMOJI_ZWJ + EMOJI_FLAGS

EMAIL_DOMAINS = ("example.com", "example.org", "mail.example.net")
URLS = (
    "https://maps.app.goo.gl/{token}",
    "https://example.com/orders/{number}",
    "www.example.org/events/{number}",
    "https://youtu.be/{token}",
)
