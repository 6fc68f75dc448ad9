"""Passkeys without a browser: challenges are single use and bound to their purpose, bad input is a
form error (never a 500), one member cannot touch another's passkey, and a required passkey counts
as the second factor a group may require of its admins."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app import policy
from app.extensions import db
from app.models import Passkey, PasskeyPreference
from app.services import passkeys
from app.services.errors import Invalid, NotAllowed
from tests.factories import GroupFactory, UserFactory, member
from tests.helpers import csrf_token, post, sign_in


def _passkey(user, name="Phone") -> Passkey:
    key = Passkey(user_id=user.id, credential_id=f"cred-{user.id}-{name}", public_key=b"not a real key", sign_count=0,
                  transports="internal", name=name)
    db.session.add(key)
    db.session.commit()
    return key


def test_a_challenge_is_used_once_and_only_for_its_purpose(clean_app):
    ada = UserFactory(email="ada@example.org")
    db.session.commit()
    options, key = passkeys.registration_options(user=ada)
    assert json.loads(options)["authenticatorSelection"]["residentKey"] == "required"
    with pytest.raises(Invalid):
        passkeys._use_challenge(key, purpose="sign_in")  # made for registering
    assert passkeys._use_challenge(key, purpose="register", user_id=ada.id)
    with pytest.raises(Invalid, match="already used"):
        passkeys._use_challenge(key, purpose="register", user_id=ada.id)
    _, sign_in_key = passkeys.sign_in_options()
    with pytest.raises(Invalid):
        passkeys._use_challenge(sign_in_key, purpose="sign_in", user_id=ada.id + 1)


def test_nonsense_from_a_browser_is_a_form_error(clean_app, client):
    ada = UserFactory(email="ada@example.org")
    db.session.commit()
    sign_in(client, ada)
    assert post(client, "/account/passkeys", {"name": "Laptop", "credential": "{}"}).status_code == 422  # no challenge
    answer = client.post("/account/passkeys/options", headers={"X-CSRFToken": csrf_token(client)})
    assert answer.status_code == 200 and json.loads(answer.get_data())["rp"]["id"] == "localhost"
    for credential in ("not json", "[]", json.dumps({"id": "x", "response": {"clientDataJSON": "!!"}})):
        client.post("/account/passkeys/options", headers={"X-CSRFToken": csrf_token(client)})
        answer = post(client, "/account/passkeys", {"name": "Laptop", "credential": credential})
        assert answer.status_code == 422
        assert "could not be checked, so it was not added" in answer.get_data(as_text=True)
    assert post(client, "/account/passkeys", {"name": "", "credential": "{}"}).status_code == 422
    anonymous = clean_app.test_client()
    assert anonymous.post("/login/passkey/options", headers={"X-CSRFToken": csrf_token(anonymous)}).status_code == 200
    answer = post(anonymous, "/login/passkey", {"credential": json.dumps({"id": "nope", "response": {}})})
    assert answer.status_code == 422 and "did not work here" in answer.get_data(as_text=True)
    assert db.session.scalar(select(Passkey)) is None


def test_options_need_the_csrf_token(clean_app, client):
    assert client.post("/login/passkey/options").status_code == 400


def test_one_member_cannot_rename_or_remove_anothers_passkey(clean_app, client):
    ada, bob = UserFactory(email="ada@example.org"), UserFactory(email="bob@example.org")
    db.session.commit()
    key = _passkey(ada)
    sign_in(client, bob)
    assert post(client, f"/account/passkeys/{key.id}/name", {"name": "Mine now"}).status_code == 404
    assert post(client, f"/account/passkeys/{key.id}/remove").status_code == 404
    db.session.expire_all()
    assert db.session.get(Passkey, key.id).name == "Phone"
    sign_in(client, ada)
    page = client.get("/account/passkeys").get_data(as_text=True)
    assert "Phone" in page and "Passkeys need JavaScript" in page  # the <noscript> note
    assert post(client, f"/account/passkeys/{key.id}/name", {"name": "x" * 61}).status_code == 422


def test_requiring_a_passkey_needs_one_and_keeps_the_last_one(clean_app):
    ada = UserFactory(email="ada@example.org")
    db.session.commit()
    with pytest.raises(Invalid):
        passkeys.set_required(user_id=ada.id, required=True)
    key = _passkey(ada)
    passkeys.set_required(user_id=ada.id, required=True)
    with pytest.raises(NotAllowed):
        passkeys.remove(user_id=ada.id, passkey_id=key.id)
    second = _passkey(ada, "Laptop")
    passkeys.remove(user_id=ada.id, passkey_id=key.id)
    assert [k.name for k in passkeys.passkeys_of(ada.id)] == [second.name]


def test_a_required_passkey_is_the_second_factor_a_strict_group_asks_of_its_admins(clean_app, client, outbox):
    group = GroupFactory(handle="board", privacy="closed", admins_require_2fa=True)
    admin = member(group, role="admin", email="ada@example.org", name="Ada")
    db.session.commit()
    assert not policy.is_admin(admin, group)
    _passkey(admin)
    passkeys.set_required(user_id=admin.id, required=True)
    db.session.expire_all()
    from flask import g

    g.pop("_passkey_required", None)
    assert policy.has_second_factor(admin) and policy.is_admin(admin, group)
    with pytest.raises(NotAllowed, match="requires a second factor"):
        passkeys.set_required(user_id=admin.id, required=False)
    assert db.session.get(PasskeyPreference, admin.id).passkey_required
    # And the emailed link alone now stops at the second-factor step, which offers only the passkey.
    post(client, "/login", {"email": "ada@example.org"})
    link = next(link for link in outbox.last_to("ada@example.org").links() if "/login/link/" in link)
    answer = post(client, link.split("localhost", 1)[1])
    assert answer.status_code == 303 and answer.headers["Location"] == "/login/2fa"
    page = client.get("/login/2fa").get_data(as_text=True)
    assert "Use your passkey" in page and "authenticator app shows" not in page
    assert client.get("/account").status_code in (302, 303)


def test_the_personal_export_lists_passkeys_and_erasing_the_account_removes_them(clean_app):
    from app.stewardship import personal

    ada = UserFactory(email="ada@example.org")
    db.session.commit()
    _passkey(ada)
    assert [k["name"] for k in personal.personal_export(ada.id)["passkeys"]] == ["Phone"]
    personal.delete_account(user_id=ada.id, confirm="DELETE")
    assert db.session.scalar(select(Passkey)) is None
