//! `dockgate check` says whether a configuration is ready to serve, like `nginx -t`: exit 0 with a
//! summary when config, certificates, key and engine are all fine; non-zero with the reason
//! (naming the file or key) when not; an unreachable engine is only a warning with
//! `--engine-optional`, for boot-time checks.

mod common;

use std::process::{Command, Output};

use common::fake::FakeEngine;
use common::gateway::{write_config, RULES};
use common::pki::Pki;

fn check(config: &std::path::Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dockgate"))
        .args(["check", "--config"])
        .arg(config)
        .args(extra)
        .output()
        .expect("run dockgate check")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn good_config_passes_and_problems_are_named() {
    let pki = Pki::new();
    let engine = FakeEngine::pinging();
    let good = write_config(&pki, &engine.socket, RULES);
    pki.client("admin");
    let (g, e) = (good.clone(), engine.socket.clone());
    let pki_dir = pki.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let out = check(&g, &[]);
        assert!(out.status.success(), "{}", stdout(&out));
        assert!(
            stdout(&out).contains("API version 1.41"),
            "{}",
            stdout(&out)
        );

        // Engine down: a failure, or a warning with --engine-optional.
        let text = std::fs::read_to_string(&g).expect("read");
        let down = pki_dir.join("down.toml");
        std::fs::write(
            &down,
            text.replace(&e.display().to_string(), "/nonexistent/docker.sock"),
        )
        .expect("write");
        let out = check(&down, &[]);
        assert!(!out.status.success());
        assert!(
            stdout(&out).contains("/nonexistent/docker.sock"),
            "{}",
            stdout(&out)
        );
        let out = check(&down, &["--engine-optional"]);
        assert!(out.status.success(), "{}", stdout(&out));
        assert!(stdout(&out).contains("WARN"));

        // A key that does not belong to the certificate.
        let other = pki_dir.join("clients/admin/key.pem");
        let mismatch = pki_dir.join("mismatch.toml");
        std::fs::write(
            &mismatch,
            text.replace("server-key.pem", "clients/admin/key.pem"),
        )
        .expect("write");
        assert!(other.exists());
        let out = check(&mismatch, &[]);
        assert!(!out.status.success());
        assert!(stdout(&out).contains("tls.key"), "{}", stdout(&out));

        // A broken PEM file.
        let broken = pki_dir.join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        let bad_pem = pki_dir.join("badpem.toml");
        std::fs::write(
            &bad_pem,
            text.replace(
                &pki_dir.join("server-cert.pem").display().to_string(),
                &broken.display().to_string(),
            ),
        )
        .expect("write");
        let out = check(&bad_pem, &[]);
        assert!(!out.status.success());
        assert!(stdout(&out).contains("broken.pem"), "{}", stdout(&out));

        // A config error names the key.
        let bad_key = pki_dir.join("badkey.toml");
        std::fs::write(
            &bad_key,
            format!("{text}\n[limits]\nmax_connections = -1\n"),
        )
        .expect("write");
        let out = check(&bad_key, &[]);
        assert!(!out.status.success());
        assert!(
            stdout(&out).contains("limits.max_connections"),
            "{}",
            stdout(&out)
        );
    })
    .await
    .expect("join");
}
