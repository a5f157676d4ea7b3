#!/usr/bin/env python3
"""Send SIP requests to a server and count the answers (bounded in count and time).

    sip_client.py udp|tcp HOST PORT METHOD COUNT [--expect-responses]

Each request is one datagram (UDP) or one segment (TCP, one connection, TCP_NODELAY, waiting for
each answer before the next request, so every message is its own segment). Prints
"sent=N received=M" and exits 1 when an expected answer did not come within 2 s.
"""
import socket
import sys
import uuid


def request(method, host, port, transport, local):
    branch = "z9hG4bK" + uuid.uuid4().hex[:16]
    if ":" in host:
        host = f"[{host}]"
    local = (f"[{local[0]}]" if ":" in local[0] else local[0], local[1])
    return (
        f"{method} sip:pbx@{host}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport.upper()} {local[0]}:{local[1]};branch={branch};rport\r\n"
        f"Max-Forwards: 70\r\n"
        f"From: <sip:phone@{local[0]}>;tag={uuid.uuid4().hex[:8]}\r\n"
        f"To: <sip:pbx@{host}>\r\n"
        f"Call-ID: {uuid.uuid4().hex}@{local[0]}\r\n"
        f"CSeq: 1 {method}\r\n"
        f"Contact: <sip:phone@{local[0]}:{local[1]}>\r\n"
        f"Expires: 60\r\n"
        f"Content-Length: 0\r\n\r\n"
    ).encode()


def main():
    transport, host, port, method, count = sys.argv[1:6]
    port, count = int(port), int(count)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    received = 0
    if transport == "udp":
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.connect((host, port))
    else:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.connect((host, port))
    s.settimeout(2.0)
    local = s.getsockname()
    for _ in range(count):
        s.send(request(method, host, port, transport, local))
        try:
            data = s.recv(65535)
        except socket.timeout:
            break
        if data.startswith(b"SIP/2.0 "):
            received += 1
    s.close()
    print(f"sent={count} received={received}")
    sys.exit(0 if received == count else 1)


if __name__ == "__main__":
    main()
