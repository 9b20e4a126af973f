//! A Debian 12 machine with a real systemd as PID 1, for the service tests: a minimal tree made
//! with `debootstrap` (cached between runs outside the repository, in
//! `/var/cache/dockgate-test`), with Debian's `docker.io` inside, copied for each run and booted
//! with `systemd-nspawn -b --private-network`. Commands run inside through `nsenter` into its
//! PID 1. Dropping the machine kills its PID 1 (which ends every process in it), waits for
//! nspawn and removes the copy, also when a test fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use super::wait;

/// Where the prepared tree is kept between runs; its name changes with its recipe.
const CACHE: &str = "/var/cache/dockgate-test/bookworm-docker-v1";
const INCLUDE: &str = "systemd,systemd-sysv,dbus,curl,ca-certificates,procps,iproute2";
/// The engine inside: no iptables, no bridge, the storage driver that works anywhere.
const DAEMON_JSON: &str = r#"{"iptables": false, "bridge": "none", "storage-driver": "vfs"}"#;

fn run(what: &str, cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The cached tree, made first if missing.
fn tree() -> PathBuf {
    let cache = PathBuf::from(CACHE);
    if cache.join("usr/sbin/dockerd").exists() {
        return cache;
    }
    let tmp = cache.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(cache.parent().expect("parent")).expect("mkdir cache");
    run(
        "debootstrap",
        Command::new("debootstrap")
            .args([
                "--variant=minbase",
                &format!("--include={INCLUDE}"),
                "bookworm",
            ])
            .arg(&tmp)
            .arg("http://deb.debian.org/debian"),
    );
    std::fs::copy("/etc/resolv.conf", tmp.join("etc/resolv.conf")).expect("resolv.conf");
    // No service may start inside the chroot while packages install.
    let policy = tmp.join("usr/sbin/policy-rc.d");
    std::fs::write(&policy, "#!/bin/sh\nexit 101\n").expect("policy-rc.d");
    run("chmod", Command::new("chmod").arg("0755").arg(&policy));
    run(
        "apt-get update (tree)",
        Command::new("chroot")
            .arg(&tmp)
            .args(["apt-get", "update", "-qq"]),
    );
    run(
        "apt-get install docker.io (tree)",
        Command::new("chroot")
            .arg(&tmp)
            .args([
                "apt-get",
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "docker.io",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    );
    std::fs::remove_file(&policy).expect("remove policy-rc.d");
    std::fs::create_dir_all(tmp.join("etc/docker")).expect("mkdir");
    std::fs::write(tmp.join("etc/docker/daemon.json"), DAEMON_JSON).expect("daemon.json");
    std::fs::rename(&tmp, &cache).expect("cache the tree");
    cache
}

/// The machine's full host name: its name is `gateway`, and `/etc/hosts` gives the full one, as
/// on an installed Debian system, so that `hostname -f` in the README's commands names it.
pub const HOSTNAME: &str = "gateway.dockgate.test";

/// A booted machine.
pub struct Machine {
    pub root: PathBuf,
    nspawn: Child,
    pid1: u32,
}

impl Machine {
    /// A fresh copy of the tree, prepared by `prepare` (files written from outside), booted.
    pub fn boot(prepare: impl FnOnce(&Path)) -> Machine {
        let tree = tree();
        let root = PathBuf::from(format!(
            "/var/tmp/dockgate-machine-{}-{}",
            std::process::id(),
            super::unique("m")
        ));
        run(
            "copy the tree",
            Command::new("cp")
                .args(["-a", "--reflink=auto"])
                .arg(&tree)
                .arg(&root),
        );
        let hosts = root.join("etc/hosts");
        let mut text = std::fs::read_to_string(&hosts).unwrap_or_default();
        text.push_str(&format!("127.0.1.1\t{HOSTNAME} gateway\n"));
        std::fs::write(&hosts, text).expect("/etc/hosts");
        std::fs::write(root.join("etc/hostname"), "gateway\n").expect("/etc/hostname");
        prepare(&root);
        let nspawn = Command::new("systemd-nspawn")
            .arg("-D")
            .arg(&root)
            .arg("--hostname=gateway")
            .args(["--keep-unit", "--register=no", "--private-network", "-b"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("systemd-nspawn");
        let mut machine = Machine {
            root,
            pid1: 0,
            nspawn,
        };
        let id = machine.nspawn.id();
        let pid1 = wait::until(Duration::from_secs(30), || {
            let children =
                std::fs::read_to_string(format!("/proc/{id}/task/{id}/children")).ok()?;
            let pid: u32 = children.split_whitespace().next()?.parse().ok()?;
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            (comm.trim() == "systemd").then_some(pid)
        });
        machine.pid1 = pid1.expect("the container's systemd did not start");
        // Until its bus is up, systemctl cannot even ask; then it waits for the boot to end.
        let state = wait::until(Duration::from_secs(90), || {
            let out = machine.sh("systemctl is-system-running --wait");
            let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
            matches!(state.as_str(), "running" | "degraded").then_some(state)
        });
        assert!(
            state.is_some(),
            "the container did not boot:\n{}",
            machine.text("systemctl is-system-running; systemctl --failed --no-pager")
        );
        machine
    }

    /// Runs `script` with `sh -c` inside the machine.
    pub fn sh(&self, script: &str) -> Output {
        Command::new("nsenter")
            .args(["-t", &self.pid1.to_string(), "-a", "sh", "-c", script])
            .stdin(Stdio::null())
            .output()
            .expect("nsenter")
    }

    /// `script`'s stdout, asserting success.
    pub fn ok(&self, script: &str) -> String {
        let out = self.sh(script);
        assert!(
            out.status.success(),
            "inside the machine: `{script}` failed: {}\n{}\n{}\njournal:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.text("journalctl -u dockgate.service -u dockgate.socket --no-pager -n 40 -o cat")
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `script`'s stdout and stderr, whatever its status.
    pub fn text(&self, script: &str) -> String {
        let out = self.sh(script);
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }

    /// A command started inside the machine and left running (a stream).
    pub fn spawn(&self, script: &str) -> Child {
        Command::new("nsenter")
            .args(["-t", &self.pid1.to_string(), "-a", "sh", "-c", script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nsenter")
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        // Killing the PID 1 of a PID namespace ends every process in it.
        if self.pid1 != 0 {
            let _ = Command::new("kill")
                .args(["-KILL", &self.pid1.to_string()])
                .status();
        }
        let exited = wait::until(Duration::from_secs(20), || {
            self.nspawn.try_wait().ok().flatten()
        });
        if exited.is_none() {
            let _ = self.nspawn.kill();
            let _ = self.nspawn.wait();
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
