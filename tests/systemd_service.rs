//! dockgate under a real systemd (252, PID 1 of a booted Debian 12 container with a real
//! `docker.io` engine), installed and run the way the README's "Install as a service" says:
//! `make install` (staged into the machine with DESTDIR, then the steps it takes on a live
//! system), then the README's own commands of steps 2 to 5, run verbatim (`certs init` for
//! `$(hostname -f)`, `runuser ... check` of the shipped config, `systemctl enable --now
//! dockgate.socket`, curl); the first connection starts the service, which reaches the engine through
//! the docker group and has `LimitNOFILE`; `systemctl reload` succeeds on a good configuration
//! and fails on a bad one (which stays out of force); `systemctl stop` while a stream outlives
//! `shutdown.grace` leaves the unit inactive, not failed; `systemctl kill -s KILL` is followed by
//! a restart; the service enabled alone (no socket) binds `listen.addresses`; and the `.deb`
//! from `cargo deb`, installed over it with `dpkg -i`, serves too.

mod common;

use std::process::Command;
use std::time::Duration;

use common::container::{Machine, HOSTNAME};

const CLIENT: &str = "C=/etc/dockgate/certs/clients/admin; curl -sS --max-time 20 --cert $C/cert.pem --key $C/key.pem --cacert $C/ca.pem";

