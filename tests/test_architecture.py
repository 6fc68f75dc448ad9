"""The tree keeps the shape docs/ARCHITECTURE.md draws: no import cycles, jobs enqueued by one
dispatcher, the domain never reaching into the inbound mail package, one home per rule.

Modules are found on disk and their imports read with `ast` (every import, also those inside
functions), so a lazy import cannot hide a cycle.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "mail")

# The wiring: the only modules that put jobs on the queue or start the inbound mail server.
ENQUEUERS = {"app.dispatch", "app.schedule"}
MAY_IMPORT_MAIL = {"app.jobs", "app.cli", "app.background"}  # the inbound job, `quorum smtp`, `quorum background`


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


MODULES = _modules()


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _known(name: str) -> str | None:
    while name and name not in MODULES:
        if "." not in name:
            return None
        name = name.rsplit(".", 1)[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, (path, is_package) in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, is_package, node.level, node.module)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
            for target in targets:
                known = _known(target)
                if known and known != module:
                    graph[module].add(known)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def package_of(module: str) -> str:
    """`mail`, or the first level under `app` (app.services, app.web, app.policy, …)."""
    parts = module.split(".")
    return parts[0] if parts[0] != "app" else ".".join(parts[:2])


def test_no_module_imports_itself_round_a_ring():
    assert cycles(import_graph()) == []


def test_no_package_imports_another_that_imports_it_back():
    packages: dict[str, set[str]] = {}
    for module, targets in import_graph().items():
        packages.setdefault(package_of(module), set())
        for target in targets:
            if package_of(target) != package_of(module):
                packages[package_of(module)].add(package_of(target))
    assert cycles(packages) == []


def test_the_cycle_finder_finds_a_ring():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_only_the_dispatcher_and_the_scheduler_import_the_jobs():
    importers = {module for module, targets in import_graph().items() if "app.jobs" in targets}
    assert importers <= ENQUEUERS, importers - ENQUEUERS


def test_the_domain_never_imports_the_inbound_mail_package():
    reaching = {module for module, targets in import_graph().items()
                if module.startswith("app") and any(t.startswith("mail") for t in targets)}
    assert reaching <= MAY_IMPORT_MAIL, reaching - MAY_IMPORT_MAIL


def test_nothing_but_the_dispatcher_enqueues_a_job():
    offenders = []
    for module, (path, _) in MODULES.items():
        if module in ENQUEUERS | {"app.jobs", "app.queue"}:
            continue
        text = path.read_text()
        if re.search(r"\.enqueue(_many|_call)?\(|\benqueue\(", text):
            offenders.append(module)
    assert offenders == []


@pytest.mark.parametrize("module", ["mail.server"])
def test_the_smtp_server_imports_only_what_it_needs(module):
    graph = import_graph()
    assert not any(t in graph[module] for t in ("mail.pipeline", "mail.actions", "mail.commands"))


def _source_files(*folders: str, suffixes=(".py", ".html", ".txt")) -> list[Path]:
    return [path for folder in folders for path in (REPO / folder).rglob("*") if path.suffix in suffixes]


def test_nothing_outside_the_poll_types_switches_on_a_poll_type_name():
    switch = re.compile(r"poll_type\s*(==|!=)|poll_type\s+(not\s+)?in\s*[(\[{'\"]|\b(kind|t|type)\.name\s*(==|!=|in\b)")
    offenders = [f"{path.relative_to(REPO)}:{n}" for path in _source_files("app", "mail", "templates")
                 if "app/polls/" not in str(path)
                 for n, line in enumerate(path.read_text().splitlines(), 1) if switch.search(line)]
    assert offenders == []


def test_every_poll_type_names_templates_that_exist_and_every_vote_template_is_used():
    from app.polls import POLL_TYPES

    templates = REPO / "templates"
    named = set()
    for kind in POLL_TYPES.values():
        named.add(kind.vote_widget)
        assert (templates / kind.vote_widget).is_file(), kind.name
        if kind.settings_form:
            named.add(kind.settings_form)
            assert (templates / kind.settings_form).is_file(), kind.name
    for folder in ("polls/vote", "polls/settings"):
        for path in (templates / folder).glob("*.html"):
            assert f"{folder}/{path.name}" in named, path


MAIL_HEADERS = ("From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References", "Reply-To",
                "Auto-Submitted", "X-Auto-Response-Suppress", "Precedence", "List-Id", "List-Archive",
                "List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version", "Content-Type",
                "Content-Transfer-Encoding", "Sender", "Return-Path")


def test_no_mail_header_is_written_outside_the_header_module():
    """app/ sends mail (mail/ only reads it, and can send only through app.email.messages)."""
    names = "|".join(re.escape(name) for name in MAIL_HEADERS)
    # Writing a header: msg["Name"] = …, ("Name", value), {"Name": value}, or a "Name: value" line;
    # reading one with a default (`headers.get("From", "")`) is not writing it.
    writes = re.compile(rf"""\[\s*["']({names})["']\s*\]\s*=|(?<!get)\(\s*["']({names})["']\s*,|["']({names})["']\s*:|["']({names}): """)
    offenders = [f"{path.relative_to(REPO)}:{n}: {line.strip()}"
                 for path in _source_files("app", suffixes=(".py",))
                 if path != REPO / "app/email/headers.py"
                 for n, line in enumerate(path.read_text().splitlines(), 1) if writes.search(line)]
    assert offenders == []


def test_every_mail_kind_has_one_named_function_and_only_that_function_queues_mail():
    from app.email import messages
    from app.email.notifications import THREADING

    kinds = {path.name for path in (REPO / "templates/email").iterdir() if path.is_dir()}
    named = {name for name in kinds if callable(getattr(messages, name, None))}
    assert kinds == named | set(THREADING), kinds - named - set(THREADING)
    queueing = [module for module, (path, _) in MODULES.items()
                if module not in ("app.email.messages", "app.email.outbox")
                and re.search(r"\bqueue_messages?\(", path.read_text())]
    assert queueing == []


def test_a_members_mail_volume_is_written_only_by_the_subscriptions_service():
    writes = re.compile(r"\.volume\s*=[^=]|values\([^)]*\bvolume\s*=")
    offenders = [f"{path.relative_to(REPO)}:{n}" for path in _source_files("app", "mail", suffixes=(".py",))
                 if path != REPO / "app/services/subscriptions.py"
                 for n, line in enumerate(path.read_text().splitlines(), 1) if writes.search(line)]
    assert offenders == []


def test_time_zones_are_looked_up_in_one_place():
    lookups = re.compile(r"\bZoneInfo\(|available_timezones\(")
    offenders = [f"{path.relative_to(REPO)}:{n}" for path in _source_files("app", "mail", suffixes=(".py",))
                 if path != REPO / "app/timezones.py"
                 for n, line in enumerate(path.read_text().splitlines(), 1) if lookups.search(line)]
    assert offenders == []


def test_an_unknown_time_zone_reads_as_utc_and_is_named_so():
    from datetime import datetime, timezone

    from app import timezones

    moment = datetime(2026, 12, 5, 7, 0, tzinfo=timezone.utc)
    assert timezones.local_time(moment, "Australia/Sydney") == "Sat 5 Dec 2026, 18:00 (Australia/Sydney)"
    assert timezones.local_time(moment, "Mars/Olympus_Mons") == "Sat 5 Dec 2026, 07:00 (UTC)"
    assert timezones.local_time(moment, "../../etc/passwd").endswith("(UTC)")
    assert not timezones.is_known("") and timezones.is_known("Europe/Berlin")


def test_views_load_through_the_services_and_never_commit():
    """app/web/ parses, calls a service, renders: no queries of its own, no commits or rollbacks (the health check
    excepted: it asks the database whether it answers)."""
    offenders = [f"{path.relative_to(REPO)}:{n}: {line.strip()}"
                 for path in _source_files("app/web", suffixes=(".py",)) if path.name != "main.py"
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if re.search(r"db\.session\.(get|scalar|scalars|execute|commit|rollback|query|add)\b|\bselect\(", line)]
    assert offenders == []
