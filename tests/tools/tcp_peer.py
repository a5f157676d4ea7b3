#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A bounded TCP peer for the keepalive/timeout tests.

  tcp_peer.py serve PORT [--keepalive I,N,C|on] [--user-timeout MS] [--accept N]
                         [--send-on FILE] [--report-on FILE] [--deadline S]
  tcp_peer.py connect HOST PORT [--keepalive I,N,C] [--hold S] [--close-after S]
                         [--reset-after S] [--deadline S]

Every connection prints one line when established and one when it ends:
  accepted|connected LOCAL REMOTE keepalive=0|1 idle=S intvl=S cnt=N user_timeout=MS
  closed LOCAL REMOTE result=eof|ETIMEDOUT|EHOSTUNREACH|ECONNRESET|deadline|local t=EPOCH
"settings" lines (same fields) are printed each time --report-on FILE appears (then removed).
Everything ends by --deadline (default 30 s) at the latest.
"""
import argparse
import errno
import os
import select
import socket
import sys
import time


def settings(s):
    g = s.getsockopt
    return ("keepalive=%d idle=%d intvl=%d cnt=%d user_timeout=%d" % (
        g(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
        g(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
        g(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
        g(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
        g(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)))


def apply(s, args):
    if args.keepalive == "on":  # SO_KEEPALIVE only: the namespace's sysctls apply
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    elif args.keepalive:
        idle, intvl, cnt = (int(x) for x in args.keepalive.split(","))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, intvl)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, cnt)
    if args.user_timeout:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, args.user_timeout)


def ends(s):
    return "%s:%d %s:%d" % (s.getsockname()[:2] + s.getpeername()[:2])


def say(line):
    print(line, flush=True)


def watch(conns, args, deadline, ls=None):
    """Wait for every connection to end (or the deadline); print how each ended. While @ls
    (listening) is given, also accept up to --accept connections."""
    sent = False
    start = time.time()
    accepted = 0
    while (conns or ls) and time.time() < deadline:
        if ls and select.select([ls], [], [], 0)[0]:
            s, _ = ls.accept()
            apply(s, args)
            conns[s] = ends(s)
            say("accepted %s %s" % (conns[s], settings(s)))
            accepted += 1
            if accepted == args.accept:
                ls.close()
                ls = None
        if args.send_on and not sent and os.path.exists(args.send_on):
            for s in conns:
                try:
                    s.send(b"x" * 1000)
                except OSError:
                    pass
            sent = True
        if args.report_on and os.path.exists(args.report_on):
            for s in conns:
                say("settings %s %s" % (conns[s], settings(s)))
            os.unlink(args.report_on)  # touch it again for another report
        if args.close_after and time.time() - start >= args.close_after:
            for s in list(conns):
                say("closed %s result=local t=%.3f" % (conns.pop(s), time.time()))
                if args.reset:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                s.close()
            break
        ready, _, _ = select.select(list(conns) + ([ls] if ls else []), [], [], 0.1)
        ready = [r for r in ready if r is not ls]
        for s in ready:
            try:
                data = s.recv(65536)
                if data:
                    continue
                result = "eof"
            except OSError as e:
                result = errno.errorcode.get(e.errno, str(e.errno))
            say("closed %s result=%s t=%.3f" % (conns.pop(s), result, time.time()))
            s.close()
    if ls:
        ls.close()
    for s in conns:
        say("closed %s result=deadline t=%.3f" % (conns[s], time.time()))
        s.close()


def serve(args):
    deadline = time.time() + args.deadline
    fam = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.bind, args.port))
    ls.listen(16)
    say("listening %d" % args.port)
    watch({}, args, deadline, ls)


def connect(args):
    deadline = time.time() + args.deadline
    s = socket.create_connection((args.host, args.port), timeout=5)
    s.settimeout(None)
    apply(s, args)
    conns = {s: ends(s)}
    say("connected %s %s" % (conns[s], settings(s)))
    watch(conns, args, min(deadline, time.time() + args.hold))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("serve", "connect"):
        q = sub.add_parser(name)
        if name == "connect":
            q.add_argument("host")
        q.add_argument("port", type=int)
        q.add_argument("--keepalive")
        q.add_argument("--user-timeout", type=int, default=0)
        q.add_argument("--send-on")
        q.add_argument("--report-on")
        q.add_argument("--close-after", type=float, default=0)
        q.add_argument("--reset", action="store_true", help="close with RST (SO_LINGER 0)")
        q.add_argument("--deadline", type=float, default=30)
        q.add_argument("--hold", type=float, default=30)
        q.add_argument("--accept", type=int, default=1)
        q.add_argument("--bind", default="0.0.0.0")
    args = p.parse_args()
    args.deadline = min(args.deadline, 120)
    (serve if args.cmd == "serve" else connect)(args)


if __name__ == "__main__":
    sys.exit(main())
