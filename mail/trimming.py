"""Strip quoted text, attributions and signatures from an email reply.

Every line gets a one-letter kind, which turns the message into a short
"shape" such as ``tteebqqqq`` (text, text, empty, empty, attribution, quotes);
the trimming rules are regular expressions over that shape.  The approach and
the language lists follow Discourse's ``email_reply_trimmer`` (MIT), whose
test corpus this module is checked against; the code is our own.

Public API: ``trim_reply``, ``elide_reply``, ``explain_trim`` (which rule cut where) and
``extract_embedded_email``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Cut", "trim_reply", "elide_reply", "explain_trim", "extract_embedded_email"]

# Line kinds, one letter each so that a message's shape is a plain string.
EMPTY, DELIMITER, SIGNATURE, EMBEDDED, HEADER, QUOTE, TEXT = "edsbhqt"

# POSIX [[:blank:]] (tab and the Unicode space separators, not newlines).
_B_CHARS = r" \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
_B = f"[{_B_CHARS}]"
_ALPHA = r"[^\W\d_]"

_ML = re.MULTILINE
_I = re.IGNORECASE


def _rx(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """Compile ``pattern`` line-anchored; ``[BLANK…]``/``BLANK`` stand for POSIX blanks."""
    pattern = pattern.replace("[BLANK", "[" + _B_CHARS).replace("BLANK", _B)
    return re.compile(pattern, flags | _ML)


# --- Attribution lines ("On <date>, <someone> wrote:") -----------------------

def _on_date_someone_wrote(on: str, wrote: str, stop: str | None = None) -> re.Pattern[str]:
    """``<on> … <wrote>`` on one (possibly wrapped) line, not crossing another marker."""
    stop = stop or f"{on}|{wrote}"
    # The length bound keeps this linear on hostile input ("At x" on every line);
    # real attributions, even wrapped over five lines, are far shorter.
    return _rx(
        rf"^[BLANK<>-]*(?:{on}) (?:(?!\b(?-i:{stop})\b).){{1,500}}?(?:{wrote})[BLANK.:>-]*$",
        _I | re.DOTALL,
    )


ON_DATE_SOMEONE_WROTE = [
    _on_date_someone_wrote("在", "写道"),  # Chinese
    _on_date_someone_wrote("Op", r"het\svolgende\sgeschreven|schreef[^:]+",
                           r"Op|het\svolgende\sgeschreven|schreef"),  # Dutch
    _on_date_someone_wrote("In message", "writes"),  # English
    # "At" is no stop word: "On Wed, at 3 PM, X wrote:" is one attribution.
    _on_date_someone_wrote("On|At", "wrote|writes|says|said|sent", "On|wrote|writes|says|said|sent"),
    _on_date_someone_wrote("Le", r"nous\sa\sdit|a\s+écrit"),  # French
    _on_date_someone_wrote("Am", r"schrieben\sSie"),  # German
    _on_date_someone_wrote("Am", r"geschrieben|schrieb[^:]+", "Am|geschrieben"),
    _on_date_someone_wrote("Il|In data", r"ha\sscritto", "Il|ha\sscritto"),  # Italian
    _on_date_someone_wrote("Dnia|Dňa", r"napisał(?:\(a\))?", "Dnia|Dňa|napisał"),  # Polish
    _on_date_someone_wrote("Em", "escreveu"),  # Portuguese
    _on_date_someone_wrote("El", "escribió"),  # Spanish
    # Danish, Norwegian and Swedish: "Den 14. sep. 2015 kl. 02.23 skrev Valentino Rudy <v@x.dk>:"
    # (that form is ON_DATE_WROTE_SOMEONE's) and "Den 14 september, 2015, Valentino Rudy skrev:".
    # The colon is required: "Den dag skrev jeg til kommunen." is a sentence.
    _on_date_someone_wrote("Den|På", r"skrev\s*:", "skrev"),
    _on_date_someone_wrote("Den|På", r"skrev[^:\n]+(?:\n[^:\n]+)?:", "skrev"),
    _on_date_someone_wrote("Vào", r"đã\sviết"),  # Vietnamese
]

# "Am 18.09.2013 um 16:24 schrieb Jeff <info@example.com>:" and friends.
ON_DATE_WROTE_SOMEONE = [
    _rx(rf"^[BLANK>]*{on}\s.+\s{wrote}\s[^:]+:")
    for on, wrote in [("Op", "schreef"), ("Am", "schrieb"), ("Den", "skrev"), (r"søn\.", "skrev")]
]

# "суббота, 14 марта 2015 г. пользователь etewiah написал:" and friends.
class _Needled:
    """A pattern tried only where its literal needle occurs.

    ``\d{4}.{1,80}\n?.{0,80}?word`` backtracks heavily on every number in a
    long text; the needle check keeps ordinary mail fast.
    """

    def __init__(self, needle: str, pattern: str):
        self.needle = needle
        self.rx = _rx(pattern)

    def search(self, text: str) -> re.Match[str] | None:
        return self.rx.search(text) if self.needle in text else None

    def sub(self, repl: Callable[[re.Match[str]], str], text: str) -> str:
        return self.rx.sub(repl, text) if self.needle in text else text


DATE_SOMEONE_WROTE = [
    _Needled("написал:", r"\d{4}.{1,80}пользователь.{0,80}\n?.{0,80}?написал:"),  # Russian
    _Needled("napisał(a):", r"\d{4}.{1,80}\n?.{0,80}?napisał\(a\):"),  # Polish
    _Needled("пише:", r"\d{4}.{1,80}\n?.{0,80}?пише:"),  # Ukrainian
    _Needled("kirjoitti:", r"\d{4}.{1,80}\n?.{0,80}?kirjoitti:"),  # Finnish
    # Chinese clients: "2026年2月29日 周六 19:47 雨州 <y@example.com> 写道：", "雨州 <…> 于2026年2月29日 19:47写道："
    _Needled("写道", r"^[^\n]{0,120}\d{4}\s*年[^\n]{0,120}写道\s*[：:]\s*$"),
]

# "Max Mustermann <max@example.com> schrieb am Fr., 28. Apr. 2017 um 11:53 Uhr:"
SOMEONE_WROTE_ON_DATE = [
    _rx(r"^.+\bwrote\b\s+\bon\b.+[^:]+:"),
    _rx(r"^.+\bschrieb\b\s+\bam\b.+[^:]+:"),
]

# "2016-03-03 17:21 GMT+01:00 Some One"
ISO_DATE_SOMEONE = _rx(r"^[BLANK>]*20\d\d-\d\d-\d\d \d\d:\d\d GMT\+\d\d:\d\d [BLANK\w]+$")

# "2015-10-18 0:17 GMT+03:00 Matt <info@example.com>:", "вт, 5 янв. 2016 г. в 23:39, Erlend <e@x.org>:"
DATE_SOMEONE_EMAIL = _rx(r"\d{4}.{1,80}\s?<[^@<>]{1,100}@[^@<>.]{1,100}\.[^@<>]{1,100}>:?$")

# "codinghorror via Discourse Meta wrote:"
SOMEONE_VIA_SOMETHING_WROTE = _rx(r"^.+ via .+ (?:wrote|schrieb):?BLANK*$")

# "Some One <someone@example.com> wrote:"
SOMEONE_EMAIL_WROTE = _rx(r"^.+\b[\w.+-]+@[\w.-]+\.\w{2,}\b.+wrote:?$")

# Horde and other webmails: "Quoting Quorum <reply+k7f3@quorum.example>:", "Zitat von …:".
SOMEONE_QUOTING = _rx(r"^[BLANK>]*(?:Quoting|Zitat von|Citando a?|Citation de|Cita de|Citaat van|Citerer) "
                      r"[^\n]{0,100}<?[\w.+-]+@[\w.-]+>?:BLANK*$", _I)
# Tutanota: "9. Jan. 2024, 10:02 von reply+k7f3@quorum.example:", "Jan 9, 2024, 10:02 by a@b.org:".
DATE_BY_ADDRESS = _rx(r"^[BLANK>]*[^\n]{0,40}\b\d{4},?BLANK\d{1,2}:\d{2}(?::\d{2})?,?BLANK"
                      r"(?:von|by|from|de|van|da|od|av|fra)BLANK[\w.+-]+@[\w.-]+:BLANK*$", _I)

# Android's stock client: "---- John Smith wrote ----"
SOMEONE_WROTE_IN_DASHES = _rx(r"^[BLANK>]*-{2,}BLANK*.{1,100}? (?:wrote|schrieb|a écrit|escribió|escreveu|schreef|skrev)BLANK*-{2,}BLANK*$", _I)

# "Posted by mpalmer on 01/21/2016"
POSTED_BY_SOMEONE_ON_DATE = _rx(r"^[BLANK>]*Posted by .+ on \d{2}/\d{2}/\d{4}$", _I)

# "-----Original Message-----", "Begin forwarded message:", localised.
# The words mail clients put between dashes above a forwarded or quoted mail, in the languages
# the trimmer reads: "-----Original Message-----", "-------- Message d'origine --------".
_FORWARD_WORDS = [
    r"(?:Forwarded|Original|Reply) Message", "Message transféré", "Message d'origine", "Message original",
    "Ursprüngliche Nachricht", "Originalnachricht", "Weitergeleitete Nachricht", "Antwort Nachricht",
    "Mensaje original", "Mensaje reenviado", "Mensagem original", "Mensagem encaminhada",
    "Oorspronkelijk bericht", "Origineel bericht", "Doorgestuurd bericht",
    "Oprindelig meddelelse", "Oprindelig besked", "Videresendt meddelelse", "Videresendt besked", "Opprinnelig melding",
    "Videresendt melding", "Ursprungligt meddelande", "Vidarebefordrat meddelande",
    "Messaggio originale", "Messaggio inoltrato", "Oryginalna wiadomość", "Wiadomość przekazana",
    "Alkuperäinen viesti", "Исходное сообщение", "Пересылаемое сообщение", "Пересланное сообщение",
    "原始邮件", "转发邮件",
]
FORWARDED_MARKERS = [
    _rx(r"^[BLANK>]*Begin forwarded message:", _I),
    _rx(r"^[BLANK>]*Début du message (?:transféré|réexpédié) :", _I),
    _rx(r"^[BLANK>]*(?:Inicio del mensaje reenviado|Início da mensagem reencaminhada"
        r"|Anfang der weitergeleiteten Nachricht|Begin doorgestuurd bericht"
        r"|Start på videresendt besked|Början på vidarebefordrat meddelande):", _I),
    _rx(rf"^[BLANK>*]*-{{2,}}BLANK*(?:{'|'.join(_FORWARD_WORDS)})BLANK*-{{2,}}", _I),
]

EMBEDDED_MARKERS = [
    *ON_DATE_SOMEONE_WROTE,
    *ON_DATE_WROTE_SOMEONE,
    *DATE_SOMEONE_WROTE,
    DATE_SOMEONE_EMAIL,
    *SOMEONE_WROTE_ON_DATE,
    ISO_DATE_SOMEONE,
    SOMEONE_VIA_SOMETHING_WROTE,
    SOMEONE_EMAIL_WROTE,
    POSTED_BY_SOMEONE_ON_DATE,
    SOMEONE_WROTE_IN_DASHES,
    SOMEONE_QUOTING,
    DATE_BY_ADDRESS,
    *FORWARDED_MARKERS,
]

# Markers that mail clients wrap over several lines; we unwrap them first.
WRAPPING_MARKERS = [*ON_DATE_SOMEONE_WROTE, *SOMEONE_WROTE_ON_DATE, *DATE_SOMEONE_WROTE, DATE_SOMEONE_EMAIL]

# --- Embedded header blocks ("From: … Sent: … To: … Subject: …") ------------

_DATE_HEADERS = ["Sendt", "Sent", "Date", "Le", "Gesendet", "Enviada em", "Enviado", "Fecha",
                 "Data", "Datum", "Skickat", "发送时间", "Envoyé", "Verzonden", "Verstuurd", "Inviato",
                 "Wysłano", "Отправлено", "Дата", "Lähetetty", "Päivämäärä"]
_TEXT_HEADERS = [
    ["Fra", "Til", "Emne"],  # Norwegian
    ["From", "To", "Cc", "Reply-To", "Subject"],  # English
    ["De", "Expéditeur", "À", "Destinataire", "Répondre à", "Objet"],  # French
    ["Von", "An", "Betreff"],  # German
    ["De", "Para", "Assunto"],  # Portuguese
    ["De", "Para", "Asunto"],  # Spanish
    ["Da", "Risposta", "A", "Oggetto"],  # Italian
    ["Van", "Beantwoorden - Aan", "Aan", "Onderwerp"],  # Dutch
    ["Från", "Till", "Ämne"],  # Swedish
    ["发件人", "收件人", "主题"],  # Chinese
    ["От", "Кому", "Копия", "Тема"],  # Russian
    ["Od", "Do", "Temat", "DW"],  # Polish
    ["Lähettäjä", "Vastaanottaja", "Aihe"],  # Finnish
]
HEADER_LINES = [
    # Date headers are case-sensitive and need a digit: "Sent: Monday, 3 May 2021 10:00".
    _rx(rf"^[BLANK*]*(?:{'|'.join(_DATE_HEADERS)})[BLANK*]*:.*\d+"),
    _rx(rf"^[BLANK*]*(?:{'|'.join(h for group in _TEXT_HEADERS for h in group)})[BLANK*]*:.*\w+", _I),
]

# --- Signatures and delimiters ---------------------------------------------

# The sign-offs mail apps add, in the languages the trimmer reads (en, de, fr, es, nl, pt, it,
# the Nordic ones, zh): "Sent from my iPhone", the Samsung and Android forms, Outlook for iOS and
# Android ("Get Outlook for iOS"), Yahoo Mail. Each is anchored at the start of its line, and a
# line counts only when nothing the sender wrote follows it (`_keep_signoffs_in_text`), so a
# sentence that merely starts or contains "sent from" stays.
# Apps and devices that sign mail ("Sent with Airmail", "Sent from Mailbox for iPad").
_MAIL_APPS = (
    r"(?:i?Phone|iPad|iPod|Android|mobile|cell|tablet|device|Mail|Mailbox|Yahoo|Outlook|Windows|Gmail|AOL"
    r"|Samsung|Galaxy|BlackBerry|Huawei|Xiaomi|Nokia|HTC|Motorola|Pixel|OnePlus|Xperia|Verizon|Proton\s?Mail"
    r"|Tutanota|Spark|Airmail|Newton|Edison|Blue\s?Mail|K-9|Fastmail|Superhuman|HEY|Hotmail|Zoho|iCloud"
    r"|Yandex|Mail\.ru|Tapatalk|Canary|Polymail|Boxer|Mailspring|Thunderbird|Apple|Kindle|Surface|GMX|Web\.de"
    r"|T-Online|Telekom|Libero|Naver|Daum|QQ|163|Foxmail|FairEmail|Aqua\s?Mail)"
)

SIGNATURES = [
    _rx(p, _I) for p in [
        r"^BLANK*從我的 iPhone 傳送",
        r"^BLANK*\w+ from mobile",
        # "Sent from my iPhone", "Sent from Yahoo Mail on Android", "Sent with Airmail", "(sent from a phone)";
        # not "Sent from the office on Monday, …" (a sentence).
        # Only with "my"/"a" or the name of an app or device: "Sent from Berlin on Monday" is the sender's.
        r"^BLANK*[(<]*Sent (?:from|via|with|by|using) (?:my|a|an|" + _MAIL_APPS + r")\b.*",
        # …or an app we do not know by name, alone on the line: "Sent from TypeApp<http://…>".
        r"^BLANK*Sent (?:from|via|with|using) (?-i:[A-Z])[\w.+-]*(?: (?-i:[A-Z0-9])[\w.+-]*){0,3}BLANK*"
        r"(?:<[^<>\s]*>|\([^()\s]*\))?BLANK*\.?BLANK*$",
        # Upstream has "From my .{1,20}", which also eats "From my point of view…".
        r"^BLANK*From my (?:[\w-]+ ){0,2}(?:i?phone|ipad|ipod|android|mobile|cell|tablet|device"
        r"|blackberry|galaxy|pixel|samsung)\b",
        r"^BLANK*Get Outlook for ",
        # French: "Envoyé de mon iPhone", "Envoyé depuis mon appareil Galaxy", "Obtenir Outlook pour iOS".
        r"^BLANK*Envoyé (?:de|depuis|à partir de) (?:mon|ma|Yahoo|Outlook|Mail)\b",
        r"^BLANK*(?:Obten(?:ir|ez)|Télécharger|Telecharger) Outlook pour ",
        # German: "Von meinem iPhone gesendet", "Gesendet von meinem Samsung Galaxy", "Outlook für iOS beziehen".
        r"^BLANK*Von meinem .+ gesendet",
        r"^BLANK*Gesendet (?:von|mit|vom) (?:meinem|meiner|Yahoo|Outlook|Mail|iPhone|iPad)\b",
        r"^BLANK*Diese Nachricht wurde von .+ gesendet",
        r"^BLANK*(?:Outlook für (?:iOS|Android) beziehen|Holen Sie sich Outlook für )",
        r"^BLANK*Inviato da ",
        # Danish and Norwegian: "Sendt fra min iPhone", "Sendt fra Mail til Windows", "Hent Outlook til iOS".
        r"^BLANK*Sendt fra (?:min|mi|Mail|Outlook|Yahoo)\b",
        r"^BLANK*(?:Hent|Få) Outlook (?:til|for) ",
        # Portuguese: "Enviado do meu iPhone", "Enviado do meu smartphone Samsung Galaxy", "Obter o Outlook para iOS".
        r"^BLANK*Enviado (?:do|pelo|a partir do) (?:meu|minha|Yahoo|Outlook|Email|E-mail)\b",
        r"^BLANK*(?:Obter|Obtenha|Baixe|Baixar) o Outlook para ",
        # Spanish: "Enviado desde mi iPhone", "Enviado desde mi smartphone Samsung Galaxy", "Obtener Outlook para iOS".
        r"^BLANK*Enviado desde (?:mi|Yahoo|Outlook|Correo)\b",
        r"^BLANK*(?:Obtener|Obtén|Descarga|Descargar) Outlook para ",
        # Dutch: "Verzonden vanaf mijn iPhone", "Verstuurd vanaf mijn Samsung", "Outlook voor iOS downloaden".
        r"^BLANK*Verzonden met ",
        r"^BLANK*(?:Verzonden|Verstuurd) (?:vanaf|van|via) (?:mijn|Yahoo|Outlook)\b",
        r"^BLANK*(?:Outlook voor (?:iOS|Android) downloaden|Download Outlook voor )",
        r"^BLANK*från min ",
    ]
]
_MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")

# A line made only of these is a delimiter ("-- ", "____", "***"); all after it goes.
DELIMITER_LINE = _rx(r"^BLANK*[-_,=+~#*ᐧ—]+BLANK*$")
# "## Please type your reply above this line ##" in the mail we sent: the reply ends there.
REPLY_ABOVE_MARKER = _rx(
    r"^[BLANK>#*-]*(?:.{0,40}\breply above this line|.{0,40}\bAntwort oberhalb dieser Zeile"
    r"|.{0,40}\bau-dessus de cette ligne|.{0,40}\bencima de esta línea)",
    _I,
)
EMPTY_LINE = _rx(r"^BLANK*$")
QUOTE_LINE = _rx(r"^BLANK*>")


# A phone's sign-off is a few words ("Sent from my HTC M8 Android phone.  Please excuse typoze" is ten);
# a longer line is a sentence of the sender's ("Sent from my phone on the train, so briefly: yes").
_SIGNATURE_MAX_WORDS = 12
# Apps write their sign-off capitalised; "sent from my laptop yesterday." starting a line is the
# tail of a sentence the client wrapped.
_LOWER_START = re.compile(rf"^{_B}*[^\W\d_]", re.UNICODE)


def _starts_lower(line: str) -> bool:
    """Whether the line's first letter is a lower-case one (the line goes on a sentence)."""
    m = _LOWER_START.match(line)
    return bool(m) and m.group(0)[-1].islower()


