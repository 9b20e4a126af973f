//! Debian's Python Docker SDK (python3-docker, what docker-compose 1.x is built on) through a
//! profile: an ordinary `containers.run` works, and `privileged=True`, `cap_add`, `pid_mode`,
//! a root bind and `devices` raise `APIError` 403 with the gateway's message.

mod common;

use std::process::Command;

use common::gateway::Process;
use common::pki::Pki;
use common::policy::containers_labelled;
use common::{engine_socket, test_image, unique};

const RULES: &str = r#"[[allow]]
cn = "sdk"
access = "ci"

[profiles.ci]
allow = ["read-only", "POST /containers/create", "POST /containers/{id}/start",
         "POST /containers/{id}/wait", "DELETE /containers/{id}"]
"#;

const SCRIPT: &str = r#"
import sys, docker
port, certs, image, label = sys.argv[1:5]
tls = docker.tls.TLSConfig(client_cert=(certs + "/cert.pem", certs + "/key.pem"),
                           ca_cert=certs + "/ca.pem", verify=True)
c = docker.DockerClient(base_url="tcp://localhost:" + port, tls=tls, version="auto")
ctr = c.containers.run(image, ["sh", "-c", "echo sdk-ok"], detach=True, labels={"dockgate-test": label})
print("exit", ctr.wait()["StatusCode"])
ctr.remove()
for kw in [dict(privileged=True), dict(cap_add=["SYS_ADMIN"]), dict(pid_mode="host"),
           dict(volumes={"/": {"bind": "/host", "mode": "ro"}}), dict(devices=["/dev/null:/dev/x:rwm"])]:
    try:
        c.containers.run(image, "true", detach=True, labels={"dockgate-test": label}, **kw)
        print("ALLOWED", kw)
    except docker.errors.APIError as e:
        print("refused", e.status_code, e.explanation)
"#;

#[test]
fn python_sdk_runs_ordinary_containers_and_gets_403_for_the_rest() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), RULES);
    let who = pki.client("sdk");
    let label = unique("sdk");
    let out = Command::new("timeout")
        .args(["120", "/usr/bin/python3", "-c", SCRIPT])
        .arg(gw.addr.port().to_string())
        .arg(&who.dir)
        .arg(test_image())
        .arg(&label)
        // python-requests lets these override the bundle's ca.pem.
        .env_remove("REQUESTS_CA_BUNDLE")
        .env_remove("CURL_CA_BUNDLE")
        .output()
        .expect("python3 (Debian's python3-docker)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "exit 0", "{stdout}");
    assert_eq!(lines.len(), 6, "{stdout}");
    for l in &lines[1..] {
        assert!(
            l.starts_with("refused 403 dockgate: access denied"),
            "{stdout}"
        );
    }
    assert!(containers_labelled(&engine_socket(), &format!("dockgate-test={label}")).is_empty());
}
