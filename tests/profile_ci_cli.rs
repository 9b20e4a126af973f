//! The `ci` profile through the real docker CLI and the real engine: ordinary containers run
//! (with binds under the allowed prefix, and the one allowed capability), and every way to get
//! root on the host is refused with a 403 the CLI prints: `--privileged`, `--cap-add SYS_ADMIN`,
//! `-v /:/host`, a bind outside the prefix (also one that only shares its first characters),
//! `--mount type=bind`, `--pid host`, `--network host`, `--ipc host`, a namespace join,
//! `--device`, `--security-opt seccomp=unconfined`, `--volumes-from`, `exec --privileged`. The
//! oracle is the engine's state, inspected over its own socket; the audit line names the rule
//! and the field; and `dockgate explain` decides each case the same way.

mod common;

use common::cli::Docker;
use common::gateway::Process;
use common::pki::Pki;
use common::policy::{
    assert_explain_agrees_with_audit, assert_nothing_escaped, audit_line, explain, explained,
};
use common::{engine_socket, test_image, unique};

/// The ready-made `ci` profile of `config/profiles.toml` (its workspace moved to `prefix`), and
/// `ci-exec`, the same rules plus exec and hijacks, for the exec cases.
fn config(prefix: &str) -> String {
    let profiles =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/profiles.toml"))
            .expect("config/profiles.toml")
            .replace("\"/srv/ci\"", &format!("{prefix:?}"));
    format!(
        r#"[[allow]]
cn = "ci"
access = "ci"

[[allow]]
cn = "ci-exec"
access = "ci-exec"

{profiles}

[profiles.ci-exec]
allow = [
  "read-only",
  "POST /containers/create",
  "POST /containers/{{id}}/start",
  "POST /containers/{{id}}/exec",
  "POST /exec/{{id}}/start",
]
hijack = true
[profiles.ci-exec.containers]
cap_add = ["NET_BIND_SERVICE"]
bind_mounts = ["{prefix}"]
"#
    )
}

