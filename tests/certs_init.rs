//! `dockgate certs init` writes a working PKI in the `DOCKER_CERT_PATH` layout: keys 0600, the
//! server certificate for localhost, 127.0.0.1 and the given names, clientAuth client bundles that
//! openssl verifies and the docker CLI uses against the gateway; it never overwrites a file.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::cli::Docker;
use common::engine_socket;
use common::gateway::Process;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

fn dockgate(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dockgate"))
        .args(args)
        .output()
        .expect("run dockgate")
}

fn der(path: &Path) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_file(path)
        .expect("pem")
        .to_vec()
}

fn sans(path: &Path) -> Vec<String> {
    let der = der(path);
    let (_, cert) = X509Certificate::from_der(&der).expect("x509");
    let san = cert
        .subject_alternative_name()
        .expect("san")
        .expect("san present");
    san.value
        .general_names
        .iter()
        .map(|n| match n {
            GeneralName::DNSName(d) => d.to_string(),
            GeneralName::IPAddress(ip) => match ip.len() {
                4 => std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*ip).expect("v4")).to_string(),
                _ => std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*ip).expect("v6")).to_string(),
            },
            other => format!("{other:?}"),
        })
        .collect()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

#[test]
fn init_writes_the_docker_layout_and_never_overwrites() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("pki");
    let d = dir.to_str().expect("path");
    let out = dockgate(&[
        "certs",
        "init",
        "--dir",
        d,
        "--host",
        "docker.example.com",
        "--ip",
        "192.0.2.10",
        "--client",
        "alice",
        "--client",
        "bob",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    for key in [
        "ca-key.pem",
        "server-key.pem",
        "clients/alice/key.pem",
        "clients/bob/key.pem",
    ] {
        assert_eq!(mode(&dir.join(key)), 0o600, "{key}");
    }
    for f in [
        "ca.pem",
        "server-cert.pem",
        "clients/alice/ca.pem",
        "clients/alice/cert.pem",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let names = sans(&dir.join("server-cert.pem"));
    for want in [
        "localhost",
        "docker.example.com",
        "127.0.0.1",
        "::1",
        "192.0.2.10",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }

    // openssl agrees on the chain and the purposes.
    let verify = |purpose: &str, cert: &str| {
        Command::new("openssl")
            .args(["verify", "-purpose", purpose, "-CAfile"])
            .arg(dir.join("ca.pem"))
            .arg(dir.join(cert))
            .output()
            .expect("openssl")
    };
    assert!(verify("sslserver", "server-cert.pem").status.success());
    assert!(verify("sslclient", "clients/alice/cert.pem")
        .status
        .success());
    assert!(
        !verify("sslserver", "clients/alice/cert.pem")
            .status
            .success(),
        "client cert must not be a server cert"
    );

    // Again: refused, and nothing changed.
    let before = std::fs::read(dir.join("ca-key.pem")).expect("read");
    let again = dockgate(&["certs", "init", "--dir", d, "--client", "carol"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(std::fs::read(dir.join("ca-key.pem")).expect("read"), before);
    assert!(
        !dir.join("clients/carol").exists(),
        "a partial init was written"
    );

    // The bundle works with the docker CLI through the gateway; bob is not in [[allow]].
    let q = |p: &Path| toml::Value::String(p.display().to_string()).to_string();
    let config = tmp.path().join("dockgate.toml");
    std::fs::write(
        &config,
        format!(
            "[listen]\naddresses = [\"127.0.0.1:0\"]\n[tls]\nca = {}\ncert = {}\nkey = {}\n[upstream]\nsocket = {}\n[log]\nformat = \"json\"\n[[allow]]\ncn = \"alice\"\naccess = \"full\"\n",
            q(&dir.join("ca.pem")),
            q(&dir.join("server-cert.pem")),
            q(&dir.join("server-key.pem")),
            q(&engine_socket()),
        ),
    )
    .expect("config");
    let gw = Process::start_with_config(&config);
    let bundle = |name: &str| common::pki::ClientCert {
        name: name.to_string(),
        dir: dir.join("clients").join(name),
    };
    Docker::new(&gw.docker_host(), &bundle("alice")).ok(&["version"]);
    let out = Docker::new(&gw.docker_host(), &bundle("bob")).run(&["ps"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("access denied"));
}

#[test]
fn bad_client_names_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("pki");
    for name in ["../evil", "a/b", ".hidden", ""] {
        let out = dockgate(&[
            "certs",
            "init",
            "--dir",
            d.to_str().expect("path"),
            "--client",
            name,
        ]);
        assert!(!out.status.success(), "{name:?} accepted");
    }
    assert!(!d.join("ca.pem").exists());
}