# "Sent from my desk, is much easier than my mobile phone." goes on after its comma as a
# sentence; "Sent from my cell, please excuse any typos." and "Sent from my Verizon, Samsung
# Galaxy smartphone" are sign-offs all the same.
_APOLOGY = re.compile(r"\b(?:excuse|sorry|pardon|apolog\w*|typos?|brevity|brief|short|autocorrect)\b", re.IGNORECASE)
_DEVICE = re.compile(r"\b(?:smart\s?phone|phone|device|tablet|mobile)\b|" + _MAIL_APPS, re.IGNORECASE)


def _signs_off(rest: str) -> bool:
    """What follows a sign-off's comma: an apology, or a few words naming the device."""
    return bool(_APOLOGY.search(rest)) or (len(rest.split()) <= 4 and bool(_DEVICE.search(rest)))


def _is_signature(line: str) -> bool:
    # Match "Sent from [Outlook](https://…)" as well as the plain text form.
    plain = _MARKDOWN_LINK.sub(r"\1", line)
    if len(plain.split()) > _SIGNATURE_MAX_WORDS or _starts_lower(plain):
        return False
    if not any(rx.search(plain) for rx in SIGNATURES):
        return False
    _, comma, rest = plain.partition(", ")
    return not (comma and len(rest.split()) >= 3 and not _signs_off(rest))


