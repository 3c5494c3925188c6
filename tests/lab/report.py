"""Markdown for a grid run: a kind-by-kind matrix (as tailscale's TestGrid prints) and one
detail row per pair."""


def _short(c):
    ms = c.get("connect_wall_ms")
    text = c["outcome"] + (" %d ms" % ms if ms is not None else "")
    return text if c["ok"] else "**%s** ✗ (want %s)" % (text, c["expected"])


def _path(p):
    if not p:
        return ""
    s = "%s → %s" % (p["local"] or "?", p["remote"] or "?")
    return s + (" (%s)" % p["via"] if p.get("via") else "")


def _data(c):
    parts = []
    for key in ("a_to_b", "b_to_a"):
        d = c.get(key)
        parts.append("%d ms/%d" % (d["ms"], d["attempts"]) if d else "–")
    return " · ".join(parts)


def _cell_md(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(meta, cells, kinds):
    ok = sum(1 for c in cells if c["ok"])
    out = ["## NAT grid, %d%% UDP loss: %d/%d cells as expected (%.0f s)"
           % (meta["loss_percent"], ok, len(cells), meta["seconds"]), ""]
    lacks = []
    if meta.get("agent_lacks_flags"):
        lacks.append("peerlink-agent lacks %s" % " ".join(meta["agent_lacks_flags"]))
    if meta.get("rendezvous_lacks_flags"):
        lacks.append("peerlink-rendezvous lacks %s" % " ".join(meta["rendezvous_lacks_flags"]))
    if lacks:
        out += ["Binaries predate the contract: %s (run without them)." % "; ".join(lacks), ""]
    by_pair = {(c["a"], c["b"]): c for c in cells}
    out.append("| A \\ B | " + " | ".join(kinds) + " |")
    out.append("|---" * (len(kinds) + 1) + "|")
    for i, a in enumerate(kinds):
        row = []
        for j, b in enumerate(kinds):
            c = by_pair.get((a, b)) if j >= i else None
            row.append(_short(c) if c else "")
        out.append("| **%s** | %s |" % (a, " | ".join(row)))
    same = by_pair.get(("same-lan", "same-lan"))
    if same:
        out += ["", "same-lan (both behind one home NAT): %s" % _short(same)]
    out += ["", "| pair | expected | outcome | ok | Connect (ms) | agent connect_ms | RTT (ms) "
            "| A's selected path | B's selected path | data A→B · B→A (ms/sends) | notes |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in cells:
        pa, pb = c.get("path_a"), c.get("path_b")
        rtt = "%.1f" % (pa["rtt_us"] / 1000.0) if pa and pa.get("rtt_us") else ""
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % tuple(
            _cell_md(x) for x in (
                "%s × %s" % (c["a"], c["b"]), c["expected"], c["outcome"],
                "ok" if c["ok"] else "**FAIL**", c.get("connect_wall_ms", ""),
                pa["connect_ms"] if pa else "", rtt, _path(pa), _path(pb), _data(c),
                "; ".join(c["notes"]))))
    out.append("")
    return "\n".join(out)
