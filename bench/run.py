#!/usr/bin/env python3
"""dockgate beside nginx, HAProxy, stunnel and the raw unix socket, measured in one run.

Started by bench/run.sh (which installs the references and builds in release mode). Everything
listens on loopback. A fast synthetic upstream on a unix socket (examples/upstream.rs: /_ping,
1 GiB from memory, and an upload sink that reads every byte before it answers) stands in for the
engine, so that the front is what is measured. Fronts and the
upstream are pinned to one CPU, the load generator (examples/loadgen.rs, one thread, mutual TLS,
no session resumption) to the other. Candidates are interleaved and every measure is repeated;
the table shows medians (and the spread), ratios against nginx and the raw socket, and the raw
samples go to a JSON file.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCKGATE = os.path.join(ROOT, "target/release/dockgate")
LOADGEN = os.path.join(ROOT, "target/release/examples/loadgen")
UPSTREAM = os.path.join(ROOT, "target/release/examples/upstream")
FLOOR = os.path.join(ROOT, "target/release/examples/handshake_floor")
CLK_TCK = os.sysconf("SC_CLK_TCK")
GIB = 1 << 30


def log(msg):
    print(f"==> {msg}", file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def wait_unix(path, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if os.path.exists(path):
            return True
        time.sleep(0.1)
    return False


def family(pid):
    """`pid` and its descendants (nginx workers, stunnel threads are in the same process)."""
    out = [pid]
    try:
        children = subprocess.run(
            ["pgrep", "-P", str(pid)], capture_output=True, text=True
        ).stdout.split()
    except OSError:
        children = []
    for c in children:
        out.extend(family(int(c)))
    return out


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (all threads)
        except OSError:
            pass
    return total / CLK_TCK


def pss_kib(pids):
    total = 0
    for pid in pids:
        try:
            for line in open(f"/proc/{pid}/smaps_rollup"):
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


class Candidate:
    def __init__(self, name, target, proc=None):
        self.name = name
        self.target = target
        self.proc = proc
        # The port of /metrics when the candidate exports metrics.
        self.metrics = None

    def pids(self):
        return family(self.proc.pid) if self.proc else []


def spawn(cmd, logfile, cpu="0", env=None):
    return subprocess.Popen(
        ["taskset", "-c", cpu] + cmd,
        stdout=open(logfile, "ab"),
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )


def setup(work, args, procs):
    pki = os.path.join(work, "pki")
    subprocess.run(
        [DOCKGATE, "certs", "init", "--dir", pki, "--client", "bench"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    ca, cert, key = (os.path.join(pki, f) for f in ("ca.pem", "server-cert.pem", "server-key.pem"))
    bundle = os.path.join(pki, "clients/bench")
    up_sock = os.path.join(work, "up.sock")
    # The synthetic engine (examples/upstream.rs): /_ping, /big from memory, /upload read whole.
    upstream = spawn([UPSTREAM, up_sock, str(args.bytes)], f"{work}/upstream.out")
    procs.append(upstream)
    if not wait_unix(up_sock):
        raise SystemExit("the synthetic upstream did not start")

    cands = [Candidate("raw unix socket", f"unix:{up_sock}")]

    # dockgate, with metrics off (the default) and on ([metrics], scraped every second while the
    # run lasts, as a Prometheus with a short interval would).
    for label, metrics in (("dockgate", None), ("dockgate+metrics", free_port())):
        port = free_port()
        tag = label.replace("+", "-")
        conf = os.path.join(work, f"{tag}.toml")
        metrics_table = f'[metrics]\naddress = "127.0.0.1:{metrics}"\n' if metrics else ""
        open(conf, "w").write(f"""
[listen]
addresses = ["127.0.0.1:{port}"]
[tls]
ca = "{ca}"
cert = "{cert}"
key = "{key}"
watch = false
[upstream]
socket = "{up_sock}"
[log]
format = "json"
level = "warn"
[limits]
max_connections = 11000
max_connections_per_identity = 11000
{metrics_table}
[[allow]]
cn = "bench"
access = "full"
""")
        p = spawn([DOCKGATE, "serve", "--config", conf], f"{work}/{tag}.log")
        procs.append(p)
        if not wait_port(port):
            raise SystemExit("dockgate did not start: see " + f"{work}/{tag}.log")
        cand = Candidate(label, f"tls://127.0.0.1:{port}", p)
        cand.metrics = metrics
        cands.append(cand)

    # nginx as the usual mutual-TLS front, with its default and with 64 KiB buffers.
    for label, extra in (("nginx", ""), ("nginx 64k", "proxy_buffer_size 64k; proxy_buffers 8 64k; proxy_busy_buffers_size 128k; client_body_buffer_size 64k;")):
        port = free_port()
        tag = label.replace(" ", "-")
        nconf = os.path.join(work, f"{tag}.conf")
        open(nconf, "w").write(f"""