def line_kind(line: str) -> str:
    """Return the one-letter kind of a single line (see the constants above)."""
    if EMPTY_LINE.search(line):
        return EMPTY
    if DELIMITER_LINE.search(line) or REPLY_ABOVE_MARKER.search(line):
        return DELIMITER
    if _is_signature(line):
        return SIGNATURE
    if any(rx.search(line) for rx in EMBEDDED_MARKERS):
        return EMBEDDED
    if any(rx.search(line) for rx in HEADER_LINES):
        return HEADER
    if QUOTE_LINE.search(line):
        return QUOTE
    return TEXT


# --- Preprocessing ------------------------------------------------------------

_PGP_HEADER = re.compile(r"\A-----BEGIN PGP SIGNED MESSAGE-----\n(?:Hash: \w+)?\s+", _I)
_PGP_SIGNATURE = re.compile(r"^-----BEGIN PGP SIGNATURE-----$[\s\S]+^-----END PGP SIGNATURE-----", _ML)
_UNSUBSCRIBE_FOOTER = re.compile(r"^Unsubscribe: .+@.+(?:\n.+http:.+)?\s*\Z", _I | _ML)
_ALIAS_QUOTE_MARKER = re.compile(r'^.*>{5} "[^"\n]+" == .+ writes:', _ML)
_ENCLOSED_QUOTE = re.compile(r"^>>> ?(.+) ?>>>$\n([\s\S]+?)\n^<<< ?\1 ?<<<$", _ML)
_ANGLE_FENCED_QUOTE = re.compile(rf"^>{{4,}}{_B}*$\n([\s\S]+?)\n^<{{4,}}{_B}*$", _ML)
# Usenet-style "JD> text" prefixes; the space after ">" keeps "C>A>B" (a ranking) as text.
_INITIALS_QUOTE = re.compile(rf"^((?:{_B}*{_ALPHA}*>)*{_B}*{_ALPHA}+>)(?=[ >]|$)", _ML)
# "| text" quoting, but not Markdown tables (which have more than one pipe).
_PIPE_QUOTE = re.compile(rf"^({_B}*)\|(?=[^|\n]*$)", _ML)
_CODE_BLOCK = re.compile(r"^```\w*$\n.*?^```$", _ML | re.DOTALL)
_WHITESPACE_RUN = re.compile(r"\n+\s*")


