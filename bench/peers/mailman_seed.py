"""Run by the Mailman venv's Python, not the project's: `python mailman_seed.py CONFIG LIST MEMBERS MODE`.

Creates the list (or updates it, when run again) through Mailman's own Python API, as `mailman create`
and `mailman addmembers` do: MEMBERS verified members who post unmoderated (Mailman's default member
action, defer: the whole rule chain still runs), no welcome mail, and personalisation MODE (`individual`,
one copy per member as Quorum sends, or `none`, Mailman's default bulk delivery). Prints JSON.
"""
import json
import sys


def main(config_file: str, fqdn: str, members: int, mode: str) -> None:
    from mailman.core.initialize import initialize

    initialize(config_file)
    from mailman.app.lifecycle import create_list
    from mailman.config import config
    from mailman.interfaces.action import Action
    from mailman.interfaces.domain import IDomainManager
    from mailman.interfaces.listmanager import IListManager
    from mailman.interfaces.mailinglist import Personalization
    from mailman.interfaces.usermanager import IUserManager
    from mailman.utilities.datetime import now
    from zope.component import getUtility

    domain = fqdn.split("@", 1)[1]
    if getUtility(IDomainManager).get(domain) is None:
        getUtility(IDomainManager).add(domain)
    mlist = getUtility(IListManager).get(fqdn) or create_list(fqdn)
    mlist.send_welcome_message = False
    mlist.send_goodbye_message = False
    mlist.default_member_action = Action.defer  # members post unmoderated; the whole rule chain still runs
    mlist.personalize = Personalization.individual if mode == "individual" else Personalization.none
    users = getUtility(IUserManager)
    addresses = []
    for i in range(members):
        email = f"peer-member-{i}@bench.example"
        address = users.get_address(email) or users.create_address(email, f"Member {i}")
        address.verified_on = now()
        if mlist.members.get_member(email) is None:
            mlist.subscribe(address, send_welcome_message=False)
        addresses.append(email)
    config.db.commit()
    print(json.dumps({"posting_address": mlist.posting_address, "members": addresses,
                      "personalize": mlist.personalize.name}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
