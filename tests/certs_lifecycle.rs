//! The certificate lifecycle end to end, with the real docker CLI, curl and engine, and no
//! restart of the gateway: `certs issue` bundles (ECDSA, RSA, Ed25519) work with the commands it
//! prints; `certs revoke` (by client, serial or file) writes a signed CRL that the gateway picks up
//! by watching the file, refusing the revoked client on new handshakes and closing the connection
//! it already had; `certs issue --server --force` renews the server certificate and
//! the gateway serves it without a signal; `certs list` and `certs crl` report and renew.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::cli::{curl, Docker};
use common::engine_socket;
use common::gateway::Process;
use common::pki::ClientCert;

fn dockgate(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_dockgate"))
        .args(args)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "dockgate {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn bundle(dir: &Path, name: &str) -> ClientCert {
    ClientCert {
        name: name.to_string(),
        dir: dir.join("clients").join(name),
    }
}

fn config(dir: &Path, tmp: &Path) -> PathBuf {
    let q = |p: &Path| toml::Value::String(p.display().to_string()).to_string();
    let path = tmp.join("dockgate.toml");
    std::fs::write(
        &path,
        format!(
            "[listen]\naddresses = [\"127.0.0.1:0\"]\n[tls]\nca = {}\ncert = {}\nkey = {}\ncrl = [{}]\n[upstream]\nsocket = {}\n[log]\nformat = \"json\"\n[[allow]]\ncn = \"*\"\naccess = \"full\"\n",
            q(&dir.join("ca.pem")),
            q(&dir.join("server-cert.pem")),
            q(&dir.join("server-key.pem")),
            q(&dir.join("crl.pem")),
            q(&engine_socket()),
        ),
    )
    .expect("write config");
    path
}

fn works(gw: &Process, client: &ClientCert) -> bool {
    let out = curl(client)
        .args(["-f", "-o", "/dev/null"])
        .arg(gw.url("/version"))
        .output()
        .expect("curl");
    out.status.success()
}