def _quote_lines(text: str) -> str:
    return "\n".join("> " + line for line in text.split("\n"))


def _unwrap(match: re.Match[str]) -> str:
    # Clients wrap long attribution lines; join them again, but only short runs
    # (a "match" over many lines is more likely a false positive).
    marker = match.group(0)
    return marker if marker.count("\n") > 4 else _WHITESPACE_RUN.sub(" ", marker)


# "reply On Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:" above a quote: some clients put
# the attribution at the end of the reply's last line.  Only the last few candidates of a line are
# tried, so a hostile line of "On On On …" costs no more than a few attribution searches.
_SHARED_LINE_START = re.compile(rf"(?<=\S)(?:{_B}+|{_B}*-{{2,}}{_B}*)(?=(?:On|Le|Am|El|Em|Op|Den|Il) )")
_QUOTE_PREFIX = re.compile(rf"[{_B_CHARS}>]*")
_NEXT_LINE_QUOTED = re.compile(rf"\n(?:{_B}*\n)*{_B}*>")


def _split_shared_attributions(text: str) -> str:
    lines = text.split("\n")
    for i, line in enumerate(lines[:-1]):
        if len(line) > 1000 or not _NEXT_LINE_QUOTED.match("\n" + "\n".join(lines[i + 1:i + 3])):
            continue
        for start in [m for m in _SHARED_LINE_START.finditer(line)][-3:]:
            rest = line[start.end():]
            if _QUOTE_PREFIX.fullmatch(line[:start.start()]):
                continue  # "> On …": a quoted attribution, already a line of its own
            if any(rx.fullmatch(rest) for rx in ON_DATE_SOMEONE_WROTE):
                lines[i] = line[:start.start()] + "\n" + rest
                break
    return "\n".join(lines)


