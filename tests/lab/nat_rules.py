"""nftables rulesets for the lab's NAT kinds (text for `nft -f -`). Interfaces are matched by
name ("wan" faces the internet, "lan" the hosts), so a ruleset can be loaded before its
interfaces exist. What each kind models is in README.md."""

# Endpoint-independent mapping. `snat to WAN` keeps the inside source port when it is free, so
# every destination sees the same WAN:port; the map remembers which inside host owns each port
# so that a packet arriving on WAN:port from anyone is sent to that host (endpoint-independent
# filtering). Without the dnat, a peer's probe that arrived first would create a conntrack
# entry for the NAT itself that takes the port, and the mapping would then differ by
# destination. `update` runs in a filter chain at mangle priority (before source NAT) on every
# packet, so the mapping is refreshed by traffic, not only by new flows. TCP gets the same
# treatment in a map of its own (RFC 5382 REQ-1: endpoint-independent mapping for TCP too), so
# a SYN to WAN:port reaches the inside host that owns that TCP port (the simultaneous open of
# TCP hole punching), and a UDP port and a TCP port of the same number may belong to two hosts.
_EIM = """
  map fullcone {{
    type inet_service : ipv4_addr . inet_service
    flags dynamic, timeout
    timeout 300s
  }}
  map fullcone_tcp {{
    type inet_service : ipv4_addr . inet_service
    flags dynamic, timeout
    timeout 300s
  }}
  chain prerouting {{
    type nat hook prerouting priority dstnat; policy accept;
    iifname "wan" dnat ip to udp dport map @fullcone
    iifname "wan" dnat ip to tcp dport map @fullcone_tcp
  }}
  chain remember {{
    type filter hook postrouting priority mangle; policy accept;
    oifname "wan" meta l4proto udp \
      update @fullcone {{ udp sport timeout 300s : ip saddr . udp sport }}
    oifname "wan" meta l4proto tcp \
      update @fullcone_tcp {{ tcp sport timeout 300s : ip saddr . tcp sport }}
  }}
  chain postrouting {{
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" snat ip to {wan_ip}
  }}
"""

# Endpoint-dependent mapping: a new random port for every new flow (destination). The empty
# prerouting nat chain must exist: replies are translated back by the nat hook it registers.
_SYMMETRIC = """
  chain prerouting {{
    type nat hook prerouting priority dstnat; policy accept;
  }}
  chain postrouting {{
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" masquerade random
  }}
"""

# Address-and-port-dependent filtering: from the internet, only replies to flows the inside
# opened get through.
_APDF = """
    iifname "wan" ct state established,related accept
    iifname "wan" counter drop
"""

_LOSS = """
    meta l4proto udp numgen random mod 100 < {loss} counter drop
"""

_TABLE = """
table ip lab {{
{mapping}
  chain forward {{
    type filter hook forward priority filter; policy accept;
{loss}{block}{filtering}  }}
  chain input {{
    type filter hook input priority filter; policy accept;
    # The NAT box serves nothing over UDP or TCP and, like most home routers, answers
    # unsolicited UDP and SYNs with silence (no ICMP, no reset), and an unconfirmed conntrack
    # entry holds no port.
    iifname "wan" meta l4proto {{ udp, tcp }} drop
  }}
}}
"""


def nat(kind, wan_ip, loss=0):
    """The ruleset of a NAT namespace of the given kind: easy (EIM + endpoint-independent
    filtering), home (EIM + APDF), hard (symmetric + APDF), udp-blocked (home that drops all
    forwarded UDP). TCP is mapped and filtered as UDP is. loss > 0 drops that percentage of
    forwarded UDP, both directions."""
    if kind not in ("easy", "home", "hard", "udp-blocked"):
        raise ValueError("no NAT recipe for %r" % kind)
    mapping = (_SYMMETRIC if kind == "hard" else _EIM).format(wan_ip=wan_ip)
    return _TABLE.format(
        mapping=mapping,
        loss=_LOSS.format(loss=int(loss)) if loss else "",
        block="    meta l4proto udp counter drop\n" if kind == "udp-blocked" else "",
        filtering="" if kind == "easy" else _APDF)


def ingress_loss(dev, loss, table):
    """Drops loss percent of the UDP arriving on dev (netdev ingress: the sender never sees an
    error, as on a real lossy link)."""
    return """
table netdev {table} {{
  chain in {{
    type filter hook ingress device "{dev}" priority filter; policy accept;
    ip protocol udp numgen random mod 100 < {loss} counter drop
  }}
}}
""".format(table=table, dev=dev, loss=int(loss))


def bridge_loss(loss):
    """Drops loss percent of the UDP bridged between the ports of a LAN bridge."""
    return """
table bridge lablan {{
  chain forward {{
    type filter hook forward priority filter; policy accept;
    ip protocol udp numgen random mod 100 < {loss} counter drop
  }}
}}
""".format(loss=int(loss))
