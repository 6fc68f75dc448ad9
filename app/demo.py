"""`quorum demo`: a realistic demo organisation, made through the same services members use."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select

from .extensions import db
from .models import Discussion, Group, User

MEMBERS = [
    ("Ada Okafor", "ada"), ("Ben Kowalski", "ben"), ("Chiara Rossi", "chiara"), ("Dev Patel", "dev"),
    ("Elin Svensson", "elin"), ("Farid Haddad", "farid"), ("Grace Liu", "grace"), ("Hugo Martin", "hugo"),
    ("Ines Moreau", "ines"), ("Jonas Weber", "jonas"), ("Kemi Adeyemi", "kemi"), ("Luis Ortega", "luis"),
    ("Maya Cohen", "maya"), ("Nils Berg", "nils"), ("Olga Ivanova", "olga"), ("Priya Nair", "priya"),
    ("Quinn Murphy", "quinn"), ("Rosa Jiménez", "rosa"), ("Sam Taylor", "sam"), ("Tomás Silva", "tomas"),
]
ZONES = ["Europe/London", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC"]

GROUPS = [
    # handle, name, privacy, parent, description
    ("riverside", "Riverside Housing Co-op", "closed", None,
     "Our housing co-operative: 40 homes, one garden, shared decisions. Email riverside@ to start a thread."),
    ("garden", "Garden working group", "open", "riverside",
     "Beds, tools, compost and the summer party. Anyone can join."),
    ("finance", "Finance committee", "secret", "riverside",
     "Budgets, rents and the repair fund. Members only."),
    ("foodshare", "Neighbourhood Food Share", "open", None,
     "Collecting surplus food from local shops and sharing it out every Saturday."),
]

THREADS = {
    "riverside": [
        ("Roof repairs on block B", "The surveyor's report is in: the roof on block B needs work before winter. "
         "Quotes attached below in the comments. What do we think?",
         ["Thanks for chasing this. The second quote looks more thorough to me.",
          "Can we ask whether the scaffolding is included? The first one is vague about it.",
          "I rang them: scaffolding is included in both.",
          "Then I'd go with the second. **Ten-year guarantee** matters.",
          "Agree, let's put it to a proposal."]),
        ("Quiet hours after 10pm?", "A few people asked about agreeing quiet hours. Thoughts before we propose anything?",
         ["Fine by me on weeknights, weekends later?", "Could we try it for three months and review?",
          "+1 to a trial."]),
        ("Welcome Priya and family!", "Priya, Arun and their daughter moved into number 12 last week. Say hello!",
         ["Welcome! Come by for tea any time.", "Welcome to Riverside 🎉"]),
    ],
    "garden": [
        ("Spring planting plan", "Here is a first draft of what goes where:\n\n- Bed 1: potatoes\n- Bed 2: beans and peas\n"
         "- Bed 3: herbs\n\nComments welcome.",
         ["Could we keep one bed for the kids' sunflowers?", "Yes please, they loved it last year.",
          "I can bring seedlings on Saturday."]),
        ("Tool shed lock is broken", "The padlock snapped. I've put a temporary one on; code is on the noticeboard.",
         ["Thanks! I'll buy a proper one this week."]),
    ],
    "finance": [
        ("Draft budget for next year", "Attached is the draft. Main change: repair fund contribution up 5%.",
         ["Looks sensible given the roof.", "Can we show the five-year projection at the general meeting?"]),
    ],
    "foodshare": [
        ("Saturday rota for December", "We need two people per slot. Reply with the dates you can do.",
         ["I can do the 6th and 20th.", "13th for me.", "I'll take the 27th, morning only."]),
        ("New pickup from the bakery on Mill Lane", "They'll give us their unsold bread on Fridays from next week.",
         ["Brilliant news!", "I can collect on my way home."]),
    ],
}


def instance_is_empty() -> bool:
    return (db.session.scalar(select(func.count(User.id))) or 0) == 0


def seed_demo(*, force: bool = False) -> dict | None:
    """Seed groups, members, threads and comments (and polls) through the services."""
    from .services import accounts, discussions, groups

    if not force and not instance_is_empty():
        return None
    rng = random.Random(42)
    users = []
    for name, local in MEMBERS:
        email = f"{local}@example.org"
        user = accounts.user_by_email(email) or accounts.create_user(
            email=email, name=name, verified=True, time_zone=rng.choice(ZONES))
        users.append(user)
    db.session.commit()
    admin = users[0]
    made: dict[str, Group] = {}
    for handle, name, privacy, parent, description in GROUPS:
        existing = db.session.scalar(select(Group).where(Group.handle == handle))
        made[handle] = existing or groups.create_group(
            actor_id=admin.id, name=name, handle=handle, privacy=privacy, description=description,
            parent_id=made[parent].id if parent else None)
    members_of = {
        "riverside": users, "garden": users[:12], "finance": [admin, users[3], users[6], users[9]],
        "foodshare": [admin] + users[10:],
    }
    for handle, people in members_of.items():
        for i, user in enumerate(people):
            groups.add_member(group_id=made[handle].id, user_id=user.id, role="admin" if i == 1 else "member")
    for handle, threads in THREADS.items():
        people = members_of[handle]
        for title, body, comments in threads:
            if db.session.scalar(select(Discussion.id).where(Discussion.title == title)):
                continue
            author = rng.choice(people)
            discussion = discussions.start_thread(actor_id=author.id, group_id=made[handle].id, title=title, body=body)
            previous = None
            for text in comments:
                commenter = rng.choice(people)
                parent = previous.id if previous is not None and rng.random() < 0.3 else None
                previous = discussions.post_comment(actor_id=commenter.id, discussion_id=discussion.id, body=text,
                                                    parent_id=parent)
    _seed_polls(made, members_of, rng)
    link = accounts.issue_sign_in_link(email=admin.email, lifetime=timedelta(hours=24))
    return {"groups": len(made), "members": len(users), "admin_email": admin.email, "link": link}


def _seed_polls(made: dict, members_of: dict, rng: random.Random) -> None:
    """Open and closed decisions of every type."""
    from .services.polls import seed_demo_polls

    seed_demo_polls(made, members_of, rng)