def _preprocess(text: str) -> str:
    """Normalise line endings, quoting styles and wrapped attributions."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _PGP_HEADER.sub("", text)
    text = _PGP_SIGNATURE.sub("", text)
    text = _UNSUBSCRIBE_FOOTER.sub("", text)
    text = _ALIAS_QUOTE_MARKER.sub("", text)
    text = _ENCLOSED_QUOTE.sub(lambda m: _quote_lines(m.group(2)), text)
    text = _ANGLE_FENCED_QUOTE.sub(lambda m: _quote_lines(m.group(1)), text)
    text = _INITIALS_QUOTE.sub(lambda m: re.sub(rf"{_ALPHA}+>", ">", m.group(1)), text)
    text = _PIPE_QUOTE.sub(r"\1>", text)
    for marker in WRAPPING_MARKERS:
        text = marker.sub(_unwrap, text)
    text = _split_shared_attributions(text)
    return text.strip()


def _hoist_code_blocks(text: str) -> tuple[str, dict[str, str]]:
    """Replace fenced code blocks by tokens so their lines are never trimmed."""
    blocks: dict[str, str] = {}
    # The same text must always trim the same way, so the tokens are not random: capitals only (a
    # token reads as a line of its own, never as the lower-case tail of a sentence, and holds no
    # digits a date rule could take), one fixed width each, after a stem the text does not contain.
    stem = "QUORUMCODEBLOCK"
    while stem in text:
        stem += "Q"

    def stash(match: re.Match[str]) -> str:
        n, letters = len(blocks), ""
        for _ in range(4):
            n, digit = divmod(n, 26)
            letters = chr(ord("A") + digit) + letters
        token = stem + letters
        blocks[token] = match.group(0)
        return token

    return _CODE_BLOCK.sub(stash, text), blocks


def _restore_code_blocks(text: str, blocks: dict[str, str]) -> str:
    for token, block in blocks.items():
        text = text.replace(token, block)
    return text


# --- The rules over the shape -----------------------------------------------

def _demote_lone_headers(shape: str) -> str:
    """Treat a header-like line with no other header nearby as text.

    Quoted header blocks come in groups ("From:/Sent:/To:/Subject:"); a single
    "A: 5, C: 3" or "To: everyone" is the member writing (a dot vote, a greeting).
    """
    kinds = list(shape)
    for i, kind in enumerate(shape):
        if kind == HEADER and HEADER not in shape[max(0, i - 2):i] + shape[i + 1:i + 3]:
            kinds[i] = TEXT
    return "".join(kinds)


def _keep_signoffs_in_text(shape: str, lines: list[str]) -> str:
    """A sign-off whose sentence goes on, on the very next line ("Sent from my iPhone" /
    "is how my mail used to end"), is the sender's text; any other ends what they wrote."""
    kinds = list(shape)
    for i, kind in enumerate(shape[:-1]):
        if kind == SIGNATURE and shape[i + 1] == TEXT and _starts_lower(lines[i + 1]):
            kinds[i] = TEXT
    return "".join(kinds)


