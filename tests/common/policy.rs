//! Helpers for the profile tests: `dockgate explain` on the gateway's own config, the audit line
//! of a request, and the engine-state oracle (what really exists, inspected over the socket).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::cli::docker_direct;
use super::gateway::Process;

/// `dockgate explain --config CONFIG --cn CN METHOD TARGET [--body -]`: the decision line
/// (`allow`, `deny`, `would_deny`, `invalid`) and the whole output.
pub fn explain(
    config: &Path,
    cn: &str,
    method: &str,
    target: &str,
    body: Option<&[u8]>,
) -> (String, String) {
    use std::io::Write;
    let mut c = Command::new(env!("CARGO_BIN_EXE_dockgate"));
    c.arg("explain")
        .arg("--config")
        .arg(config)
        .args(["--cn", cn]);
    if body.is_some() {
        c.args(["--body", "-"]);
    }
    c.arg(method).arg(target);
    c.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().expect("dockgate explain");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        if let Some(b) = body {
            stdin.write_all(b).expect("write body");
        }
    }
    let out = child.wait_with_output().expect("explain");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let decision = text
        .lines()
        .find_map(|l| l.strip_prefix("decision: "))
        .unwrap_or_else(|| {
            panic!(
                "explain printed no decision: {text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
        .trim()
        .to_string();
    let allowed = decision == "allow" || decision == "would_deny";
    assert_eq!(
        out.status.success(),
        allowed,
        "explain's exit status disagrees with its decision: {text}"
    );
    (decision, text)
}

/// The value of `key:` in explain's output.
pub fn explained(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().to_string())
}

/// The audit `end` line of the last request of `cn` on `method` whose path ends with `suffix`.
pub fn audit_line(gw: &Process, cn: &str, method: &str, suffix: &str) -> Value {
    let pred = |v: &Value| {
        v["target"] == "dockgate::audit"
            && v["event"] == "end"
            && v["client_cn"] == cn
            && v["method"] == method
            && v["path"].as_str().is_some_and(|p| p.ends_with(suffix))
    };
    super::wait::until(std::time::Duration::from_secs(10), || {
        gw.json_logs().into_iter().rev().find(|v| pred(v))
    })
    .unwrap_or_else(|| panic!("no audit line for {cn} {method} …{suffix}"))
}

/// Every container labelled `label`, inspected over the engine's own socket.
pub fn containers_labelled(socket: &Path, label: &str) -> Vec<Value> {
    let filter = format!("label={label}");
    let out = docker_direct(
        socket,
        &["ps", "-a", "-q", "--no-trunc", "--filter", &filter],
    );
    assert!(out.status.success(), "docker ps: {out:?}");
    let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    if ids.is_empty() {
        return Vec::new();
    }
    let mut args = vec!["inspect"];
    args.extend(ids.iter().map(String::as_str));
    let out = docker_direct(socket, &args);
    assert!(out.status.success(), "docker inspect: {out:?}");
    serde_json::from_slice::<Vec<Value>>(&out.stdout).expect("inspect JSON")
}

/// Whether `path` is `prefix` or below it, by path component.
fn under(path: &str, prefix: &str) -> bool {
    path == prefix || path.starts_with(&format!("{prefix}/"))
}

/// The oracle: no container labelled `label` (and no exec in one) has any power the `ci`
/// profile does not grant: privilege, capabilities beyond `caps`, host paths outside
/// `bind_prefix`, host or joined namespaces, devices, unconfined security options.
pub fn assert_nothing_escaped(socket: &Path, label: &str, caps: &[&str], bind_prefix: &str) {
    let all = containers_labelled(socket, label);
    // On cgroup v1 the engine itself gives every container the host's cgroup namespace.
    let info = docker_direct(socket, &["info", "--format", "{{.CgroupVersion}}"]);
    let cgroup_v1 = String::from_utf8_lossy(&info.stdout).trim() == "1";
    for c in &all {
        let name = c["Name"].as_str().unwrap_or("?");
        let h = &c["HostConfig"];
        assert_ne!(h["Privileged"], true, "{name} is privileged");
        for cap in h["CapAdd"].as_array().into_iter().flatten() {
            let cap = cap.as_str().unwrap_or("").to_ascii_uppercase();
            let bare = cap.strip_prefix("CAP_").unwrap_or(&cap).to_string();
            assert!(caps.contains(&bare.as_str()), "{name} has capability {cap}");
        }
        for b in h["Binds"].as_array().into_iter().flatten() {
            let src = b.as_str().unwrap_or("").split(':').next().unwrap_or("");
            if src.starts_with('/') {
                assert!(under(src, bind_prefix), "{name} binds {src}");
            }
        }
        for m in c["Mounts"].as_array().into_iter().flatten() {
            if m["Type"] == "bind" {
                let src = m["Source"].as_str().unwrap_or("");
                assert!(under(src, bind_prefix), "{name} has a bind mount of {src}");
            }
            if m["Type"] == "volume" {
                // A local volume that binds a host path shows its options in the volume.
                let vol = m["Name"].as_str().unwrap_or("");
                let out = docker_direct(socket, &["volume", "inspect", vol]);
                let v: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
                if let Some(dev) = v.first().and_then(|v| v["Options"]["device"].as_str()) {
                    assert!(
                        under(dev, bind_prefix),
                        "{name} mounts volume {vol} on {dev}"
                    );
                }
            }
        }
        for key in [
            "NetworkMode",
            "PidMode",
            "IpcMode",
            "UTSMode",
            "UsernsMode",
            "CgroupnsMode",
        ] {
            let mode = h[key].as_str().unwrap_or("");
            if key == "CgroupnsMode" && cgroup_v1 && mode == "host" {
                continue;
            }
            assert!(
                mode != "host" && !mode.starts_with("container:"),
                "{name} has {key}={mode}"
            );
        }
        for key in ["Devices", "DeviceCgroupRules", "DeviceRequests"] {
            let n = h[key].as_array().map_or(0, Vec::len);
            assert_eq!(n, 0, "{name} has {key}");
        }
        for opt in h["SecurityOpt"].as_array().into_iter().flatten() {
            let opt = opt.as_str().unwrap_or("");
            assert!(
                !opt.contains("unconfined") && !opt.contains("disable"),
                "{name} has security option {opt}"
            );
        }
        for exec in c["ExecIDs"].as_array().into_iter().flatten() {
            let id = exec.as_str().unwrap_or("");
            let out = Command::new("curl")
                .args(["-sS", "--unix-socket"])
                .arg(socket)
                .arg(format!("http://engine/exec/{id}/json"))
                .output()
                .expect("curl");
            let v: Value = serde_json::from_slice(&out.stdout).expect("exec inspect");
            assert_ne!(v["Privileged"], true, "{name} has privileged exec {id}");
        }
    }
}

/// Every request of `cn` in the gateway's audit trail, asked again of `dockgate explain`: same
/// decision. Requests whose body was inspected are skipped (the log has no bodies; those cases
/// are compared body by body in the tests that send them).
pub fn assert_explain_agrees_with_audit(gw: &Process, cn: &str) -> usize {
    let mut compared = 0;
    for v in gw.json_logs() {
        if v["target"] != "dockgate::audit" || v["event"] != "end" || v["client_cn"] != cn {
            continue;
        }
        let decision = v["decision"].as_str().unwrap_or("");
        if decision == "invalid" {
            continue;
        }
        let path = v["raw_path"]
            .as_str()
            .or(v["path"].as_str())
            .unwrap_or("")
            .to_string();
        let query = v["query"].as_str().unwrap_or("");
        let target = if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        };
        let method = v["method"].as_str().unwrap_or("");
        let (said, text) = explain(&gw.config, cn, method, &target, None);
        if text.contains("body:     inspected") {
            continue;
        }
        assert_eq!(
            said, decision,
            "{method} {target}: serve said {decision}, explain:\n{text}"
        );
        compared += 1;
    }
    compared
}
