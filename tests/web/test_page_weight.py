"""Page weight: a thread with 50 comments fits PRODUCT.md's budget on a first and a repeat visit."""
from __future__ import annotations

import gzip
import re

from app.models import Reaction
from app.services import discussions
from tests.factories import GroupFactory, member
from tests.helpers import sign_in

FIRST_VISIT_BUDGET = 32 * 1024
REPEAT_VISIT_BUDGET = 8 * 1024
SENTENCE = ("Thanks for pulling this together. I think we should ask the council about the **skip** first, "
            "then decide on dates at the next meeting. Happy to help on Saturday morning.")


def _wire_size(response) -> int:
    """Bytes on the wire: the body as sent (gzip when the server compressed it, else gzipped here)."""
    if response.headers.get("Content-Encoding") == "gzip":
        return len(response.data)
    return len(gzip.compress(response.get_data(), compresslevel=6))


def test_a_thread_with_50_comments_fits_the_page_weight_budget(client, db_session):
    group = GroupFactory(handle="garden", name="Garden working group")
    people = [member(group, name=f"Member {n}") for n in range(8)]
    reader = people[0]
    thread = discussions.start_thread(actor_id=people[1].id, group_id=group.id, title="Spring planting rota",
                                      body="Who can do which weekend?\n\n- beds\n- paths\n- compost")
    top = None
    for n in range(50):
        author = people[n % len(people)]
        parent = top.id if top is not None and n % 5 == 4 else None
        comment = discussions.post_comment(actor_id=author.id, discussion_id=thread.id,
                                           body=f"{SENTENCE} ({n})", parent_id=parent)
        if parent is None:
            top = comment
        db_session.add(Reaction(user_id=people[(n + 1) % 8].id, discussion_id=thread.id, comment_id=comment.id,
                                emoji="👍"))
    db_session.commit()
    sign_in(client, reader)

    page = client.get(f"/d/{thread.id}", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200 and page.headers["Content-Encoding"] == "gzip"
    html = gzip.decompress(page.data).decode()
    assert html.count('class="comment') == 50
    assets = re.findall(r'<(?:link[^>]+href|script[^>]+src)="(/s/[^"]+)"', html)
    assert any(a.endswith(".css") for a in assets) and any(".js" in a for a in assets)
    sizes = {"page": _wire_size(page)}
    for asset in assets:
        response = client.get(asset, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200 and "immutable" in response.headers["Cache-Control"]
        sizes[asset] = _wire_size(response)
    total = sum(sizes.values())
    print(f"\npage weight, first visit: {total} bytes compressed {sizes}")
    assert total <= FIRST_VISIT_BUDGET, sizes

    # A repeat visit: static files are cached for a year; the page itself answers 304 to its ETag.
    again = client.get(f"/d/{thread.id}", headers={"Accept-Encoding": "gzip"})
    assert _wire_size(again) <= REPEAT_VISIT_BUDGET
    etag = again.headers.get("ETag")
    if etag:
        conditional = client.get(f"/d/{thread.id}", headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
        assert conditional.status_code in (200, 304)
    print(f"page weight, repeat visit: {_wire_size(again)} bytes compressed")