#[test]
fn ci_runs_ordinary_containers_and_nothing_that_reaches_the_host() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = dir.path().join("ci");
    let sibling = dir.path().join("ci2");
    std::fs::create_dir_all(prefix.join("work")).expect("mkdir");
    std::fs::create_dir_all(&sibling).expect("mkdir");
    std::fs::write(prefix.join("work/hello"), "from the host\n").expect("write");
    let prefix_s = prefix.to_str().expect("utf-8").to_string();
    let gw = Process::start(&pki, &engine_socket(), &config(&prefix_s));
    let ci = Docker::new(&gw.docker_host(), &pki.client("ci"));
    let ci_exec = Docker::new(&gw.docker_host(), &pki.client("ci-exec"));
    let image = test_image();
    let label = unique("ci-cli");
    let lbl = format!("dockgate-test={label}");

    // What a CI job does: run a container, bind its workspace, wait for it, remove it.
    let ok = unique("ci-ok");
    let bind = format!("{}:/work:ro", prefix.join("work").display());
    ci.ok(&[
        "run",
        "-d",
        "--name",
        &ok,
        "--label",
        &lbl,
        "-v",
        &bind,
        "--cap-add",
        "net_bind_service",
        &image,
        "sh",
        "-c",
        "cat /work/hello; sleep 600",
    ]);
    assert_eq!(
        audit_line(&gw, "ci", "POST", "/containers/create")["route"],
        "POST /containers/create"
    );
    // An ordinary exec works (exec create is inspected, exec start is a hijack the profile allows).
    assert_eq!(
        ci_exec.ok(&["exec", &ok, "cat", "/work/hello"]),
        "from the host\n"
    );
    // The ci profile itself has no exec and no hijack.
    let out = ci.run(&["exec", &ok, "true"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("dockgate: access denied"));
    let mount = format!("type=bind,source={},target=/w,readonly", prefix.display());
    let writable_mount = format!("type=bind,source={},target=/w", prefix.display());
    let writable_bind = format!("{}:/w", prefix.join("work").display());
    let ok2 = unique("ci-ok");
    ci.ok(&[
        "create", "--name", &ok2, "--label", &lbl, "--mount", &mount, &image, "true",
    ]);

    let root = "/:/host".to_string();
    let outside = format!("{}:/x", sibling.display());
    let dotdot = format!("{}/../ci2:/x", prefix.display());
    let outside_mount = format!("type=bind,source={},target=/x", sibling.display());
    let join = format!("container:{ok}");
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec!["--privileged"],
            "privileged containers are not allowed",
            "privileged",
        ),
        (
            vec!["--cap-add", "SYS_ADMIN"],
            "\"CAP_SYS_ADMIN\"",
            "cap_add",
        ),
        (vec!["--cap-add", "ALL"], "\"ALL\"", "cap_add"),
        (vec!["-v", &root], "the host path \"/\"", "bind_mounts"),
        (vec!["-v", &outside], "ci2", "bind_mounts"),
        (vec!["-v", &dotdot], "ci2", "bind_mounts"),
        (vec!["--mount", &outside_mount], "ci2", "bind_mounts"),
        // Inside the prefix, but writable: a job could plant a link there.
        (
            vec!["--mount", &writable_mount],
            "writable",
            "read_only_binds",
        ),
        (vec!["-v", &writable_bind], "writable", "read_only_binds"),
        (vec!["--pid", "host"], "host", "host_namespaces"),
        (vec!["--network", "host"], "host", "host_namespaces"),
        (vec!["--ipc", "host"], "host", "host_namespaces"),
        (vec!["--uts", "host"], "host", "host_namespaces"),
        (vec!["--userns", "host"], "host", "host_namespaces"),
        (vec!["--cgroupns", "host"], "host", "host_namespaces"),
        (vec!["--pid", &join], "container:", "host_namespaces"),
        (vec!["--device", "/dev/null"], "host devices", "devices"),
        (
            vec!["--device-read-bps", "/dev/null:1mb"],
            "host devices",
            "devices",
        ),
        // syslog (like gelf, fluentd…) makes the engine connect where the client says.
        (
            vec!["--log-driver", "syslog"],
            "the log driver \"syslog\"",
            "log_drivers",
        ),
        (
            vec!["--device-cgroup-rule", "c 1:3 rwm"],
            "host devices",
            "devices",
        ),
        (
            vec!["--security-opt", "seccomp=unconfined"],
            "seccomp=unconfined",
            "security_opt_unconfined",
        ),
        (
            vec!["--security-opt", "apparmor=unconfined"],
            "apparmor=unconfined",
            "security_opt_unconfined",
        ),
        (
            vec!["--security-opt", "label=disable"],
            "label=disable",
            "security_opt_unconfined",
        ),
        (
            vec!["--security-opt", "systempaths=unconfined"],
            "default paths",
            "security_opt_unconfined",
        ),
        (
            vec!["--volumes-from", &ok],
            "--volumes-from",
            "volumes_from",
        ),
    ];
    let cfg = gw.config.clone();
    for (flags, message, rule) in &cases {
        let name = unique("ci-bad");
        let mut args = vec!["run", "-d", "--name", &name, "--label", &lbl];
        args.extend(flags.iter().copied());
        args.extend([image.as_str(), "true"]);
        let out = ci.run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flags:?} ran");
        assert!(
            stderr.contains("dockgate: access denied") && stderr.contains(message),
            "{flags:?}: {stderr}"
        );
        let line = audit_line(&gw, "ci", "POST", "/containers/create");
        assert_eq!(line["decision"], "deny", "{flags:?}");
        assert_eq!(line["status"], 403, "{flags:?}");
        assert_eq!(line["access"], "ci");
        assert_eq!(
            line["rule"],
            format!("profiles.ci.containers.{rule}"),
            "{flags:?}"
        );
        assert!(
            line["field"].as_str().is_some_and(|f| !f.is_empty()),
            "{flags:?}: {line}"
        );
        // explain decides the body the CLI sends for this flag the same way.
        let body = cli_body(&image, flags);
        let (decision, text) = explain(
            &cfg,
            "ci",
            "POST",
            "/v1.47/containers/create",
            Some(body.as_bytes()),
        );
        assert_eq!(decision, "deny", "{flags:?}: {text}");
        assert_eq!(
            explained(&text, "rule").as_deref(),
            line["rule"].as_str(),
            "{flags:?}: {text}"
        );
    }

    // exec --privileged is refused at exec create; the container itself is fine.
    let out = ci_exec.run(&["exec", "--privileged", &ok, "true"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("privileged exec sessions are not allowed")
    );
    assert_eq!(
        audit_line(&gw, "ci-exec", "POST", "/exec")["rule"],
        "profiles.ci-exec.containers.privileged"
    );

    // The oracle: the engine holds nothing the profile does not grant.
    let made = common::policy::containers_labelled(&engine_socket(), &lbl);
    assert_eq!(made.len(), 2, "only the two ordinary containers exist");
    assert_nothing_escaped(&engine_socket(), &lbl, &["NET_BIND_SERVICE"], &prefix_s);

    ci.ok(&["rm", "-f", &ok, &ok2]);
    for cn in ["ci", "ci-exec"] {
        assert!(assert_explain_agrees_with_audit(&gw, cn) > 5, "{cn}");
    }
}