# A link the sender's client wrapped out of a quote: "> View ticket (http://example.com/a" then
# "_nonce=3dd518)" or " (http://example.com/c/YzOT) >" on a line of its own.
_WRAPPED_FRAGMENT = re.compile(rf"^{_B}*(?:\S+|\(?https?://\S+\)?(?:{_B}*>)?){_B}*$")


# A list marker alone on its line, its item on the next ("*\n  eggs", as some HTML-to-text
# converters write a list), and a heading's underline ("Options\n=======").
_LONE_BULLET = re.compile(rf"^{_B}*[-*+•·o]{_B}*$")
_UNDERLINE = re.compile(rf"^{_B}*(?:={{3,}}|-{{3,}}){_B}*$")


def _keep_lists_and_headings(shape: str, lines: list[str]) -> str:
    """Delimiter-looking lines that belong to the sender's text: a lone list marker before its
    item, and a heading's underline as long as the heading (``=`` lines of any length)."""
    kinds = list(shape)
    for m in re.finditer(DELIMITER, shape):
        i = m.start()
        line = lines[i]
        if _LONE_BULLET.match(line) and i + 1 < len(lines) and shape[i + 1] == TEXT:
            kinds[i] = TEXT
        elif i and shape[i - 1] == TEXT and _UNDERLINE.match(line) and (
                "=" in line or len(line.strip()) == len(lines[i - 1].strip())):
            kinds[i] = TEXT
    return "".join(kinds)


def _rejoin_wrapped_quotes(shape: str, lines: list[str]) -> str:
    """A one-word line between two quoted lines is the tail of a wrapped quote, not text."""
    kinds = list(shape)
    for m in re.finditer(rf"(?<={QUOTE}){TEXT}(?={QUOTE})", shape):
        if _WRAPPED_FRAGMENT.match(lines[m.start()]):
            kinds[m.start()] = QUOTE
    return "".join(kinds)


@dataclass(frozen=True)
class Cut:
    """One place the trimmer cut: the first line it removed (1-based, in the text it was given),
    the rule that removed it, and that line's text."""

    line: int
    rule: str
    text: str


# What each kind of line is called when a rule cuts there.
_RULE_OF_KIND = {DELIMITER: "delimiter", SIGNATURE: "mobile-signature", EMBEDDED: "attribution",
                 HEADER: "header-block", QUOTE: "quote", TEXT: "text", EMPTY: "blank"}


