//! The ready-made `deployer` profile with Debian's docker-compose: `up -d`, `ps`, `logs` and
//! `down -v` of a project with a network, a named volume and a bind under the allowed prefix
//! all work through the gateway; a project that binds outside the prefix or asks for privilege
//! is refused with the gateway's message, and nothing of it reaches the engine.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::gateway::Process;
use common::pki::{ClientCert, Pki};
use common::policy::{
    assert_explain_agrees_with_audit, assert_nothing_escaped, containers_labelled,
};
use common::{engine_socket, test_image, unique};

fn compose(gw: &Process, who: &ClientCert, dir: &Path, project: &str, args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("180")
        .arg("docker-compose")
        .args(["-p", project])
        .args(args)
        .current_dir(dir)
        .env("DOCKER_HOST", gw.docker_host())
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", &who.dir)
        .env_remove("DOCKER_CONTEXT")
        .env_remove("COMPOSE_API_VERSION")
        // python-requests lets these override the bundle's ca.pem.
        .env_remove("REQUESTS_CA_BUNDLE")
        .env_remove("CURL_CA_BUNDLE")
        .output()
        .expect("docker-compose (Debian's docker-compose package)")
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "docker-compose {what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn project_file(image: &str, label: &str, bind: &Path, extra: &str) -> String {
    format!(
        r#"version: "3.7"
services:
  web:
    image: {image}
    command: ["sh", "-c", "echo deployed; cat /data/hello; exec sleep 600"]
    labels:
      dockgate-test: "{label}"
    volumes:
      - {bind}:/data:ro
      - state:/state
{extra}
volumes:
  state: {{}}
"#,
        bind = bind.display()
    )
}

#[test]
fn compose_deploys_through_the_deployer_profile_and_cannot_escape_it() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let apps = dir.path().join("apps");
    std::fs::create_dir_all(apps.join("site")).expect("mkdir");
    std::fs::write(apps.join("site/hello"), "hello from the host\n").expect("write");
    let apps_s = apps.to_str().expect("utf-8").to_string();
    let profiles =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/profiles.toml"))
            .expect("profiles")
            .replace("\"/srv/apps\"", &format!("{apps_s:?}"));
    let rules = format!("[[allow]]\ncn = \"deploy\"\naccess = \"deployer\"\n\n{profiles}");
    let gw = Process::start(&pki, &engine_socket(), &rules);
    let who = pki.client("deploy");
    let image = test_image();
    let label = unique("compose");

    let good = dir.path().join("good");
    std::fs::create_dir_all(&good).expect("mkdir");
    std::fs::write(
        good.join("docker-compose.yml"),
        project_file(&image, &label, &apps.join("site"), ""),
    )
    .expect("write");
    let project = unique("dg").replace('-', "");
    ok(compose(&gw, &who, &good, &project, &["up", "-d"]), "up -d");
    let ps = ok(compose(&gw, &who, &good, &project, &["ps"]), "ps");
    assert!(ps.contains("web") && ps.contains("Up"), "{ps}");
    let logs = common::wait::until(std::time::Duration::from_secs(30), || {
        let l = ok(
            compose(&gw, &who, &good, &project, &["logs", "--no-color"]),
            "logs",
        );
        l.contains("hello from the host").then_some(l)
    })
    .expect("the service's logs arrive");
    assert!(logs.contains("deployed"), "{logs}");
    assert_eq!(
        containers_labelled(&engine_socket(), &format!("dockgate-test={label}")).len(),
        1
    );
    ok(
        compose(&gw, &who, &good, &project, &["down", "-v"]),
        "down -v",
    );
    assert!(containers_labelled(&engine_socket(), &format!("dockgate-test={label}")).is_empty());

    // Projects that reach for the host are refused, and leave nothing behind.
    let bad_label = unique("compose-bad");
    for (what, bind, extra) in [
        ("bind outside the prefix", dir.path().to_path_buf(), ""),
        ("privileged", apps.join("site"), "    privileged: true\n"),
        (
            "host network",
            apps.join("site"),
            "    network_mode: host\n",
        ),
    ] {
        let bad = dir.path().join(format!("bad-{}", what.replace(' ', "-")));
        std::fs::create_dir_all(&bad).expect("mkdir");
        std::fs::write(
            bad.join("docker-compose.yml"),
            project_file(&image, &bad_label, &bind, extra),
        )
        .expect("write");
        let project = unique("dgbad").replace('-', "");
        let out = compose(&gw, &who, &bad, &project, &["up", "-d"]);
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}: up -d succeeded");
        assert!(text.contains("dockgate: access denied"), "{what}: {text}");
        ok(
            compose(&gw, &who, &bad, &project, &["down", "-v"]),
            "down -v",
        );
    }
    assert!(
        containers_labelled(&engine_socket(), &format!("dockgate-test={bad_label}")).is_empty()
    );
    assert_nothing_escaped(
        &engine_socket(),
        &format!("dockgate-test={label}"),
        &[],
        &apps_s,
    );
    assert!(assert_explain_agrees_with_audit(&gw, "deploy") > 10);
}
