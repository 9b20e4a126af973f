//! Raw requests that try to get around the `ci` profile's body rules with what the engine's
//! decoder accepts: key case variants, duplicated keys, Unicode-folded and `\u`-escaped keys,
//! deprecated top-level HostConfig fields, `Mounts` instead of `Binds`, volumes that bind a host
//! path, trailing data, a chunked body, a body over `limits.max_inspected_body`, a
//! `Content-Length: 0` with a body behind it, both `Content-Length` and `Transfer-Encoding`, and an old-API start
//! with a HostConfig body. None gets through: the oracle is the engine's state over its own
//! socket. `dockgate explain` answers each body with the same status as `serve`.

mod common;

use std::net::SocketAddr;

use common::client::{answer, connect};
use common::gateway::Process;
use common::pki::{ClientCert, Pki};
use common::policy::{assert_nothing_escaped, containers_labelled, explain, explained};
use common::{engine_socket, test_image, unique};

const LIMIT: usize = 8192;

fn config(prefix: &str) -> String {
    format!(
        r#"[limits]
max_inspected_body = {LIMIT}

[[allow]]
cn = "ci"
access = "ci"

[profiles.ci]
allow = [
  "read-only",
  "POST /containers/create",
  "POST /containers/{{id}}/start",
  "POST /containers/{{id}}/update",
  "POST /containers/{{id}}/exec",
  "POST /volumes/create",
  "DELETE /containers/{{id}}",
]
[profiles.ci.containers]
bind_mounts = ["{prefix}"]
"#
    )
}

/// Sends `head` + `body` as raw bytes on a fresh connection; the status and the response.
fn raw(addr: SocketAddr, pki: &Pki, who: &ClientCert, bytes: Vec<u8>) -> (u16, String) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        use tokio::io::AsyncWriteExt;
        let mut tls = connect(addr, pki, who).await;
        tls.write_all(&bytes).await.expect("write");
        answer(&mut tls).await
    })
}

fn post(path: &str, body: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    v.extend_from_slice(body);
    v
}

fn chunked(path: &str, body: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for part in body.chunks(7) {
        v.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        v.extend_from_slice(part);
        v.extend_from_slice(b"\r\n");
    }
    v.extend_from_slice(b"0\r\n\r\n");
    v
}