user root;
worker_processes 1;
daemon off;
pid {work}/{tag}.pid;
error_log {work}/{tag}-error.log warn;
worker_rlimit_nofile 30000;
events {{ worker_connections 25000; }}
http {{
  access_log {work}/{tag}-access.log;
  upstream engine {{ server unix:{up_sock}; keepalive 64; keepalive_requests 100000000; }}
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_client_certificate {ca};
    ssl_verify_client on;
    ssl_protocols TLSv1.3;
    ssl_session_tickets off;
    ssl_session_cache off;
    keepalive_requests 100000000;
    keepalive_timeout 3600s;
    client_max_body_size 0;
    location / {{
      proxy_pass http://engine;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 3600s;
      {extra}
    }}
  }}
}}
""")
        p = spawn(["nginx", "-c", nconf, "-p", work, "-e", f"{work}/{tag}-error.log"], f"{work}/{tag}.out")
        procs.append(p)
        if not wait_port(port):
            raise SystemExit(f"{label} did not start: " + open(f"{work}/{tag}-error.log").read()[-500:])
        cands.append(Candidate(label, f"tls://127.0.0.1:{port}", p))

    # HAProxy in TCP mode.
    port = free_port()
    pem = os.path.join(work, "haproxy.pem")
    open(pem, "w").write(open(cert).read() + open(key).read())
    hconf = os.path.join(work, "haproxy.cfg")
    open(hconf, "w").write(f"""
global
  nbthread 1
  # Two descriptors per connection: HAProxy refuses to start when maxconn does not fit the
  # open-file limit (20,000 on the reference machines).
  maxconn 9900
  log stderr format raw local0 err
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
frontend front
  bind 127.0.0.1:{port} ssl crt {pem} ca-file {ca} verify required ssl-min-ver TLSv1.3 no-tls-tickets
  default_backend engine
backend engine
  server up unix@{up_sock}
""")
    p = spawn(["haproxy", "-db", "-f", hconf], f"{work}/haproxy.out")
    procs.append(p)
    if not wait_port(port):
        raise SystemExit("haproxy did not start: " + open(f"{work}/haproxy.out").read()[-500:])
    cands.append(Candidate("haproxy tcp", f"tls://127.0.0.1:{port}", p))

    # stunnel.
    port = free_port()
    sconf = os.path.join(work, "stunnel.conf")
    open(sconf, "w").write(f"""
