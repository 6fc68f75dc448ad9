"""Run by FlaskBB's venv's Python, not the project's: `python flaskbb_seed.py CONFIG USERS PASSWORD`.

After `flaskbb install` (which makes the default groups, a category and its forum): USERS activated
members, one topic of 50 and one of 200 posts in that forum by the members in turn, and posts_per_page
set to 200 so each topic is one page, as Quorum's thread page shows every comment. Prints JSON.
"""
import json
import sys


def main(config_file: str, users: int, password: str) -> None:
    from flaskbb import create_app
    from flaskbb.forum.models import Forum, Post, Topic
    from flaskbb.management.models import Setting
    from flaskbb.user.models import Group, User

    app = create_app(config_file)
    with app.app_context():
        member = Group.query.filter_by(name="Member").one()  # the group `flaskbb install` gives new members
        members = []
        for i in range(users):
            user = User(username=f"member{i}", email=f"peer-member-{i}@bench.example", password=password,
                        primary_group=member, activated=True)
            members.append(user.save())
        forum = Forum.query.order_by(Forum.id).first()
        topics = {}
        for size in (50, 200):
            author = members[0]
            topic = Topic(title=f"A topic of {size} posts").save(
                user=author, forum=forum, post=Post(content=f"The first post of {size}. Sounds good to me."))
            for n in range(1, size):
                Post(content=f"Post {n}: sounds good to me, I can help on *Saturday*.\n\nSee you there.").save(
                    user=members[n % len(members)], topic=topic)
            topics[str(size)] = topic.id
        Setting.update({"posts_per_page": 200})
        print(json.dumps({"topics": topics, "users": [u.username for u in members]}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
