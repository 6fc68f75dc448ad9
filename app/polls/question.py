"""Question: an open question; each member's written answer is their vote."""

from .base import Answer, PollType, counted, Results, VoteError, int_choices, setting


class Question(PollType):
    """No options: the reason field carries the answer, so it is always required."""

    name = "question"
    label = "Question"
    description = "Ask an open question and collect written answers."
    min_options = 0
    default_reason_mode = "required"
    written_answers = True
    shows_voter_table = False
    title_label = "Your question"
    vote_widget = "polls/vote/question.html"

    def check_settings(self, settings, option_names):
        errors = ["A question doesn't have options."] if option_names else []
        if settings.get("reason_mode", "required") == "off":
            errors.append("A question's answers are written, so answers can't be switched off.")
        return errors

    def validate(self, p, choices, reason):
        if int_choices(choices):
            raise VoteError("A question takes a written answer, not a choice of options.")
        answer = (reason or "").strip()
        if not answer:
            raise VoteError("Please write an answer.")
        limit = setting(p, "reason_max_length", 0)
        if limit and len(answer) > limit:
            raise VoteError(f"Your answer is {len(answer)} characters long; this poll allows at most {limit}.")
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
        tail = f" (up to {counted(limit, 'character')})" if limit else ""
        return f"To answer, reply to this email: the whole of your reply is your answer{tail}."

    def describe_choices(self, p, choices, zone=None):
        return "Written answer"

    def read_form(self, p, form):
        return {}, form.get("answer", "")

    def finish(self, p, results: Results, stances):
        results.answers = [
            Answer(getattr(s, "participant_id", None), s.reason.strip())
            for s in stances
            if (getattr(s, "reason", None) or "").strip()
        ]
        results.voter_count = len(results.answers)