class _Shaped:
    """Lines of a message together with their shape string, and where each line came from, so
    that every cut can be reported against the text the trimmer was given."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        self.origin = list(range(len(lines)))
        self.cuts: list[tuple[int, str]] = []  # (index into the first lines, rule)
        shape = "".join(line_kind(line) for line in lines)
        shape = _keep_lists_and_headings(_rejoin_wrapped_quotes(shape, lines), lines)
        self.shape = _keep_signoffs_in_text(_demote_lone_headers(shape), lines)

    def _rule_at(self, index: int, rule: str | None) -> str:
        if rule:
            return rule
        kind, line = self.shape[index], self.lines[index]
        if kind == DELIMITER and REPLY_ABOVE_MARKER.search(line):
            return "reply-above-marker"
        if kind == EMBEDDED and any(rx.search(line) for rx in FORWARDED_MARKERS):
            return "forwarded"
        return _RULE_OF_KIND[kind]

    def _record(self, start: int, end: int, rule: str | None = None) -> None:
        """Lines ``start:end`` go: the first of them that is not blank names the cut (removing
        blank lines alone is no cut worth naming)."""
        index = next((i for i in range(start, end) if self.shape[i] != EMPTY), None)
        if index is not None:
            self.cuts.append((self.origin[index], self._rule_at(index, rule)))

    def keep_before(self, index: int, rule: str | None = None) -> None:
        self._record(index, len(self.lines), rule)
        self.lines, self.shape, self.origin = self.lines[:index], self.shape[:index], self.origin[:index]

    def keep_from(self, index: int, rule: str | None = None) -> None:
        self._record(0, index, rule)
        self.lines, self.shape, self.origin = self.lines[index:], self.shape[index:], self.origin[index:]

    def drop(self, kinds: str) -> None:
        for m in re.finditer(f"[{kinds}]+", self.shape):
            self._record(m.start(), m.end())
        kept = [i for i, kind in enumerate(self.shape) if kind not in kinds]
        self.lines = [self.lines[i] for i in kept]
        self.origin = [self.origin[i] for i in kept]
        self.shape = "".join(self.shape[i] for i in kept)

    def search(self, pattern: str) -> re.Match[str] | None:
        return re.search(pattern, self.shape)


# --- The shape rules, in linear time ---------------------------------------------
#
# Each rule was first a regular expression over the shape; those anchored at the end (``…\Z``) or
# spanning a header block try every start and rescan the rest, which is quadratic on a hostile
# shape (thousands of alternating quote and text lines).  These functions find the same match
# as the expression named in their docstring (a property test holds them to it) in one pass.

def _tail_start(shape: str, kinds: str, end: int | None = None) -> int:
    """Where the run of ``kinds`` that ends at ``end`` (default: the end) starts."""
    i = len(shape) if end is None else end
    while i > 0 and shape[i - 1] in kinds:
        i -= 1
    return i


def _bottom_posted_reply(shape: str) -> int | None:
    """``\Ab[^t]+t[et]*\Z``: the start of the reply (``t[et]*\Z``) below an attribution."""
    first_text = shape.find(TEXT)
    if not shape.startswith(EMBEDDED) or first_text < 2 or _tail_start(shape, TEXT + EMPTY) > first_text:
        return None
    return first_text


_ATTRIBUTION = re.compile(f"{TEXT}{EMPTY}*{EMBEDDED}")


def _attribution_without_quotes(shape: str) -> int | None:
    """``te*b[^q]*\Z``: text, then an attribution with no quote after it."""
    m = _ATTRIBUTION.search(shape, shape.rfind(QUOTE) + 1)
    return m.start() if m else None


def _attribution_then_quotes(shape: str) -> tuple[int, int] | None:
    """``te*b[eqbh]*([te]*)\Z``: (start, text lines in the group) for text, an attribution, quotes
    (headers, more attributions) and then only text and blank lines to the end."""
    last = _tail_start(shape, TEXT + EMPTY) - 1  # the last line that is neither text nor blank
    if last < 0:
        return None
    run = _tail_start(shape, EMPTY + QUOTE + EMBEDDED + HEADER, last + 1)
    if run == 0 or shape[run - 1] != TEXT:
        return None
    j = run
    while j <= last and shape[j] == EMPTY:
        j += 1
    if j > last or shape[j] != EMBEDDED:
        return None
    return run - 1, shape.count(TEXT, last + 1)


def _quoted_tail(shape: str) -> int | None:
    """``t?e*[qbe]+\Z``: where the trailing quotes (and the text line just above them) start."""
    tail = _tail_start(shape, QUOTE + EMBEDDED + EMPTY)
    if tail == len(shape):
        return None
    return tail - 1 if tail and shape[tail - 1] == TEXT else tail


def _wrapped_header_block(shape: str) -> tuple[int, int] | None:
    """``h+[hte]+h+(?:e|\Z)``: the first header block, wrapped lines and all, as (start, end)."""
    for run in re.finditer(f"[{HEADER}{TEXT}{EMPTY}]+", shape):
        first = shape.find(HEADER, run.start(), run.end())
        if first == -1:
            continue
        # The last header line of the run that a blank line (or the end) follows.
        for j in range(run.end() - 1, first + 1, -1):
            if shape[j] != HEADER:
                continue
            if j + 1 == len(shape):
                return first, j + 1
            if shape[j + 1] == EMPTY:
                return first, j + 2
    return None


def _apply_rules(msg: _Shaped) -> None:
    """Cut ``msg`` down to the sender's own words (in place)."""
    # Everything after a delimiter ("-- ", "____") is a signature or a quote.
    if (i := msg.shape.find(DELIMITER)) != -1:
        msg.keep_before(i)

    # A phone's or mail app's sign-off ends the reply: what follows is the quoted mail, which some
    # clients add below it unmarked.
    if (i := msg.shape.find(SIGNATURE)) != -1:
        msg.keep_before(i)

    # Bottom-posted: an attribution, quotes, then the reply at the very end.
    if (i := _bottom_posted_reply(msg.shape)) is not None:
        msg.keep_from(i, "bottom-posted")
        return

    # An attribution not followed by quotes: the rest is the quoted mail.
    if (i := _attribution_without_quotes(msg.shape)) is not None:
        msg.keep_before(i + 1)

    # An attribution followed by a quote and at most a few lines of text
    # (a signature, a footer) ends the reply.
    found = _attribution_then_quotes(msg.shape)
    if found is not None and found[1] < 7:
        msg.keep_before(found[0] + 1)

    # Text followed by nothing but quotes: drop the quotes.
    if (i := _quoted_tail(msg.shape)) is not None:
        msg.keep_before(i + 1)

    msg.drop(EMBEDDED)

    # Header blocks often wrap ("To: a,\n b"): make the whole block headers.
    if (block := _wrapped_header_block(msg.shape)) is not None:
        start, end = block
        msg.shape = msg.shape[:start] + HEADER * (end - start) + msg.shape[end:]

    # Three headers in a row after some text: a forwarded/embedded mail.
    if (m := _TEXT_THEN_HEADERS.search(msg.shape)) is not None:
        msg.keep_before(m.start() + 1, "header-block")

    msg.drop(HEADER)

    # Trailing quotes and blank lines after the reply.
    if TEXT in msg.shape and (i := _tail_start(msg.shape, EMPTY + QUOTE)) < len(msg.shape):
        msg.keep_before(i)