/// The shell blocks of the README's "Install as a service" steps 2 to 5, one script each.
fn readme_steps() -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let start = readme
        .find("2. Create the certificates")
        .expect("step 2 in the README");
    let end = start
        + readme[start..]
            .find("Day to day")
            .expect("end of the steps");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme[start..end].lines() {
        match (line.trim(), current.as_mut()) {
            ("```sh", None) => current = Some(String::new()),
            ("```", Some(_)) => blocks.extend(current.take()),
            (text, Some(block)) => {
                block.push_str(text);
                block.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

/// `curl` of `path` through the gateway inside the machine: the HTTP status.
fn status(m: &Machine, path: &str) -> String {
    m.text(&format!(
        "{CLIENT} -o /dev/null -w '%{{http_code}}' https://{HOSTNAME}:2376{path}"
    ))
}

fn main_pid(m: &Machine) -> String {
    m.ok("systemctl show -p MainPID --value dockgate.service")
        .trim()
        .to_string()
}

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `.deb` of this test run's binary, as tests/install.rs builds it.
fn build_deb(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("release")).expect("mkdir");
    std::fs::copy(env!("CARGO_BIN_EXE_dockgate"), dir.join("release/dockgate")).expect("copy");
    let deb = dir.join("dockgate.deb");
    let out = Command::new("cargo")
        .args(["deb", "--no-build", "--no-strip", "--fast", "-o"])
        .arg(&deb)
        .current_dir(root())
        .env("CARGO_TARGET_DIR", dir)
        .output()
        .expect("cargo deb");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    deb
}

#[test]
fn the_readme_service_install_works_under_a_real_systemd() {
    let m = Machine::boot(|root_dir| {
        // README step 1, staged: the files `make install PREFIX=/usr` puts in place.
        let out = Command::new("make")
            .args(["-s", "install", "PREFIX=/usr"])
            .arg(format!("DESTDIR={}", root_dir.display()))
            .arg(format!("BIN={}", env!("CARGO_BIN_EXE_dockgate")))
            .current_dir(root())
            .output()
            .expect("make install");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    // What `make install` does on a live system (DESTDIR empty), inside.
    m.ok("systemd-sysusers /usr/lib/sysusers.d/dockgate.conf && chgrp dockgate /etc/dockgate /etc/dockgate/dockgate.toml && systemctl daemon-reload");
    assert!(
        m.ok("id dockgate").contains("(docker)"),
        "dockgate is not in the docker group"
    );
    m.ok("timeout 60 sh -c 'until docker version >/dev/null 2>&1; do sleep 0.5; done'");

    // Steps 2 to 5, exactly as the README writes them.
    let steps = readme_steps();
    assert_eq!(steps.len(), 4, "README steps 2-5 changed shape: {steps:?}");
    m.ok(&steps[0]);
    let check = m.ok(&steps[1]);
    assert!(check.contains("ready to serve"), "{check}");
    m.ok(&steps[2]);
    // The socket is listening; the service starts on the first connection.
    assert_eq!(
        m.text("systemctl is-active dockgate.service").trim(),
        "inactive"
    );
    let step5 = m.ok(&steps[3]);
    assert!(step5.contains("ApiVersion"), "{step5}");
    assert!(step5.contains("Status: \"serving"), "{step5}");
    assert_eq!(
        m.text("systemctl is-active dockgate.service").trim(),
        "active"
    );
    let pid = main_pid(&m);
    let limits = m.ok(&format!("cat /proc/{pid}/limits"));
    let nofile = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("open files line");
    assert!(nofile.contains("16384"), "{nofile}");
    let unit_status = m.ok("systemctl status dockgate.service --no-pager");
    assert!(
        unit_status.contains("TriggeredBy: ● dockgate.socket"),
        "{unit_status}"
    );
    assert!(unit_status.contains("Status: \"serving"), "{unit_status}");

    // Reload: good exits 0; bad fails and the running configuration stays.
    m.ok("systemctl reload dockgate");
    m.ok("cp /etc/dockgate/dockgate.toml /root/good.toml && echo 'bogus = 1' >> /etc/dockgate/dockgate.toml");
    let bad = m.sh("systemctl reload dockgate");
    assert!(
        !bad.status.success(),
        "systemctl reload succeeded on a bad configuration"
    );
    assert_eq!(
        m.text("systemctl is-active dockgate.service").trim(),
        "active"
    );
    assert_eq!(status(&m, "/_ping"), "200");
    m.ok("cp /root/good.toml /etc/dockgate/dockgate.toml");

    // Stop while a stream outlives shutdown.grace: exit 3, and the unit is not failed.
    m.ok("sed -i 's/^grace = \"30s\"/grace = \"2s\"/' /etc/dockgate/dockgate.toml && grep -q '^grace = \"2s\"' /etc/dockgate/dockgate.toml");
    m.ok("systemctl reload dockgate");
    let mut events = m.spawn(&format!("{CLIENT} -N https://{HOSTNAME}:2376/events"));
    let streaming = common::wait::until(Duration::from_secs(20), || {
        m.text("journalctl -u dockgate.service --no-pager -o cat")
            .contains("event=\"start\"")
            .then_some(())
    });
    assert!(streaming.is_some(), "the events stream did not start");
    m.ok("systemctl stop dockgate.service");
    let shown = m.ok("systemctl show -p Result -p ExecMainStatus dockgate.service");
    assert!(shown.contains("ExecMainStatus=3"), "{shown}");
    assert!(shown.contains("Result=success"), "{shown}");
    assert_ne!(
        m.text("systemctl is-failed dockgate.service").trim(),
        "failed"
    );
    let _ = events.kill();
    let _ = events.wait();

    // Killed: systemd restarts it (the socket stays with systemd).
    assert_eq!(status(&m, "/_ping"), "200");
    let before = main_pid(&m);
    m.ok("systemctl kill -s KILL dockgate.service");
    let after = common::wait::until(Duration::from_secs(30), || {
        let now = main_pid(&m);
        (now != "0" && now != before).then_some(now)
    });
    assert!(after.is_some(), "not restarted after SIGKILL");
    assert_eq!(status(&m, "/_ping"), "200");

    // Without socket activation: the service alone, and the socket stays disabled.
    m.ok("systemctl disable --now dockgate.socket dockgate.service");
    m.ok("systemctl enable --now dockgate.service");
    assert_eq!(
        m.text("systemctl is-enabled dockgate.socket").trim(),
        "disabled"
    );
    assert_eq!(
        m.text("systemctl is-active dockgate.socket").trim(),
        "inactive"
    );
    let served = common::wait::until(Duration::from_secs(20), || {
        (status(&m, "/_ping") == "200").then_some(())
    });
    assert!(served.is_some(), "the service alone did not serve");
    let unit_status = m.ok("systemctl status dockgate.service --no-pager");
    assert!(unit_status.contains("on 0.0.0.0:2376"), "{unit_status}");

    // The Debian package, installed over it, serves as well.
    let build = tempfile::tempdir().expect("tempdir");
    let deb = build_deb(build.path());
    std::fs::copy(&deb, m.root.join("root/dockgate.deb")).expect("copy deb");
    m.ok("DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold /root/dockgate.deb");
    m.ok("dpkg -s dockgate | grep -q '^Status: install ok installed'");
    m.ok("systemctl daemon-reload && systemctl restart dockgate.service");
    let served = common::wait::until(Duration::from_secs(20), || {
        (status(&m, "/version") == "200").then_some(())
    });
    assert!(served.is_some(), "the packaged service did not serve");
}
