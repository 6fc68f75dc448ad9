"""The machine, the targets from PRODUCT.md, the terminal table and bench/results.json."""
from __future__ import annotations

import json
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

KB = 1024
PAGES = ("dashboard", "group", "thread_50", "thread_200", "post_comment")


def machine() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kb = 0
    return {
        "cores": os.cpu_count(), "cpu_model": model, "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": sys.version.split()[0], "platform": platform.platform(), "hostname": platform.node(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _target(name: str, backend: str, value, limit: str, passed: bool | None, note: str = "") -> dict:
    return {"target": name, "backend": backend, "value": value, "limit": limit,
            "result": "n/a" if passed is None else ("pass" if passed else "FAIL"), "note": note}


def evaluate(results: dict) -> list[dict]:
    """Pass/fail against each quality target in PRODUCT.md, for every backend measured."""
    out = []
    for backend, r in results.get("backends", {}).items():
        pages = r.get("pages", {})
        at10 = pages.get("by_concurrency", {}).get("10", {})
        for page in ("thread_50", "thread_200"):
            row = at10.get(page)
            if row and not row.get("requests"):
                out.append(_target(f"{page} at 10 clients", backend, "0 req/s", "≥ 0.5×, p95 < 50 ms", False,
                                   f"no request finished within the window ({row.get('unfinished', 0)} cut off)"))
            elif row and "ratio" in row:
                out.append(_target(f"{page} req/s vs baseline at 10 clients", backend, round(row["ratio"], 2), "≥ 0.5×",
                                   row["ratio"] >= 0.5))
                out.append(_target(f"{page} p95 at 10 clients", backend, f"{row['p95_ms']:.1f} ms", "< 50 ms",
                                   row["p95_ms"] < 50))
            else:
                out.append(_target(f"{page} at 10 clients", backend, None, "≥ 0.5×, p95 < 50 ms", None,
                                   pages.get("unavailable", {}).get(page) or pages.get("why", "not measured")))
        weight = r.get("weight", {})
        if weight.get("available"):
            out.append(_target("thread (50 comments) first visit", backend, f"{weight['first_visit_bytes'] / KB:.1f} KB",
                               "≤ 32 KB", weight["first_visit_bytes"] <= 32 * KB))
            out.append(_target("thread (50 comments) repeat visit", backend, f"{weight['repeat_visit_bytes'] / KB:.1f} KB",
                               "≤ 8 KB", weight["repeat_visit_bytes"] <= 8 * KB))
        else:
            out.append(_target("page weight", backend, None, "≤ 32 KB / 8 KB", None, weight.get("why", "not measured")))
        queries = r.get("queries", {})
        if queries.get("available"):
            a, b = queries["thread_10"]["queries"], queries["thread_200"]["queries"]
            out.append(_target("queries: thread 10 vs 200 comments", backend, f"{a} vs {b}", "equal", a == b))
        else:
            out.append(_target("queries per thread page", backend, None, "equal", None, queries.get("why", "not measured")))
        mail = r.get("mail", {})
        if mail.get("available"):
            out.append(_target("inbound replies/s vs bare aiosmtpd", backend, round(mail["ratio"], 3), "≥ 0.2×",
                               mail["ratio"] >= 0.2 and mail["quorum"]["complete"],
                               "" if mail["quorum"]["complete"] else "not every reply became a comment"))
        else:
            out.append(_target("inbound replies/s", backend, None, "≥ 0.2×", None, mail.get("why", "not measured")))
        delivery = r.get("delivery", {})
        if delivery.get("available"):
            out.append(_target("delivery: copies/s to the relay (40 members)", backend,
                               f"{delivery['copies_per_second']:.0f}/s", "≥ 146/s",
                               delivery["copies_per_second"] >= 146 and delivery["complete"],
                               "2× the 73 copies/s of Mailman 3 personalised, as the review measured it"
                               + ("" if delivery["complete"] else "; not every copy arrived")))
        else:
            out.append(_target("delivery to the relay", backend, None, "≥ 146/s", None, delivery.get("why", "not measured")))
        personalized = results.get("peers", {}).get("mailman", {}).get("personalized", {})
        if delivery.get("available") and personalized.get("complete") and personalized.get("copies_per_second"):
            ratio = delivery["copies_per_second"] / personalized["copies_per_second"]
            out.append(_target("delivery vs Mailman 3 personalised, this run", backend, f"{ratio:.2f}×", "≥ 2×",
                               ratio >= 2 and delivery["complete"],
                               f"{delivery['copies_per_second']:.0f} vs {personalized['copies_per_second']:.0f} copies/s"))
        memory = r.get("memory", {})
        if memory.get("available"):
            out.append(_target("idle stack resident memory", backend, f"{memory['total_mb']:.0f} MB", "< 250 MB",
                               memory["total_mb"] < 250, memory.get("note", "")))
        else:
            out.append(_target("idle stack memory", backend, None, "< 250 MB", None, memory.get("why", "not measured")))
        digests = r.get("digests", {})
        if digests.get("available"):
            big = digests["runs"][-1]
            out.append(_target(f"digests for {big['members']:,} members", backend, f"{big['seconds']:.1f} s", "< 60 s"
                               if big["members"] >= 10000 else "< 60 s at 10,000", big["seconds"] < 60 if big["members"] >= 10000 else None,
                               "" if big["members"] >= 10000 else "quick run: too small to judge"))
            out.append(_target("digest time ratio (linear ≈ size ratio)", backend, round(digests["ratio"], 1),
                               f"≤ 1.5 × {digests['size_ratio']:g}", digests["ratio"] <= 1.5 * digests["size_ratio"]))
        else:
            out.append(_target("digests", backend, None, "< 60 s, linear", None, digests.get("why", "not measured")))
    return out


def _peer(results: dict, name: str) -> tuple[dict, str]:
    """A peer's figures, or why there are none ("peer not available: …")."""
    peer = results.get("peers", {}).get(name)
    if not peer:
        return {}, "peer not measured"
    if not peer.get("available"):
        return {}, f"peer not available: {peer.get('why', 'unknown')}"
    return peer, ""


def _load(row: dict | None) -> str | None:
    if not row:
        return None
    if not row.get("requests"):
        return "0 req/s: no request finished within the window"
    return f"{row['rps']:.1f} req/s, p95 {row['p95_ms']:.0f} ms"


def _row(figure: str, backend: str, quorum, peer, baseline, ratio: float | None, note: str = "") -> dict:
    name = "Mailman 3" if "Mailman" in figure else "FlaskBB"
    return {"figure": figure, "backend": backend, "quorum": quorum, "peer_name": name, "peer": peer, "baseline": baseline,
            "ratio": None if ratio is None else round(ratio, 2), "note": note}


def _ratio(a, b) -> float | None:
    return a / b if a and b else None


def peer_rows(results: dict) -> list[dict]:
    """Each Quorum figure beside the peer's and the bare baseline of the same run. ratio = Quorum ÷ peer
    (for memory, less is better)."""
    out = []
    flaskbb, fb_why = _peer(results, "flaskbb")
    mailman, mm_why = _peer(results, "mailman")
    for backend, r in results.get("backends", {}).items():
        at10 = r.get("pages", {}).get("by_concurrency", {}).get("10", {})
        base = at10.get("baseline")
        for size in ("50", "200"):
            mine, theirs = at10.get(f"thread_{size}"), flaskbb.get(f"topic_{size}")
            out.append(_row(f"thread {size} comments, 10 clients vs FlaskBB topic {size} posts", backend, _load(mine),
                            _load(theirs) or fb_why or "not measured", _load(base),
                            _ratio(mine and mine.get("rps"), theirs and theirs.get("rps"))))
        weight, fb_weight = r.get("weight", {}), flaskbb.get("weight", {})
        out.append(_row("first visit, thread of 50 comments vs FlaskBB topic of 50 posts", backend,
                        f"{weight['first_visit_bytes'] / KB:.1f} KB" if weight.get("available") else None,
                        f"{fb_weight['first_visit_bytes'] / KB:.0f} KB" if fb_weight.get("available") else fb_why or "not measured",
                        None, _ratio(weight.get("first_visit_bytes"), fb_weight.get("first_visit_bytes")),
                        f"FlaskBB also links {len(fb_weight['off_site_not_counted'])} files on other hosts, not counted"
                        if fb_weight.get("off_site_not_counted") else ""))
        delivery = r.get("delivery", {})
        mine = delivery.get("copies_per_second") if delivery.get("available") else None
        relay = f"bare relay {delivery['baseline']['copies_per_second']:.0f} copies/s" if mine else None
        for mode, label in (("personalized", "personalised (one copy per member)"), ("bulk", "bulk (default)")):
            theirs = mailman.get(mode, {})
            peer = (f"{theirs['posts_per_second']:.2f} posts/s = {theirs['copies_per_second']:.0f} copies/s"
                    + ("" if theirs.get("complete") else " (incomplete)")) if theirs else mm_why or "not measured"
            note = "target ≥ 2×" if mode == "personalized" else ""
            out.append(_row(f"delivery copies/s vs Mailman 3 {label}", backend,
                            f"{delivery['replies_per_second']:.2f} replies/s = {mine:.0f} copies/s" if mine else None,
                            peer, relay, _ratio(mine, theirs.get("copies_per_second")), note))
        mail, lmtp = r.get("mail", {}), mailman.get("lmtp_inbound", {})
        mine = mail["quorum"] if mail.get("available") else None
        out.append(_row("inbound replies/s vs Mailman 3 LMTP accepted/s", backend,
                        f"{mine['per_second']:.1f}/s committed (SMTP accept {mine['accepted_per_second']:.1f}/s)" if mine else None,
                        f"{lmtp['accepted_per_second']:.1f}/s accepted" if lmtp else mm_why or "not measured",
                        f"bare aiosmtpd {mail['baseline']['accepted_per_second']:.1f}/s" if mine else None,
                        _ratio(mine and mine["accepted_per_second"], lmtp.get("accepted_per_second")),
                        "ratio of the accept rates"))
        memory = r.get("memory", {})
        mm_memory, fb_memory = mailman.get("memory", {}), flaskbb.get("memory", {})
        whole = f"{memory['total_mb']:.0f} MB RSS ({memory.get('total_pss_mb', 0):.0f} MB PSS)" if memory.get("available") else None
        out.append(_row("idle memory, whole stack vs Mailman 3 (all runners)", backend, whole,
                        f"{mm_memory['total_mb']:.0f} MB RSS ({mm_memory['total_pss_mb']:.0f} MB PSS), "
                        f"{mm_memory['processes']} processes" if mm_memory else mm_why or "not measured",
                        None, _ratio(memory.get("total_mb"), mm_memory.get("total_mb")), "less is better"))
        web = memory.get("parts", {}).get("web", {}) if memory.get("available") else {}
        out.append(_row("idle memory, web alone vs FlaskBB web", backend,
                        f"{web['mb']:.0f} MB RSS ({web.get('pss_mb', 0):.0f} MB PSS)" if web.get("mb") else None,
                        f"{fb_memory['total_mb']:.0f} MB RSS ({fb_memory['total_pss_mb']:.0f} MB PSS)" if fb_memory
                        else fb_why or "not measured", None, _ratio(web.get("mb"), fb_memory.get("total_mb")),
                        "less is better"))
    return out


def _fmt(value, width: int) -> str:
    return str(value if value is not None else "—")[:width].ljust(width)


def table(results: dict) -> str:
    lines = []
    m = results["machine"]
    lines.append(f"Quorum bench — {m['date']} — {m['cores']} cores, {m['cpu_model']}, Python {m['python']}, "
                 f"load at start {m['load_average_at_start']}" + (" — QUICK" if results.get("quick") else ""))
    for backend, r in results.get("backends", {}).items():
        lines.append("")
        seed = r.get("seed", {})
        lines.append(f"== {backend} ==  dataset: {seed.get('rows', {}).get('users', '?')} members, "
                     f"{seed.get('rows', {}).get('comments', '?')} comments, seeded in {seed.get('seconds', 0):.1f} s")
        pages = r.get("pages", {})
        if pages.get("by_concurrency"):
            lines.append(f"  {'page':<14}{'clients':>8}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'× base':>8}{'errors':>8}")
            notes: list[str] = []
            for conc, rows in pages["by_concurrency"].items():
                for name in ("baseline", *PAGES):
                    row = rows.get(name)
                    if not row:
                        continue
                    if row.get("last_server_error"):
                        notes.append(f"  {name} c={conc}: {row['errors']} errors, last: {row['last_server_error'][:150]}")
                    ratio = f"{row['ratio']:.2f}" if "ratio" in row else ""
                    lines.append(f"  {name:<14}{conc:>8}{row['rps']:>9.1f}{row['p50_ms']:>9.1f}{row['p95_ms']:>9.1f}"
                                 f"{row['p99_ms']:>9.1f}{ratio:>8}{row['errors']:>8}")
            lines.extend(notes)
            for name, why in pages.get("unavailable", {}).items():
                lines.append(f"  {name:<14} not available yet: {why}")
        elif pages:
            lines.append(f"  pages: not available yet: {pages.get('why')}")
        weight = r.get("weight", {})
        if weight.get("available"):
            lines.append(f"  weight (thread, 50 comments): first visit {weight['first_visit_bytes'] / KB:.1f} KB "
                         f"({len(weight['first_visit'])} files), repeat visit {weight['repeat_visit_bytes'] / KB:.1f} KB")
        queries = r.get("queries", {})
        if queries.get("available"):
            lines.append(f"  queries per thread page: {queries['thread_10']['queries']} (10 comments), "
                         f"{queries['thread_200']['queries']} (200 comments)")
        mail = r.get("mail", {})
        if mail.get("available"):
            q, b = mail["quorum"], mail["baseline"]
            lines.append(f"  inbound mail ({mail['messages']} replies, {mail['clients']} clients): "
                         f"Quorum {q['per_second']:.1f}/s to committed comment (SMTP accept {q['accepted_per_second']:.1f}/s), "
                         f"baseline {b['accepted_per_second']:.1f}/s, ratio {mail['ratio']:.3f}")
            jobs = mail.get("worker_jobs_whole_run", {})
            if jobs:
                lines.append("    worker job times: " + ", ".join(f"{f.rsplit('.', 1)[-1]} {j['jobs']}× {j['mean_ms']:.0f} ms"
                                                             for f, j in jobs.items()))
            if mail.get("why_incomplete"):
                lines.append(f"    incomplete: {mail['why_incomplete']}")
        delivery = r.get("delivery", {})
        if delivery.get("available"):
            b = delivery["baseline"]
            lines.append(f"  delivery ({delivery['replies']} replies to {delivery['group_members']} members): "
                         f"{delivery['replies_per_second']:.2f} replies/s = {delivery['copies_per_second']:.0f} copies/s "
                         f"at the relay over {delivery['relay_connections']} connections; bare smtplib to the same relay "
                         f"{b['copies_per_second']:.0f}/s, ratio {delivery['ratio']:.2f}")
            if delivery.get("why_incomplete"):
                lines.append(f"    incomplete: {delivery['why_incomplete']}")
        memory = r.get("memory", {})
        if memory.get("available"):
            parts = ", ".join(f"{k} {v['mb']:.0f} MB" for k, v in memory["parts"].items())
            lines.append(f"  idle memory: {memory['total_mb']:.0f} MB resident ({parts}); "
                         f"{memory.get('total_pss_mb', 0):.0f} MB proportional (shared pages counted once)")
        digests = r.get("digests", {})
        if digests.get("available"):
            runs = ", ".join(f"{d['members']:,} members {d['seconds']:.2f} s" for d in digests["runs"])
            lines.append(f"  digests: {runs}; ratio {digests['ratio']:.1f}")
        for key in ("queries", "weight", "mail", "delivery", "memory", "digests"):
            part = r.get(key, {})
            if part and not part.get("available"):
                lines.append(f"  {key}: not available yet: {part.get('why')}")
    rows = results.get("peers", {}).get("comparison") or []
    if rows:
        lines.append("")
        lines.append(f"  peers (scratch venvs in {results['peers'].get('dir', '?')}); × = Quorum ÷ peer")
        for row in rows:
            ratio = f"{row['ratio']:.2f}×" if row["ratio"] is not None else "—"
            lines.append(f"  {row['figure']} [{row['backend']}]" + (f"  ({row['note']})" if row["note"] else ""))
            lines.append(f"      Quorum {row['quorum'] or 'not measured'} | {row['peer_name']} {row['peer']} | "
                         f"baseline {row['baseline'] or '—'} | {ratio}")
    lines.append("")
    lines.append(f"  {'target':<48}{'backend':<12}{'value':<14}{'limit':<18}result")
    for t in results.get("targets", []):
        lines.append(f"  {_fmt(t['target'], 47)} {_fmt(t['backend'], 11)} {_fmt(t['value'], 13)} {_fmt(t['limit'], 17)} "
                     f"{t['result']}" + (f"  ({t['note']})" if t["note"] else ""))
    return "\n".join(lines)


def write(results: dict, path: Path) -> None:
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