/// The create body the docker CLI sends for `flags` (the fields the rules read), for explain.
fn cli_body(image: &str, flags: &[&str]) -> String {
    let mut host = serde_json::Map::new();
    let mut i = 0;
    while i < flags.len() {
        let (flag, value) = (flags[i], flags.get(i + 1).copied().unwrap_or(""));
        let s = |v: &str| serde_json::Value::from(v);
        let a = |v: &str| serde_json::Value::from(vec![v]);
        let (key, v, step) = match flag {
            "--privileged" => ("Privileged", serde_json::Value::from(true), 1),
            "--cap-add" => ("CapAdd", a(value), 2),
            "-v" => ("Binds", a(value), 2),
            "--mount" => {
                let src = value
                    .split(',')
                    .find_map(|kv| kv.strip_prefix("source="))
                    .unwrap_or("");
                let m = serde_json::json!([{"Type": "bind", "Source": src, "Target": "/x"}]);
                ("Mounts", m, 2)
            }
            "--pid" => ("PidMode", s(value), 2),
            "--network" => ("NetworkMode", s(value), 2),
            "--ipc" => ("IpcMode", s(value), 2),
            "--uts" => ("UTSMode", s(value), 2),
            "--userns" => ("UsernsMode", s(value), 2),
            "--cgroupns" => ("CgroupnsMode", s(value), 2),
            "--device" => (
                "Devices",
                serde_json::json!([{"PathOnHost": value, "PathInContainer": value, "CgroupPermissions": "rwm"}]),
                2,
            ),
            "--device-cgroup-rule" => ("DeviceCgroupRules", a(value), 2),
            "--security-opt" => ("SecurityOpt", a(value), 2),
            "--volumes-from" => ("VolumesFrom", a(value), 2),
            "--log-driver" => ("LogConfig", serde_json::json!({"Type": value}), 2),
            "--device-read-bps" => {
                let (path, _) = value.split_once(':').unwrap_or((value, ""));
                let v = serde_json::json!([{"Path": path, "Rate": 1048576}]);
                ("BlkioDeviceReadBps", v, 2)
            }
            other => panic!("no body for {other}"),
        };
        host.insert(key.to_string(), v);
        i += step;
    }
    serde_json::json!({"Image": image, "HostConfig": host}).to_string()
}
