"""factory_boy factories over the real models, saved through the real session."""
from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory

from app.extensions import db
from app import models


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class UserFactory(Base):
    class Meta:
        model = models.User

    name = factory.Sequence(lambda n: f"Member {n}")
    email = factory.Sequence(lambda n: f"member{n}@example.org")
    email_verified_at = factory.LazyFunction(models.utcnow)
    time_zone = "UTC"


class GroupFactory(Base):
    class Meta:
        model = models.Group

    name = factory.Sequence(lambda n: f"Group {n}")
    handle = factory.Sequence(lambda n: f"group{n}")
    privacy = "closed"


class MembershipFactory(Base):
    class Meta:
        model = models.Membership

    group = factory.SubFactory(GroupFactory)
    user = factory.SubFactory(UserFactory)
    role = "member"


class DiscussionFactory(Base):
    class Meta:
        model = models.Discussion

    group = factory.SubFactory(GroupFactory)
    author = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Thread {n}")
    body = "Let's talk about it."


class CommentFactory(Base):
    class Meta:
        model = models.Comment

    discussion = factory.SubFactory(DiscussionFactory)
    author = factory.SubFactory(UserFactory)
    body = factory.Sequence(lambda n: f"Comment number {n}")


def member(group, *, role: str = "member", **user_fields) -> models.User:
    """A new user who belongs to `group` with `role`."""
    user = UserFactory(**user_fields)
    MembershipFactory(group=group, user=user, role=role)
    return user


OUTSIDER_ROLES = ("signed_out", "stranger", "member", "admin", "removed", "operator_with_grant")


def person_as(role: str, group) -> models.User | None:
    """Someone in `role` towards `group` (one of OUTSIDER_ROLES): None for signed_out; "removed" was an
    admin and is no longer a member; "operator_with_grant" is a site operator the admins let in now."""
    from datetime import timedelta

    if role == "signed_out":
        return None
    if role in ("member", "admin"):
        return member(group, role=role)
    person = UserFactory(is_site_admin=role == "operator_with_grant")
    if role == "removed":
        db.session.add(models.Membership(group_id=group.id, user_id=person.id, role="admin"))
        db.session.commit()
        db.session.query(models.Membership).filter_by(user_id=person.id).delete()
    if role == "operator_with_grant":
        db.session.add(models.SupportGrant(group_id=group.id, operator_id=person.id, reason="help",
                                           expires_at=models.utcnow() + timedelta(hours=4)))
    db.session.commit()
    return person