#[test]
fn no_encoding_of_a_forbidden_body_gets_through() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = dir.path().join("ci");
    std::fs::create_dir_all(&prefix).expect("mkdir");
    let prefix_s = prefix.to_str().expect("utf-8").to_string();
    let gw = Process::start(&pki, &engine_socket(), &config(&prefix_s));
    let ci = pki.client("ci");
    let image = test_image();
    let label = format!("dockgate-test={}", unique("raw"));
    let (lk, lv) = label.split_once('=').expect("label");
    let labels = format!(r#""Labels":{{"{lk}":"{lv}"}}"#);
    let head = format!(r#""Image":"{image}",{labels}"#);
    let create = "/v1.41/containers/create";

    // An ordinary body passes, and the engine gets exactly what was inspected.
    let ok_body =
        format!(r#"{{{head},"Cmd":["sleep","600"],"HostConfig":{{"Binds":["{prefix_s}:/w"]}}}}"#);
    let (status, text) = raw(gw.addr, &pki, &ci, post(create, ok_body.as_bytes()));
    assert_eq!(status, 201, "{text}");
    let id: String = {
        let json = text.split("\r\n\r\n").nth(1).expect("body");
        let v: serde_json::Value = serde_json::from_str(json.trim()).expect("create reply");
        v["Id"].as_str().expect("Id").to_string()
    };
    let (status, text) = raw(gw.addr, &pki, &ci, chunked(create, ok_body.as_bytes()));
    assert_eq!(status, 201, "a chunked ordinary body passes too: {text}");

    let body = |rest: &str| format!("{{{head},{rest}}}");
    let cases: Vec<(&str, String, u16)> = vec![
        (
            "lower-case key",
            body(r#""HostConfig":{"privileged":true}"#),
            403,
        ),
        (
            "upper-case key",
            body(r#""HOSTCONFIG":{"PRIVILEGED":true}"#),
            403,
        ),
        (
            "escaped key",
            body(r#""HostConfig":{"\u0050rivileged":true}"#),
            403,
        ),
        (
            "escaped object key",
            body(r#""Host\u0043onfig":{"Privileged":true}"#),
            403,
        ),
        (
            "duplicate key",
            body(r#""HostConfig":{"Privileged":false,"privileged":true}"#),
            400,
        ),
        (
            "duplicate HostConfig",
            body(r#""HostConfig":{},"hostconfig":{"Privileged":true}"#),
            400,
        ),
        (
            "long-s folded key",
            body("\"HostConfig\":{\"Bind\u{17f}\":[\"/:/host\"]}"),
            403,
        ),
        (
            "Kelvin folded key",
            body("\"HostConfig\":{\"Networ\u{212a}Mode\":\"host\"}"),
            403,
        ),
        (
            "folded SecurityOpt",
            body("\"HostConfig\":{\"\u{17f}ecurityOpt\":[\"seccomp=unconfined\"]}"),
            403,
        ),
        ("top-level Privileged", body(r#""Privileged":true"#), 403),
        ("top-level Binds", body(r#""Binds":["/:/host"]"#), 403),
        (
            "top-level with null HostConfig",
            body(r#""HostConfig":null,"PidMode":"host""#),
            403,
        ),
        (
            "top-level and HostConfig",
            body(r#""Binds":["/:/host"],"HostConfig":{}"#),
            400,
        ),
        (
            "Mounts bind",
            body(r#""HostConfig":{"Mounts":[{"Type":"bind","Source":"/","Target":"/host"}]}"#),
            403,
        ),
        (
            "Mounts bind, folded keys",
            body(r#""HostConfig":{"mounts":[{"type":"bind","source":"/etc","target":"/h"}]}"#),
            403,
        ),
        (
            "Mounts volume with a local bind",
            body(
                r#""HostConfig":{"Mounts":[{"Type":"volume","Source":"dg-escape","Target":"/h","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/"}}}}]}"#,
            ),
            403,
        ),
        (
            "cap_add lower case",
            body(r#""HostConfig":{"CapAdd":["cap_sys_admin"]}"#),
            403,
        ),
        (
            "Devices",
            body(
                r#""HostConfig":{"Devices":[{"PathOnHost":"/dev/mem","PathInContainer":"/dev/mem","CgroupPermissions":"rwm"}]}"#,
            ),
            403,
        ),
        ("wrong type", body(r#""HostConfig":{"Privileged":1}"#), 400),
        (
            "trailing object",
            format!(
                "{}{}",
                body(r#""Cmd":["true"]"#),
                r#"{"HostConfig":{"Privileged":true}}"#
            ),
            400,
        ),
        (
            "trailing bytes",
            format!("{} x", body(r#""Cmd":["true"]"#)),
            400,
        ),
        (
            "not an object",
            r#"[{"HostConfig":{"Privileged":true}}]"#.to_string(),
            400,
        ),
        (
            "over the limit",
            body(&format!(
                r#""Env":["PAD={}"],"HostConfig":{{"Privileged":true}}"#,
                "a".repeat(LIMIT)
            )),
            413,
        ),
    ];
    let cfg = gw.config.clone();
    for (what, b, want) in &cases {
        let (status, text) = raw(gw.addr, &pki, &ci, post(create, b.as_bytes()));
        assert_eq!(status, *want, "{what}: {text}");
        let (decision, x) = explain(&cfg, "ci", "POST", create, Some(b.as_bytes()));
        assert_eq!(decision, "deny", "{what}: {x}");
        assert_eq!(
            explained(&x, "status"),
            Some(want.to_string()),
            "{what}: {x}"
        );
    }

    // Framing: chunked, empty Content-Length with a body behind it, disagreeing headers.
    let privileged = body(r#""HostConfig":{"Privileged":true}"#);
    let (status, text) = raw(gw.addr, &pki, &ci, chunked(create, privileged.as_bytes()));
    assert_eq!(status, 403, "chunked: {text}");
    let mut cl0 = format!(
        "POST {create} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes();
    cl0.extend_from_slice(privileged.as_bytes());
    let (status, text) = raw(gw.addr, &pki, &ci, cl0);
    assert_eq!(status, 400, "Content-Length 0 with a body: {text}");
    assert!(!text.contains(" 201 "), "{text}");
    let mut both = format!(
        "POST {create} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        privileged.len()
    )
    .into_bytes();
    both.extend_from_slice(format!("{:x}\r\n", privileged.len()).as_bytes());
    both.extend_from_slice(privileged.as_bytes());
    both.extend_from_slice(b"\r\n0\r\n\r\n");
    let (status, text) = raw(gw.addr, &pki, &ci, both);
    // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length (hyper drops the latter and
    // closes the connection afterwards); the body is read chunked, inspected, and refused.
    assert_eq!(status, 403, "Content-Length and Transfer-Encoding: {text}");

    // The other inspected endpoints.
    let others: Vec<(String, String, u16)> = vec![
        (format!("/v1.23/containers/{id}/start"), r#"{"Privileged":true}"#.into(), 403),
        (format!("/v1.41/containers/{id}/start"), r#"{"Binds":["/:/host"]}"#.into(), 403),
        (format!("/v1.41/containers/{id}/exec"), r#"{"Cmd":["true"],"privileged":true}"#.into(), 403),
        (format!("/v1.41/containers/{id}/exec"), r#"{"Cmd":["true"],"Privileged":false,"Privileged":true}"#.into(), 400),
        (format!("/v1.41/containers/{id}/update"), r#"{"Devices":[{"PathOnHost":"/dev/mem","PathInContainer":"/dev/mem","CgroupPermissions":"rwm"}]}"#.into(), 403),
        ("/v1.41/volumes/create".into(), r#"{"Name":"dg-escape","Driver":"local","DriverOpts":{"type":"none","o":"bind","device":"/"}}"#.into(), 403),
        ("/v1.41/volumes/create".into(), r#"{"Name":"dg-escape","driver":"local","driveropts":{"type":"none","o":"bind","device":"/etc"}}"#.into(), 403),
    ];
    for (path, b, want) in &others {
        let (status, text) = raw(gw.addr, &pki, &ci, post(path, b.as_bytes()));
        assert_eq!(status, *want, "{path} {b}: {text}");
        let (decision, x) = explain(&cfg, "ci", "POST", path, Some(b.as_bytes()));
        assert_eq!(decision, "deny", "{path} {b}: {x}");
        assert_eq!(
            explained(&x, "status"),
            Some(want.to_string()),
            "{path}: {x}"
        );
    }

    // The oracle: only the two ordinary containers exist, no volume binds a host path.
    let made = containers_labelled(&engine_socket(), &label);
    assert_eq!(
        made.len(),
        2,
        "only the ordinary creates reached the engine"
    );
    assert_nothing_escaped(&engine_socket(), &label, &[], &prefix_s);
    let vol = common::cli::docker_direct(&engine_socket(), &["volume", "inspect", "dg-escape"]);
    assert!(
        !vol.status.success(),
        "a volume binding a host path was created"
    );
    for c in made {
        let id = c["Id"].as_str().expect("id");
        common::cli::docker_direct(&engine_socket(), &["rm", "-f", id]);
    }
}
