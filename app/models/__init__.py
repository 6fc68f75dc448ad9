"""The data model, one module per aggregate; import from here."""
from .base import UTCDateTime, utcnow
from .users import (
    ADDRESS_PURPOSES, DELETED_MEMBER_NAME, AddressProof, FeedToken, LoginToken, RecoveryCode, SecondFactorChallenge, SignInEvent,
    TrustedSender, User, UserAlias, WebSession,
)
from .groups import PRIVACIES, ROLES, VOLUMES, Group, Invitation, JoinRequest, Membership, SenderRule
from .discussions import REACTIONS, Attachment, Comment, Discussion, Reaction, ReadState, Version
from .polls import HIDE_RESULTS, REASON_MODES, Outcome, Participation, Poll, PollOption, PollVoter, Stance, StanceChoice
from .events import EVENT_KINDS, Event, Notification
from .mail import DigestDelivery, InboundMessage, OutboundMessage, SenderConfirmation
from .stewardship import AccessLog, AuditLog, GroupExport, SupportGrant
from .templates import TEMPLATE_KINDS, Template
from .site import AccountMerge, SiteBranding
from .webhooks import WEBHOOK_EVENTS, WEBHOOK_FORMATS, Webhook, WebhookDelivery
from .api import TOKEN_SCOPES, ApiToken
from .signin import OidcIdentity, OidcLogin, Passkey, PasskeyChallenge, PasskeyPreference
from .people import DirectNotice, ThreadGuest
from .meetings import ATTENDANCE, MeetingAttendance, MeetingInvitation

__all__ = [name for name in dir() if not name.startswith("_")]