# Linear as it is: each text line starts at most one scan, over the blanks and quotes after it.
_TEXT_THEN_HEADERS = re.compile(f"{TEXT}[{EMPTY}{QUOTE}]*{HEADER}{{3,}}")


def _elided(original: list[str], kept: list[str]) -> str:
    """The lines of ``original`` that are not in ``kept`` (an ordered subsequence)."""
    elided: list[str] = []
    k = 0
    for line in original:
        if k < len(kept) and line == kept[k]:
            k += 1
        else:
            elided.append(line)
    return "\n".join(elided).strip()


def _trimmed(text: str) -> tuple[list[str], _Shaped, dict[str, str]]:
    prepared, blocks = _hoist_code_blocks(_preprocess(text))
    lines = prepared.split("\n") if prepared else []
    msg = _Shaped(lines)
    _apply_rules(msg)
    return lines, msg, blocks


def elide_reply(text: str) -> tuple[str, str]:
    """Split a reply into (the sender's own text, what was trimmed away)."""
    if not text or text.isspace():
        return "", ""
    lines, msg, blocks = _trimmed(text)
    trimmed = _restore_code_blocks("\n".join(msg.lines).strip(), blocks)
    return trimmed, _restore_code_blocks(_elided(lines, msg.lines), blocks)


def explain_trim(text: str) -> list[Cut]:
    """Where the trimmer cut ``text`` and by which rule, in the order of the text.

    Line numbers count in ``text`` as given; preprocessing (an attribution wrapped over two
    lines is joined, say) is undone by finding each cut line's start again in the text.
    """
    if not text or text.isspace():
        return []
    lines, msg, _blocks = _trimmed(text)
    original = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cuts: list[Cut] = []
    seen: set[int] = set()
    for index, rule in sorted(msg.cuts):
        if index in seen:
            continue
        seen.add(index)
        line = lines[index]
        words = line.strip()[:40]
        number = next((n for n, o in enumerate(original, 1) if words and words in o), None)
        if number is None:
            number = next((n for n, o in enumerate(original, 1) if o.strip() and o.strip() in line), 1)
        cuts.append(Cut(number, rule, line.strip()[:200]))
    return cuts


def trim_reply(text: str) -> str:
    """Return only what the sender wrote: no quotes, attributions or signatures."""
    return elide_reply(text)[0]


def extract_embedded_email(text: str) -> tuple[str, str] | None:
    """Find a forwarded/embedded mail: (the embedded mail, the text before it), or None."""
    if not text or text.isspace():
        return None
    lines = _preprocess(text).split("\n")
    shape = "".join(line_kind(line) for line in lines)
    if (m := re.search(r"(?:h[eqd]*?){3,}[tq]", shape)) is not None:
        index = m.start()
        embedded = "\n".join(lines[index:]).strip()
    elif (m := re.search(r"b[eqd]*[tq]", shape)) is not None:
        # macOS/iOS Mail put the forwarded mail in a quote: unquote it.
        index = m.start()
        embedded = "\n".join(re.sub(r"^>\s*", "", line) for line in lines[index + 1:]).strip()
    else:
        return None
    end_of_before = re.search(r"e*(?:b[eqd]*|b*[ed]*)\Z", shape[:index])
    before = "\n".join(lines[: end_of_before.start()]).strip()
    return embedded, before
