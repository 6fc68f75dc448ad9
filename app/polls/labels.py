"""The names poll types and decision processes give their options by default, as catalog entries
("option" context): stored in English, shown in the reader's language by `app.i18n.option_label`.
tests/i18n checks that every default option name is listed here."""
from ..i18n import _lp

OPTION_NAMES = (
    _lp("option", "Agree"), _lp("option", "Abstain"), _lp("option", "Disagree"), _lp("option", "Block"),
    _lp("option", "Looks good"), _lp("option", "Not sure"), _lp("option", "Concerned"),
    _lp("option", "In"), _lp("option", "Out"),
    _lp("option", "Consent"), _lp("option", "Concern"), _lp("option", "Object"), _lp("option", "Stand aside"),
    _lp("option", "Go ahead"), _lp("option", "Go ahead with advice"), _lp("option", "No advice"),
    _lp("option", "Whole-hearted endorsement"), _lp("option", "Agreement with a minor point of contention"),
    _lp("option", "Support with reservations"), _lp("option", "More discussion needed"),
    _lp("option", "Don't like but will support"), _lp("option", "Serious disagreement"), _lp("option", "Veto"),
)

# Vote words a member may write in a reply, in the context "reply word" (docs/TRANSLATING.md): each
# default option's name, and yes / maybe / no. A language's spellings are read from every member.
VOTE_WORDS = (
    _lp("reply word", "agree"), _lp("reply word", "abstain"), _lp("reply word", "disagree"),
    _lp("reply word", "block"), _lp("reply word", "looks good"), _lp("reply word", "not sure"),
    _lp("reply word", "concerned"), _lp("reply word", "in"), _lp("reply word", "out"),
    _lp("reply word", "consent"), _lp("reply word", "concern"), _lp("reply word", "object"),
    _lp("reply word", "stand aside"), _lp("reply word", "go ahead"), _lp("reply word", "go ahead with advice"),
    _lp("reply word", "no advice"), _lp("reply word", "veto"),
    _lp("reply word", "yes"), _lp("reply word", "maybe"), _lp("reply word", "no"),
)
_ANSWERS = ("yes", "maybe", "no")


def option_synonyms(synonyms: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """A poll type's English synonyms {option key: words} with every shipped language's words added: the
    option's own name translated ("zustimmen" for agree) and yes / maybe / no where English lists them."""
    from ..i18n import reply_words

    table = {name: list(words) for name, words in synonyms.items()}
    for entry in VOTE_WORDS:
        english = entry._args[1]
        if english not in _ANSWERS:
            table.setdefault(english, [])
    for name, words in table.items():
        extra = [w for w in reply_words(name)[1:]]
        for answer in _ANSWERS:
            if answer in words:
                extra += reply_words(answer)[1:]
        words += [w for w in extra if w not in words]
    return {name: tuple(words) for name, words in table.items()}