#[tokio::test(flavor = "multi_thread")]
async fn issue_use_revoke_renew_without_restart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("ca");
    let d = dir.to_str().expect("path").to_string();
    tokio::task::block_in_place(|| dockgate(&["certs", "init", "--dir", &d, "--client", "alice"]));
    let cfg = config(&dir, tmp.path());
    let gw = tokio::task::block_in_place(|| Process::start_with_config(&cfg));
    let endpoint = gw.addr.to_string();

    // Issue, and use the printed commands as printed.
    let printed = tokio::task::block_in_place(|| {
        dockgate(&[
            "certs",
            "issue",
            "--dir",
            &d,
            "--client",
            "bob",
            "--ou",
            "ops",
            "--ou",
            "oncall",
            "--endpoint",
            &endpoint,
        ])
    });
    let docker_config = tempfile::tempdir().expect("tempdir");
    let context = printed
        .split("\n\n")
        .find(|b| b.starts_with("docker context create"))
        .expect("context command")
        .to_string();
    let run = |script: &str| {
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("DOCKER_CONFIG", docker_config.path())
            .env_remove("DOCKER_HOST")
            .output()
            .expect("sh")
    };
    let out = tokio::task::block_in_place(|| run(&context));
    assert!(
        out.status.success(),
        "{context}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = tokio::task::block_in_place(|| {
        run("timeout 60 docker --context dockgate-bob version --format '{{.Server.Version}}'")
    });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let curl_line = printed
        .lines()
        .find(|l| l.starts_with("curl "))
        .expect("curl command");
    let out = tokio::task::block_in_place(|| run(&format!("{curl_line} -sSf --max-time 30")));
    assert!(
        out.status.success(),
        "{curl_line}: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Other key types work with the docker CLI and curl too.
    for (name, kind) in [("carol", "rsa2048"), ("dave", "ed25519")] {
        tokio::task::block_in_place(|| {
            dockgate(&[
                "certs",
                "issue",
                "--dir",
                &d,
                "--client",
                name,
                "--key-type",
                kind,
            ])
        });
        let c = bundle(&dir, name);
        assert!(
            tokio::task::block_in_place(|| works(&gw, &c)),
            "{kind} bundle refused by curl"
        );
        tokio::task::block_in_place(|| Docker::new(&gw.docker_host(), &c).ok(&["version"]));
    }

    // bob keeps a connection open across his revocation.
    let bob = bundle(&dir, "bob");
    let tls = common::client::connect_with(gw.addr, common::client::config_for_bundle(&bob))
        .await
        .expect("handshake");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .expect("http");
    tokio::spawn(conn);
    let status = async |sender: &mut hyper::client::conn::http1::SendRequest<
        http_body_util::Full<bytes::Bytes>,
    >| {
        sender.ready().await.expect("open");
        let resp = sender
            .send_request(common::client::get("/_ping"))
            .await
            .expect("response");
        resp.status().as_u16()
    };
    assert_eq!(status(&mut sender).await, 200);

    // Revoke bob: no signal, the gateway watches crl.pem.
    let before = gw.logs().len();
    let out = tokio::task::block_in_place(|| {
        dockgate(&["certs", "revoke", "--dir", &d, "--client", "bob"])
    });
    assert!(out.contains("revoked client bob"), "{out}");
    tokio::task::block_in_place(|| gw.wait_reloaded(before));
    assert!(
        !tokio::task::block_in_place(|| works(&gw, &bob)),
        "revoked bob still gets in on a new connection"
    );
    let closed = match sender.ready().await {
        Err(_) => true,
        Ok(()) => sender
            .send_request(common::client::get("/_ping"))
            .await
            .is_err(),
    };
    assert!(closed, "revoked bob kept his open connection");
    let out = tokio::task::block_in_place(|| run("timeout 60 docker --context dockgate-bob ps"));
    assert!(
        !out.status.success(),
        "the docker CLI still works for revoked bob"
    );
    assert!(
        tokio::task::block_in_place(|| works(&gw, &bundle(&dir, "alice"))),
        "alice lost access"
    );

    // By serial and by file.
    let carol_serial = common::pki::serial_of(&bundle(&dir, "carol").cert());
    let before = gw.logs().len();
    tokio::task::block_in_place(|| {
        dockgate(&["certs", "revoke", "--dir", &d, "--serial", &carol_serial])
    });
    tokio::task::block_in_place(|| gw.wait_reloaded(before));
    assert!(!tokio::task::block_in_place(|| works(
        &gw,
        &bundle(&dir, "carol")
    )));
    let dave_cert = bundle(&dir, "dave").cert();
    let before = gw.logs().len();
    tokio::task::block_in_place(|| {
        dockgate(&[
            "certs",
            "revoke",
            "--dir",
            &d,
            "--cert",
            dave_cert.to_str().expect("path"),
        ])
    });
    tokio::task::block_in_place(|| gw.wait_reloaded(before));
    assert!(!tokio::task::block_in_place(|| works(
        &gw,
        &bundle(&dir, "dave")
    )));

    // The list tells.
    let list = tokio::task::block_in_place(|| dockgate(&["certs", "list", "--dir", &d]));
    assert!(list.contains("CN=bob, OU=ops, OU=oncall"), "{list}");
    for (name, state) in [
        ("alice", "valid"),
        ("bob", "revoked"),
        ("carol", "revoked"),
        ("dave", "revoked"),
    ] {
        let line = list
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("{name} not listed:\n{list}"));
        assert!(line.contains(state), "{name} should be {state}: {line}");
    }

    // Renew the server certificate: served without a signal.
    let old = std::fs::read(dir.join("server-cert.pem")).expect("read");
    let before = gw.logs().len();
    tokio::task::block_in_place(|| {
        dockgate(&[
            "certs",
            "issue",
            "--dir",
            &d,
            "--server",
            "--host",
            "gateway.test",
            "--force",
        ])
    });
    assert_ne!(
        std::fs::read(dir.join("server-cert.pem")).expect("read"),
        old
    );
    tokio::task::block_in_place(|| gw.wait_reloaded(before));
    let alice = bundle(&dir, "alice");
    let tls = common::client::connect_with(gw.addr, common::client::config_for_bundle(&alice))
        .await
        .expect("handshake");
    let served = tls.get_ref().1.peer_certificates().expect("cert")[0].to_vec();
    let on_disk = {
        use rustls::pki_types::pem::PemObject;
        rustls::pki_types::CertificateDer::from_pem_file(dir.join("server-cert.pem"))
            .expect("pem")
            .to_vec()
    };
    assert!(
        served == on_disk,
        "the renewed server certificate is not served"
    );
    tokio::task::block_in_place(|| Docker::new(&gw.docker_host(), &alice).ok(&["ps"]));

    // Renewing the CRL keeps the revocations and bumps its number.
    let before = gw.logs().len();
    let out = tokio::task::block_in_place(|| {
        dockgate(&["certs", "crl", "--dir", &d, "--crl-days", "30"])
    });
    assert!(out.contains("3 revoked"), "{out}");
    tokio::task::block_in_place(|| gw.wait_reloaded(before));
    assert!(!tokio::task::block_in_place(|| works(&gw, &bob)));
}
