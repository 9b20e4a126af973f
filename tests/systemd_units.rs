//! The shipped systemd units pass `systemd-analyze verify` (with the binary path pointed at the
//! built binary), the service's exposure per `systemd-analyze security` is 2.0 or lower, and the
//! units say what the documentation promises (socket on 2376 named `dockgate`, Type=notify,
//! reload by SIGHUP, an unprivileged user in the docker group).

use std::path::Path;
use std::process::Command;

fn units_in(dir: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd");
    for unit in ["dockgate.service", "dockgate.socket"] {
        let text = std::fs::read_to_string(src.join(unit)).expect("read unit");
        std::fs::write(
            dir.join(unit),
            text.replace("/usr/bin/dockgate", env!("CARGO_BIN_EXE_dockgate")),
        )
        .expect("write");
    }
}

#[test]
fn units_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    units_in(dir.path());
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(dir.path().join("dockgate.socket"))
        .arg(dir.path().join("dockgate.service"))
        .output()
        .expect("systemd-analyze");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn service_exposure_is_at_most_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    units_in(dir.path());
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(dir.path().join("dockgate.service"))
        .output()
        .expect("systemd-analyze");
    let text = String::from_utf8_lossy(&out.stdout);
    let level: f64 = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for dockgate.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    assert!(level <= 2.0, "exposure {level} > 2.0:\n{text}");
}

#[test]
fn units_say_what_the_documentation_promises() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd");
    let socket = std::fs::read_to_string(dir.join("dockgate.socket")).expect("read");
    for line in [
        "ListenStream=2376",
        "FileDescriptorName=dockgate",
        "Service=dockgate.service",
        "BindIPv6Only=both",
    ] {
        assert!(
            socket.lines().any(|l| l == line),
            "socket unit lacks {line}"
        );
    }
    let service = std::fs::read_to_string(dir.join("dockgate.service")).expect("read");
    for line in [
        "Type=notify",
        "ExecStartPre=/usr/bin/dockgate check --engine-optional --config /etc/dockgate/dockgate.toml",
        "ExecStart=/usr/bin/dockgate serve --config /etc/dockgate/dockgate.toml",
        "ExecReload=/usr/bin/dockgate check --engine-optional --config /etc/dockgate/dockgate.toml",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure",
        "SuccessExitStatus=3",
        "LimitNOFILE=16384",
        "User=dockgate",
        "SupplementaryGroups=docker",
    ] {
        assert!(service.lines().any(|l| l == line), "service unit lacks {line}");
    }
    assert!(
        !service.contains("Requires=docker"),
        "the gateway must not die with the engine"
    );
    // The check must run before the signal, so that a bad configuration fails the reload.
    let reloads: Vec<&str> = service
        .lines()
        .filter(|l| l.starts_with("ExecReload="))
        .collect();
    assert!(reloads[0].contains("dockgate check"), "{reloads:?}");
    assert!(
        !service.lines().any(|l| l.starts_with("Also=")),
        "enabling the service alone must not enable the socket"
    );
}