foreground = yes
pid =
debug = err
[docker]
accept = 127.0.0.1:{port}
connect = {up_sock}
cert = {cert}
key = {key}
CAfile = {ca}
verifyChain = yes
requireCert = yes
sslVersionMin = TLSv1.3
options = NO_TICKET
sessionCacheSize = 1
""")
    p = spawn(["stunnel", sconf], f"{work}/stunnel.out")
    procs.append(p)
    if not wait_port(port):
        raise SystemExit("stunnel did not start: " + open(f"{work}/stunnel.out").read()[-500:])
    cands.append(Candidate("stunnel", f"tls://127.0.0.1:{port}", p))
    return cands, bundle


def loadgen(cand, bundle, mode, opts, timeout=600):
    cmd = ["taskset", "-c", "1", LOADGEN, mode, "--target", cand.target]
    if cand.target.startswith("tls://"):
        cmd += ["--cert-dir", bundle, "--group", "x25519"]
    cmd += opts
    before = cpu_seconds(cand.pids())
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    after = cpu_seconds(cand.pids())
    if out.returncode != 0:
        log(f"{cand.name} {mode}: loadgen failed: {out.stderr.strip()[-400:]}")
        return None
    result = json.loads(out.stdout)
    result["front_cpu_s"] = after - before
    return result


def idle_memory(cand, bundle, n, work):
    ready = os.path.join(work, f"ready-{n}")
    if os.path.exists(ready):
        os.unlink(ready)
    pids = cand.pids()
    time.sleep(0.5)
    before = pss_kib(pids)
    cmd = ["taskset", "-c", "1", LOADGEN, "idle", "--target", cand.target, "--cert-dir", bundle,
           "--conns", str(n), "--hold", "600", "--ready-file", ready]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and not os.path.exists(ready) and p.poll() is None:
        time.sleep(0.2)
    result = None
    if os.path.exists(ready):
        time.sleep(2)
        opened = int(open(ready).read().split()[1])
        after = pss_kib(cand.pids())
        # Still answering with every connection held.
        ping = loadgen(cand, bundle, "keepalive", ["--conns", "1", "--duration", "1", "--path", "/_ping"])
        result = {
            "conns": n,
            "opened": opened,
            "pss_before_kib": before,
            "pss_after_kib": after,
            "kib_per_conn": (after - before) / max(opened, 1),
            "answers_while_held": bool(ping and ping.get("requests", 0) > 0),
        }
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
    time.sleep(2)  # let the front close them
    return result


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread(xs):
    xs = [x for x in xs if x is not None]
    return (min(xs), max(xs)) if xs else (None, None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--bytes", type=int, default=GIB)
    ap.add_argument("--idle", default="1000,10000")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench/results.json"))
    ap.add_argument("--only", default="", help="comma-separated candidate names")
    ap.add_argument("--measures", default="", help="comma-separated measures (ka32,ka1,hs,down,up)")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="dockgate-bench.")
    procs = []
    # SIGTERM (kill, timeout) ends the run like Ctrl-C: through `finally`, which stops every
    # process started here.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        cands, bundle = setup(work, args, procs)
        if args.only:
            keep = set(args.only.split(","))
            cands = [c for c in cands if c.name in keep or c.name == "raw unix socket"]
        s = str(args.seconds)
        measures = [
            ("ka32", "keepalive", ["--conns", "32", "--duration", s, "--path", "/_ping"]),
            ("ka1", "keepalive", ["--conns", "1", "--duration", s, "--path", "/_ping"]),
            ("hs", "handshake", ["--concurrency", "16", "--duration", s, "--path", "/_ping"]),
            ("down", "download", ["--path", "/big", "--expect-bytes", str(args.bytes)]),
            ("up", "upload", ["--path", "/upload", "--bytes", str(args.bytes)]),
        ]
        if args.measures:
            keep = set(args.measures.split(","))
            measures = [m for m in measures if m[0] in keep]
        samples = {c.name: {m[0]: [] for m in measures} for c in cands}
        scraping = threading.Event()
        for c in cands:
            if c.metrics:
                threading.Thread(target=scrape_every_second, args=(c.metrics, scraping),
                                 daemon=True).start()
        # Warm every candidate up (connections, caches, allocators), unmeasured.
        for c in cands:
            loadgen(c, bundle, "keepalive", ["--conns", "32", "--duration", "1", "--path", "/_ping"])
        for rep in range(args.reps):
            # Every other repetition runs the candidates in reverse order, so that none always
            # follows the same one (two identical gateways differ by ~1 % in a fixed order).
            order = cands if rep % 2 == 0 else cands[::-1]
            for key, mode, opts in measures:
                for c in order:
                    if key == "hs" and not c.target.startswith("tls://"):
                        continue
                    log(f"rep {rep + 1}/{args.reps}: {c.name} {key}")
                    samples[c.name][key].append(loadgen(c, bundle, mode, opts))
        floor = []
        pki = os.path.dirname(os.path.dirname(bundle))
        for _ in range(args.reps):
            out = subprocess.run(["taskset", "-c", "0", FLOOR, pki, "2000"], capture_output=True, text=True)
            if out.returncode == 0:
                floor.append(json.loads(out.stdout))
        scraping.set()
        idle = {c.name: {} for c in cands}
        for n in [int(x) for x in args.idle.split(",") if x]:
            for c in cands:
                # Idle memory is the same process either way; measured with metrics off.
                if not c.target.startswith("tls://") or c.metrics:
                    continue
                log(f"{c.name}: {n} idle connections")
                idle[c.name][str(n)] = idle_memory(c, bundle, n, work)
        report(cands, samples, idle, args)
        for n in [x for x in args.idle.split(",") if x]:
            held = []
            for c in cands:
                r = idle[c.name].get(n)
                if r:
                    held.append(f"{c.name} {r['opened']}/{n} opened, "
                                f"{'answering' if r['answers_while_held'] else 'NOT answering'}")
            print(f"idle {n}: " + "; ".join(held))
        if floor:
            print("in-memory handshake floor (server CPU per full mutual-TLS 1.3 handshake, X25519, "
                  "P-256 certificates): rustls' own verifier with ring "
                  f"{median([f['rustls_webpki_server_us'] for f in floor]):.0f} us, dockgate's "
                  f"configuration (aws-lc-rs) {median([f['dockgate_config_server_us'] for f in floor]):.0f} us")
        json.dump({"machine": machine(), "args": vars(args), "samples": samples, "idle": idle,
                   "handshake_floor": floor},
                  open(args.out, "w"), indent=1)
        log(f"raw samples: {args.out}")
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except OSError:
                pass
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)


def scrape_every_second(port, stop):
    """GET /metrics once a second until `stop` is set; counts scrapes that failed."""
    while not stop.wait(1.0):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        except OSError as e:
            log(f"scrape of 127.0.0.1:{port} failed: {e}")


def machine():
    cpu = ""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {"cpu": cpu, "cpus": os.cpu_count(), "kernel": os.uname().release}


def report(cands, samples, idle, args):
    def val(name, key, field):
        return [r[field] if r else None for r in samples[name].get(key, [])]

    def per_op(name, key, count_field, scale):
        out = []
        for r in samples[name].get(key, []):
            if r and r.get(count_field):
                out.append(r["front_cpu_s"] / r[count_field] * scale)
            else:
                out.append(None)
        return out

    def cpu_per_gib(name, key):
        return [r["front_cpu_s"] / (r["bytes"] / GIB) if r else None for r in samples[name].get(key, [])]

    rows = [
        ("keep-alive /_ping, 32 conns, req/s", lambda n: val(n, "ka32", "rps"), "{:,.0f}", True),
        ("  p99 ms", lambda n: val(n, "ka32", "p99_ms"), "{:.2f}", False),
        ("  front CPU per request, us", lambda n: per_op(n, "ka32", "requests", 1e6), "{:.1f}", False),
        ("keep-alive, 1 conn, p50 ms", lambda n: val(n, "ka1", "p50_ms"), "{:.3f}", False),
        ("  p99 ms", lambda n: val(n, "ka1", "p99_ms"), "{:.3f}", False),
        ("  front CPU per request, us", lambda n: per_op(n, "ka1", "requests", 1e6), "{:.1f}", False),
        ("full handshakes, conn/s", lambda n: val(n, "hs", "rps"), "{:,.0f}", True),
        ("  front CPU per handshake, us", lambda n: per_op(n, "hs", "connections", 1e6), "{:.0f}", False),
        ("1 GiB download, MB/s", lambda n: val(n, "down", "mb_per_s"), "{:,.0f}", True),
        ("  front CPU s/GiB", lambda n: cpu_per_gib(n, "down"), "{:.2f}", False),
        ("1 GiB upload, MB/s", lambda n: val(n, "up", "mb_per_s"), "{:,.0f}", True),
        ("  front CPU s/GiB", lambda n: cpu_per_gib(n, "up"), "{:.2f}", False),
    ]
    for n in args.idle.split(","):
        if n:
            rows.append((f"idle mTLS conns: KiB each at {n}",
                         lambda name, n=n: [idle[name].get(n, {}) and idle[name][n]["kib_per_conn"]
                                            if idle[name].get(n) else None], "{:.1f}", False))
    names = [c.name for c in cands]
    width = max(16, max(len(n) for n in names) + 2)
    print()
    print(f"{'measure':<38}" + "".join(f"{n:>{width}}" for n in names))
    for label, get, fmt, _higher in rows:
        line = f"{label:<38}"
        meds = {}
        for n in names:
            m = median(get(n))
            meds[n] = m
            line += f"{(fmt.format(m) if m is not None else '-'):>{width}}"
        print(line)
        ratio = "  (vs nginx)"
        line = f"{ratio:<38}"
        base = meds.get("nginx")
        for n in names:
            m = meds[n]
            line += f"{(f'{m / base:.2f}x' if m is not None and base else '-'):>{width}}"
        print(line)
        raw = meds.get("raw unix socket")
        if raw:
            line = f"{'  (vs raw socket)':<38}"
            for n in names:
                m = meds[n]
                line += f"{(f'{m / raw:.2f}x' if m is not None else '-'):>{width}}"
            print(line)
        sp = f"{'  (spread min..max)':<38}"
        for n in names:
            lo, hi = spread(get(n))
            sp += f"{(fmt.format(lo) + '..' + fmt.format(hi) if lo is not None else '-'):>{width}}"
        print(sp)
    on, off = "dockgate+metrics", "dockgate"
    if on in samples and off in samples:
        for key, what in (("ka32", "keep-alive 32 conns"), ("ka1", "keep-alive 1 conn"), ("hs", "handshakes")):
            r_on, r_off = median(val(on, key, "rps")), median(val(off, key, "rps"))
            if r_on and r_off:
                print(f"metrics on/off, {what}: {r_on:,.0f} / {r_off:,.0f} per s = {r_on / r_off:.3f}")
    m = machine()
    print(f"\n{m['cpu']}, {m['cpus']} CPUs, kernel {m['kernel']}; {args.reps} repetitions of "
          f"{args.seconds} s; fronts and upstream on CPU 0, load generator on CPU 1.")


if __name__ == "__main__":
    main()
