"""The one error a poll type raises."""


class VoteError(ValueError):
    """A vote or a reply that can't be accepted; the message is shown (or emailed) to the member."""

    @property
    def message(self) -> str:
        return str(self)
