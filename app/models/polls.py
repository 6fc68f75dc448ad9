"""Decisions: polls, their options, who may vote, votes (stances) and outcomes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .discussions import Discussion
from .groups import Group
from .users import User

HIDE_RESULTS = ("off", "until_vote", "until_closed")
REASON_MODES = ("off", "optional", "required")
# Who gets the "closing soon" notice: nobody, the poll's author, those who have not voted, everyone who may vote.
CLOSING_SOON_AUDIENCES = ("nobody", "author", "undecided", "everyone")


class Poll(db.Model):
    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    # A poll lives in a thread, or stands alone in a group.
    discussion_id: Mapped[int | None] = mapped_column(ForeignKey("discussions.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    poll_type: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    details: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closing_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closing_soon_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    hide_results: Mapped[str] = mapped_column(String(20), default="off")
    # group: every member (also later ones); specified: the PollVoter rows only.
    voter_scope: Mapped[str] = mapped_column(String(20), default="group")
    reason_mode: Mapped[str] = mapped_column(String(10), default="optional")
    reason_max_length: Mapped[int] = mapped_column(Integer, default=2000)
    min_choices: Mapped[int | None] = mapped_column(Integer)
    max_choices: Mapped[int | None] = mapped_column(Integer)
    dots_per_person: Mapped[int | None] = mapped_column(Integer)
    min_score: Mapped[int | None] = mapped_column(Integer)
    max_score: Mapped[int | None] = mapped_column(Integer)
    minimum_rank: Mapped[int | None] = mapped_column(Integer)
    target: Mapped[int | None] = mapped_column(Integer)
    allow_none_of_the_above: Mapped[bool] = mapped_column(Boolean, default=False)
    # Voters may add options while the poll is open (types whose options are free text).
    voters_can_add_options: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # A draft is saved but not open: only its author and the group's admins see it; no votes, no mail.
    draft: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Each viewer sees the options in their own stable order (page and mail; numbers stay the options' own).
    shuffle_options: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Shown by the reason field (page and mail): what the author wants a reason to say.
    reason_prompt: Mapped[str | None] = mapped_column(String(300))
    # The "closing soon" notice: its audience (CLOSING_SOON_AUDIENCES) and how many hours before closing.
    closing_soon_audience: Mapped[str] = mapped_column(String(12), default="undecided", server_default="undecided")
    closing_soon_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    # Proposals: requirements to pass (app.polls.thresholds); None/False: not required.
    quorum_percent: Mapped[int | None] = mapped_column(Integer)  # share of the electorate taking part
    pass_percent: Mapped[int | None] = mapped_column(Integer)  # share of votes cast that agree
    pass_without_blocks: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Meeting polls: the zone the author wrote the slots in.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    # The decision process a proposal follows (app/polls/decision_processes.py): its options, their
    # meanings and its prompt; None for a plain poll of its type.
    process: Mapped[str | None] = mapped_column(String(20))
    # The inbound message a decision was started from (idempotent processing).
    inbound_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"), index=True)

    group: Mapped[Group] = relationship()
    discussion: Mapped[Discussion | None] = relationship()
    author: Mapped[User | None] = relationship()
    options: Mapped[list["PollOption"]] = relationship(
        back_populates="poll", order_by="PollOption.priority", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return self.closed_at is None and self.deleted_at is None and not self.draft


class PollOption(db.Model):
    __tablename__ = "poll_options"

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # Meeting polls: a time slot, in UTC.
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    # What choosing this option means, shown beside it on the page and in mail (a process's options).
    meaning: Mapped[str | None] = mapped_column(Text)
    # Shown by the reason field for a voter who chooses this option.
    reason_prompt: Mapped[str | None] = mapped_column(String(300))

    poll: Mapped[Poll] = relationship(back_populates="options")


class PollVoter(db.Model):
    """A named person who may vote: a member, or a guest invited by email."""

    __tablename__ = "poll_voters"
    __table_args__ = (UniqueConstraint("poll_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Participation(db.Model):
    """That someone voted in a poll, kept apart from what they chose.

    For anonymous polls this is the only link to a person; stances lose theirs at closing.
    """

    __tablename__ = "participations"
    __table_args__ = (UniqueConstraint("poll_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class Stance(db.Model):
    """One vote. Changing a vote adds a stance and marks the old one not latest."""

    __tablename__ = "stances"
    __table_args__ = (Index("ix_stances_poll_latest", "poll_id", "latest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    # NULL for anonymous polls once closed (and for deleted accounts' votes if they choose).
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    latest: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(10), default="web")
    # The inbound message a vote came from (a retried job adds no second stance). It names the
    # voter, so anonymous polls clear it when they close, with participant_id.
    inbound_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"), index=True)

    poll: Mapped[Poll] = relationship()
    participant: Mapped[User | None] = relationship()
    stance_choices: Mapped[list["StanceChoice"]] = relationship(cascade="all, delete-orphan")

    @property
    def choices(self) -> dict[int, int]:
        return {c.poll_option_id: c.score for c in self.stance_choices}


class StanceChoice(db.Model):
    __tablename__ = "stance_choices"

    id: Mapped[int] = mapped_column(primary_key=True)
    stance_id: Mapped[int] = mapped_column(ForeignKey("stances.id", ondelete="CASCADE"), index=True)
    poll_option_id: Mapped[int] = mapped_column(ForeignKey("poll_options.id", ondelete="CASCADE"), index=True)
    score: Mapped[int] = mapped_column(Integer, default=1)


class Outcome(db.Model):
    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    statement: Mapped[str] = mapped_column(Text)
    # Meeting polls: the chosen slot (an .ics goes with the outcome mail).
    poll_option_id: Mapped[int | None] = mapped_column(ForeignKey("poll_options.id"))
    latest: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the group means to look at the decision again; its author is reminded then, once.
    review_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    author: Mapped[User | None] = relationship()
