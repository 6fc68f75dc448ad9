"""Question: an open question; each member's written answer is their vote."""

from ..i18n import _, _l, _n
from .base import Answer, PollType, Results, VoteError, int_choices, setting


class Question(PollType):
    """No options: the reason field carries the answer, so it is always required."""

    name = "question"
    label = _l("Question")
    description = _l("Ask an open question and collect written answers.")
    min_options = 0
    default_reason_mode = "required"
    written_answers = True
    shows_voter_table = False
    title_label = _l("Your question")
    vote_widget = "polls/vote/question.html"

    def check_settings(self, settings, option_names):
        errors = [_("A question doesn't have options.")] if option_names else []
        if settings.get("reason_mode", "required") == "off":
            errors.append(_("A question's answers are written, so answers can't be switched off."))
        return errors

    def validate(self, p, choices, reason):
        if int_choices(choices):
            raise VoteError(_("A question takes a written answer, not a choice of options."))
        answer = (reason or "").strip()
        if not answer:
            raise VoteError(_("Please write an answer."))
        limit = setting(p, "reason_max_length", 0)
        if limit and len(answer) > limit:
            raise VoteError(_("Your answer is %(length)s characters long; this poll allows at most %(limit)s.",
                              length=len(answer), limit=limit))
        return {}

    def clean_reason(self, p, reason):
        return (reason or "").strip() or None

    def read(self, p, text):
        return {}, text.strip()

    def parse_vote_text(self, p, text, zone=None):
        # The answer is the whole reply whatever reason_mode says, so skip the "off" handling.
        from .base import ParsedVote
        from .grammar import normalise_text

        answer = normalise_text(text).strip()
        try:
            self.validate(p, {}, answer)
        except VoteError as e:
            raise VoteError(f"{e}\n\n{self.vote_instructions(p)}") from None
        return ParsedVote({}, answer)

    def vote_instructions(self, p):
        limit = setting(p, "reason_max_length", 0)
        if limit:
            return _n("To answer, reply to this email: the whole of your reply is your answer (up to %(num)s character).",
                      "To answer, reply to this email: the whole of your reply is your answer (up to %(num)s characters).",
                      limit)
        return _("To answer, reply to this email: the whole of your reply is your answer.")

    def describe_choices(self, p, choices, zone=None):
        return _("Written answer")

    def read_form(self, p, form):
        return {}, form.get("answer", "")

    def finish(self, p, results: Results, stances):
        results.answers = [
            Answer(getattr(s, "participant_id", None), s.reason.strip())
            for s in stances
            if (getattr(s, "reason", None) or "").strip()
        ]
        results.voter_count = len(results.answers)
