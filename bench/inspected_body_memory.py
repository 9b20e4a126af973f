#!/usr/bin/env python3
"""Memory of in-flight inspected bodies: opens N mutual-TLS connections to a running gateway,
sends each a POST /containers/create head with Content-Length SIZE and all but the last byte of
the body (so the gateway holds every body, waiting for the rest), then prints the gateway's RSS
and how many bodies it held: past limits.max_inspected_total, the others are refused (503).

usage: bench/inspected_body_memory.py PORT GATEWAY_PID CLIENT_BUNDLE_DIR [N] [SIZE]
The client's certificate must map to a profile that allows POST /containers/create.
"""
import socket
import ssl
import sys
import time


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])
    return 0


def main():
    port, pid, bundle = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 200
    size = int(sys.argv[5]) if len(sys.argv) > 5 else 1 << 20
    ctx = ssl.create_default_context(cafile=f"{bundle}/ca.pem")
    ctx.load_cert_chain(f"{bundle}/cert.pem", f"{bundle}/key.pem")
    before = rss_kib(pid)
    head = (
        b"POST /v1.41/containers/create HTTP/1.1\r\nHost: gateway\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % size
    )
    body = b'{"Image":"x","Env":["' + b"a" * (size - 22)
    held, refused = [], 0
    for _ in range(n):
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
        try:
            s.sendall(head)
            s.sendall(body)
            held.append(s)
        except OSError:
            refused += 1
            s.close()
    time.sleep(3)
    # A refused body is answered at once; one still held has no answer yet.
    kept = 0
    for s in held:
        s.setblocking(False)
        try:
            answered = s.recv(64)
        except (ssl.SSLWantReadError, BlockingIOError):
            kept += 1
            continue
        except OSError:
            answered = b""
        refused += 1 if answered.startswith(b"HTTP/1.1 503") or not answered else 0
    after = rss_kib(pid)
    print(f"gateway RSS: {before} KiB idle, {after} KiB with {n} bodies of {len(body)} bytes sent")
    print(f"held: {kept}, refused: {refused}")
    if kept:
        print(f"per held body: {(after - before) / kept:.0f} KiB")


if __name__ == "__main__":
    main()
