//! moby 20.10's own Go client (`github.com/docker/docker/client`, what Go tools link) through a
//! CI profile, over mutual TLS from `DOCKER_HOST`/`DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`: an
//! ordinary container with a bind under the allowed prefix is created, started, its logs read,
//! exec'd into over a hijacked connection, killed, waited for and removed; the SDK's own create
//! bodies for privileged, an added capability, a root bind, bind and volume mounts of `/etc`,
//! host PID and network namespaces, a device and `seccomp=unconfined` each come back as an error
//! carrying the gateway's message, and so does a privileged exec. The engine's state is the
//! oracle: nothing with the test's label is left, and the bind got the container's file.

mod common;

use std::process::Command;
use std::time::Duration;

use common::gateway::Process;
use common::pki::Pki;
use common::policy::containers_labelled;
use common::{engine_socket, test_image, unique};

const REFUSED: [&str; 10] = [
    "exec-privileged",
    "privileged",
    "cap-add",
    "root-bind",
    "mount-outside",
    "volume-bind",
    "pid-host",
    "network-host",
    "device",
    "seccomp",
];

fn rules(bind_dir: &str) -> String {
    format!(
        r#"[[allow]]
cn = "gosdk"
access = "ci"

[profiles.ci]
allow = [
  "read-only",
  "POST /containers/create",
  "POST /containers/{{id}}/start",
  "POST /containers/{{id}}/kill",
  "POST /containers/{{id}}/wait",
  "POST /containers/{{id}}/exec",
  "POST /exec/{{id}}/start",
  "DELETE /containers/{{id}}",
]
hijack = true

[profiles.ci.containers]
bind_mounts = ["{bind_dir}"]
"#
    )
}

#[test]
fn go_sdk_runs_ordinary_containers_and_gets_the_gateways_refusals() {
    let build_dir = tempfile::tempdir().expect("tempdir");
    let bin = common::go::build("sdk_client", build_dir.path());
    let bind = tempfile::tempdir().expect("tempdir");
    let bind_dir = bind.path().to_str().expect("utf-8").to_string();
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), &rules(&bind_dir));
    let who = pki.client("gosdk");
    let label = unique("gosdk");

    let out = Command::new("timeout")
        .arg("120")
        .arg(&bin)
        .args([&test_image(), &label, &bind_dir])
        .env("DOCKER_HOST", gw.docker_host())
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", &who.dir)
        .env_remove("DOCKER_API_VERSION")
        .env_remove("DOCKER_CONTEXT")
        .output()
        .expect("run the Go SDK client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");

    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.first().is_some_and(|l| l.starts_with("version 1.")),
        "{stdout}"
    );
    assert!(lines.contains(&"logs go-sdk-ok"), "{stdout}");
    assert!(lines.contains(&"exec written"), "{stdout}");
    assert!(lines.contains(&"removed"), "{stdout}");
    for name in REFUSED {
        let prefix = format!("refused {name}: ");
        let line = lines
            .iter()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("{name} was not refused:\n{stdout}"));
        assert!(
            line.contains("Error response from daemon: dockgate: access denied"),
            "{line}"
        );
    }
    assert!(!stdout.contains("ALLOWED"), "{stdout}");

    // The refusals name their rules on record, one per refused create, in order.
    let denied = |path_ends: &str, n: usize| -> Vec<String> {
        common::wait::until(Duration::from_secs(10), || {
            let rules: Vec<String> = gw
                .audit()
                .into_iter()
                .filter(|l| {
                    l["client_cn"] == "gosdk"
                        && l["event"] == "end"
                        && l["decision"] == "deny"
                        && l["path"].as_str().is_some_and(|p| p.ends_with(path_ends))
                })
                .map(|l| l["rule"].as_str().unwrap_or_default().to_string())
                .collect();
            (rules.len() >= n).then_some(rules)
        })
        .unwrap_or_else(|| panic!("not every refusal is on record: {:?}", gw.audit()))
    };
    assert_eq!(denied("/exec", 1), ["profiles.ci.containers.privileged"]);
    let rules = denied("/v1.41/containers/create", REFUSED.len() - 1);
    let want = [
        "privileged",
        "cap_add",
        "bind_mounts",
        "bind_mounts",
        "bind_mounts",
        "host_namespaces",
        "host_namespaces",
        "devices",
        "security_opt_unconfined",
    ]
    .map(|r| format!("profiles.ci.containers.{r}"));
    assert_eq!(rules, want);

    // The engine's state: the ordinary container wrote through its bind and is gone; none of
    // the refused ones exists.
    assert_eq!(
        std::fs::read_to_string(bind.path().join("out")).expect("the bind's file"),
        "written\n"
    );
    assert!(containers_labelled(&engine_socket(), &format!("dockgate-test={label}")).is_empty());
}
