//! A `read-only` client can look but not touch, with the docker CLI against the real engine:
//! version, ps, images, inspect, logs, info, system df, history, network and volume listings
//! work; run, exec, rm, export, cp out and save are refused with a 403 whose message the CLI
//! prints, and so are reading the swarm's join tokens, registry search and the plugin list. A
//! certificate matching no `[[allow]]` entry is refused everything.

mod common;

use common::cli::Docker;
use common::gateway::{Process, RULES};
use common::pki::Pki;
use common::{engine_socket, test_image, unique};

fn refused(docker: &Docker, args: &[&str]) {
    let out = docker.run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{args:?} succeeded for a read-only client"
    );
    assert!(
        stderr.contains("dockgate: access denied"),
        "{args:?}: {stderr}"
    );
}

#[test]
fn read_only_client_reads_but_cannot_change_or_copy_out() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), RULES);
    let admin = Docker::new(&gw.docker_host(), &pki.client("admin"));
    let reader = Docker::new(&gw.docker_host(), &pki.client("reader"));
    let image = test_image();
    let name = unique("ro");
    admin.start_sleeper(&image, &name, "visible");

    reader.ok(&["version"]);
    reader.ok(&["ps"]);
    reader.ok(&["images"]);
    reader.ok(&["inspect", &name]);
    let logs = reader.ok(&["logs", &name]);
    assert_eq!(logs, "visible\n");
    // What monitoring reads (the routes on src/policy/read_only.rs's list).
    reader.ok(&["info"]);
    reader.ok(&["system", "df"]);
    reader.ok(&["image", "inspect", &image]);
    reader.ok(&["history", &image]);
    reader.ok(&["network", "ls"]);
    reader.ok(&["volume", "ls"]);

    let dir = tempfile::tempdir().expect("tempdir");
    let tar = dir.path().join("x.tar");
    refused(&reader, &["run", "--rm", &image, "true"]);
    refused(&reader, &["exec", &name, "true"]);
    refused(&reader, &["rm", "-f", &name]);
    refused(&reader, &["stop", &name]);
    refused(
        &reader,
        &["export", "-o", tar.to_str().expect("path"), &name],
    );
    refused(
        &reader,
        &[
            "cp",
            &format!("{name}:/bin/busybox"),
            tar.to_str().expect("path"),
        ],
    );
    refused(
        &reader,
        &["save", "-o", tar.to_str().expect("path"), &image],
    );
    // Join tokens, and requests that make the daemon contact a registry or list plugin settings.
    refused(&reader, &["swarm", "join-token", "worker"]);
    refused(&reader, &["search", "busybox"]);
    refused(&reader, &["plugin", "ls"]);
    // For hijacks the CLI prints only the status: "unable to upgrade to tcp, received 403".
    let out = reader.run(&["attach", &name]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("403"));

    admin.ok(&["rm", "-f", &name]);
}

#[test]
fn unknown_client_is_refused_everything() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), RULES);
    let stranger = Docker::new(&gw.docker_host(), &pki.client("stranger"));
    refused(&stranger, &["ps"]);
    refused(&stranger, &["version"]);
}
