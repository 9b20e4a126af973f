//! systemd notifications, observed on a NOTIFY_SOCKET datagram socket: READY=1 only once the
//! listeners accept and the configuration is loaded; STATUS= lines; RELOADING=1 then READY=1
//! around a SIGHUP, with the reload's result in STATUS=; WATCHDOG=1 pings when WATCHDOG_USEC is
//! set; STOPPING=1 on SIGTERM; and no READY=1 at all when the configuration is broken.

mod common;

use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use common::fake::FakeEngine;
use common::gateway::{write_config, Process, RULES};
use common::pki::Pki;

struct Notifications {
    socket: UnixDatagram,
    _dir: tempfile::TempDir,
    path: String,
}

impl Notifications {
    fn new() -> Notifications {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("bind");
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        Notifications {
            socket,
            path: path.display().to_string(),
            _dir: dir,
        }
    }

    /// The next datagram containing `want`, within 20 s; the ones before it are returned too.
    fn expect(&self, want: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = self.socket.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                let hit = msg.lines().any(|l| l.starts_with(want));
                seen.push(msg);
                if hit {
                    return seen;
                }
            }
        }
        panic!("no `{want}` notification; got {seen:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ready_reload_watchdog_stopping() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let config = write_config(&pki, &engine.socket, RULES);
    let notes = Notifications::new();
    let env = [
        ("NOTIFY_SOCKET", notes.path.as_str()),
        ("WATCHDOG_USEC", "200000"),
    ];
    let mut gw = tokio::task::block_in_place(|| Process::start_with_env(&config, &env));

    let first = notes.expect("READY=1");
    assert_eq!(
        first.len(),
        1,
        "READY=1 must be the first notification: {first:?}"
    );
    assert!(
        first[0].contains("STATUS=serving on 127.0.0.1:"),
        "{first:?}"
    );
    assert!(
        TcpStream::connect(gw.addr).is_ok(),
        "READY=1 before the listener accepts"
    );

    notes.expect("WATCHDOG=1");
    notes.expect("WATCHDOG=1");
    notes.expect("STATUS=serving 0 connection(s)");

    gw.signal("HUP");
    notes.expect("RELOADING=1");
    let after = notes.expect("READY=1");
    assert!(
        after
            .last()
            .is_some_and(|m| m.contains("STATUS=last reload at") && m.contains(": ok")),
        "{after:?}"
    );

    let good = std::fs::read_to_string(&config).expect("read");
    std::fs::write(
        &config,
        good.replace("access = \"full\"", "access = \"root\""),
    )
    .expect("write");
    gw.signal("HUP");
    notes.expect("RELOADING=1");
    let after = notes.expect("READY=1");
    let status = after.last().cloned().unwrap_or_default();
    assert!(
        status.contains("FAILED") && status.contains("allow[0].access"),
        "{status}"
    );

    gw.signal("TERM");
    notes.expect("STOPPING=1");
    let status = gw.wait_exit(Duration::from_secs(20)).expect("exited");
    assert!(
        status.success(),
        "nothing was open, so the drain is clean: {status}"
    );
}

#[test]
fn broken_configuration_never_signals_ready() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(&pki, &dir.path().join("docker.sock"), RULES);
    std::fs::write(&pki.server_key, "not a key").expect("write");
    let notes = Notifications::new();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dockgate"))
        .args(["serve", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &notes.path)
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("tls.key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut buf = [0u8; 4096];
    while let Ok(n) = notes.socket.recv(&mut buf) {
        let msg = String::from_utf8_lossy(&buf[..n]);
        assert!(
            !msg.contains("READY=1"),
            "READY=1 sent by a gateway that failed to start: {msg}"
        );
    }
}
