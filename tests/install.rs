//! The install paths: `make install DESTDIR=... PREFIX=...` stages the binary, units (pointing at
//! the installed binary), example config (0640, kept if present), sysusers.d entry and README,
//! and the installed service unit verifies; `cargo deb` builds a package with the same files,
//! the config as a conffile, and maintainer scripts that create the user and set permissions.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

fn make_install(destdir: &Path, prefix: &str) {
    let out = Command::new("make")
        .arg("-C")
        .arg(root())
        .arg("install")
        .arg(format!("DESTDIR={}", destdir.display()))
        .arg(format!("PREFIX={prefix}"))
        .arg(format!("BIN={}", env!("CARGO_BIN_EXE_dockgate")))
        .output()
        .expect("make");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn make_install_into_destdir() {
    let dest = tempfile::tempdir().expect("tempdir");
    let d = dest.path();
    make_install(d, "/usr");
    assert_eq!(mode(&d.join("usr/bin/dockgate")), 0o755);
    assert_eq!(mode(&d.join("etc/dockgate")), 0o750);
    assert_eq!(mode(&d.join("etc/dockgate/dockgate.toml")), 0o640);
    assert_eq!(mode(&d.join("usr/lib/sysusers.d/dockgate.conf")), 0o644);
    assert!(d.join("usr/share/doc/dockgate/README.md").is_file());
    assert!(d
        .join("usr/share/doc/dockgate/prometheus/dockgate-alerts.yml")
        .is_file());
    let sysusers =
        std::fs::read_to_string(d.join("usr/lib/sysusers.d/dockgate.conf")).expect("read");
    assert!(sysusers.lines().any(|l| l.starts_with("u dockgate ")));
    assert!(sysusers.lines().any(|l| l == "m dockgate docker"));

    // The installed config parses, and an edited one survives a second install.
    dockgate::config::Config::load(&d.join("etc/dockgate/dockgate.toml"))
        .expect("installed config parses");
    std::fs::write(d.join("etc/dockgate/dockgate.toml"), "# edited\n").expect("write");
    make_install(d, "/usr");
    assert_eq!(
        std::fs::read_to_string(d.join("etc/dockgate/dockgate.toml")).expect("read"),
        "# edited\n"
    );

    // The installed units, pointed at the staged binary, verify.
    let units = d.join("usr/lib/systemd/system");
    let service = std::fs::read_to_string(units.join("dockgate.service")).expect("read");
    assert!(service.contains("ExecStart=/usr/bin/dockgate serve"));
    let check = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        check.path().join("dockgate.service"),
        service.replace(
            "/usr/bin/dockgate",
            &d.join("usr/bin/dockgate").display().to_string(),
        ),
    )
    .expect("write");
    std::fs::copy(
        units.join("dockgate.socket"),
        check.path().join("dockgate.socket"),
    )
    .expect("copy");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(check.path().join("dockgate.socket"))
        .arg(check.path().join("dockgate.service"))
        .output()
        .expect("systemd-analyze");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Another prefix rewrites the paths in the unit.
    let other = tempfile::tempdir().expect("tempdir");
    make_install(other.path(), "/opt/dockgate");
    let service = std::fs::read_to_string(
        other
            .path()
            .join("opt/dockgate/lib/systemd/system/dockgate.service"),
    )
    .expect("read");
    assert!(
        service.contains("ExecStart=/opt/dockgate/bin/dockgate serve"),
        "{service}"
    );
    assert!(other.path().join("opt/dockgate/bin/dockgate").is_file());
}

#[test]
fn cargo_deb_builds_the_same_package() {
    // Package the binary this test run built (no release build here).
    let target = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(target.path().join("release")).expect("mkdir");
    std::fs::copy(
        env!("CARGO_BIN_EXE_dockgate"),
        target.path().join("release/dockgate"),
    )
    .expect("copy");
    let deb = target.path().join("dockgate.deb");
    let out = Command::new("cargo")
        .args(["deb", "--no-build", "--no-strip", "--fast", "-o"])
        .arg(&deb)
        .current_dir(root())
        .env("CARGO_TARGET_DIR", target.path())
        .output()
        .expect("cargo deb (install it with `cargo install cargo-deb`)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let listing = Command::new("dpkg-deb")
        .arg("-c")
        .arg(&deb)
        .output()
        .expect("dpkg-deb");
    let listing = String::from_utf8_lossy(&listing.stdout);
    for (path, perms) in [
        ("./usr/bin/dockgate", "-rwxr-xr-x"),
        ("./usr/lib/systemd/system/dockgate.service", "-rw-r--r--"),
        ("./usr/lib/systemd/system/dockgate.socket", "-rw-r--r--"),
        ("./usr/lib/sysusers.d/dockgate.conf", "-rw-r--r--"),
        ("./etc/dockgate/dockgate.toml", "-rw-r-----"),
        ("./usr/share/doc/dockgate/README.md", "-rw-r--r--"),
        (
            "./usr/share/doc/dockgate/prometheus/dockgate-alerts.yml",
            "-rw-r--r--",
        ),
    ] {
        assert!(
            listing
                .lines()
                .any(|l| l.starts_with(perms) && l.ends_with(path)),
            "{path} ({perms}) missing from:\n{listing}"
        );
    }

    let control = tempfile::tempdir().expect("tempdir");
    assert!(Command::new("dpkg-deb")
        .arg("-e")
        .arg(&deb)
        .arg(control.path())
        .status()
        .expect("dpkg-deb")
        .success());
    let read = |f: &str| std::fs::read_to_string(control.path().join(f)).unwrap_or_default();
    assert!(read("conffiles")
        .lines()
        .any(|l| l == "/etc/dockgate/dockgate.toml"));
    let postinst = read("postinst");
    let sysusers = postinst
        .find("systemd-sysusers")
        .expect("postinst creates the user");
    let chgrp = postinst
        .find("chgrp dockgate /etc/dockgate")
        .expect("postinst sets the config's group");
    assert!(
        sysusers < chgrp,
        "the group must exist before chgrp:\n{postinst}"
    );
    // Enabled again only on upgrades of an enabled install; never started before certificates exist.
    assert!(
        !postinst.contains("deb-systemd-invoke start"),
        "the package starts the service:\n{postinst}"
    );
    assert!(read("control").contains("Depends:") && read("control").contains("systemd"));

    // The packaged unit is the shipped one.
    let files = tempfile::tempdir().expect("tempdir");
    assert!(Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(files.path())
        .status()
        .expect("dpkg-deb")
        .success());
    assert_eq!(
        std::fs::read(files.path().join("usr/lib/systemd/system/dockgate.service")).expect("read"),
        std::fs::read(root().join("systemd/dockgate.service")).expect("read")
    );
}
