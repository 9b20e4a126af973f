//! The ready-made profiles of `config/profiles.toml` (the ones the README shows), each proven
//! with curl issuing the calls its tool makes against the real engine: monitoring, log viewer,
//! Traefik's Docker provider, Homepage-style dashboards and Watchtower's update cycle — and each
//! refused what it does not need. `dockgate explain` decides every one of these calls alike.

mod common;

use common::cli::{curl, docker_direct};
use common::gateway::Process;
use common::pki::{ClientCert, Pki};
use common::policy::explain;
use common::{engine_socket, pull_repo, registry, test_image, unique};

fn profiles() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/profiles.toml"))
        .expect("config/profiles.toml")
}

fn rules() -> String {
    let mut s = String::from("[[allow]]\ncn = \"admin\"\naccess = \"full\"\n\n");
    for p in [
        "monitoring",
        "log-viewer",
        "traefik",
        "homepage",
        "watchtower",
    ] {
        s.push_str(&format!("[[allow]]\ncn = \"{p}\"\naccess = \"{p}\"\n\n"));
    }
    s + &profiles()
}

struct Api {
    base: String,
    client: ClientCert,
    config: std::path::PathBuf,
}

impl Api {
    /// `METHOD path [JSON body]` → (status, body).
    fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        let mut c = curl(&self.client);
        c.args(["-X", method, "-w", "\n%{http_code}"]);
        if method == "HEAD" {
            c.arg("-I");
        }
        if let Some(b) = body {
            c.args(["-H", "Content-Type: application/json", "--data-binary", b]);
        }
        let out = c
            .arg(format!("{}{path}", self.base))
            .output()
            .expect("curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }

    /// What `dockgate explain` says about the same request.
    fn explain(&self, method: &str, path: &str, body: Option<&str>) -> String {
        let target = format!("/v1.41{path}");
        let (decision, _) = explain(
            &self.config,
            &self.client.name,
            method,
            &target,
            body.map(str::as_bytes),
        );
        decision
    }

    fn allowed(&self, method: &str, path: &str, body: Option<&str>) -> String {
        assert_eq!(
            self.explain(method, path, body),
            "allow",
            "explain: {method} {path}"
        );
        let (status, text) = self.call(method, path, body);
        assert!(
            (200..300).contains(&status),
            "{} {method} {path}: {status} {text}",
            self.client.name
        );
        text
    }

    fn refused(&self, method: &str, path: &str) {
        assert_eq!(
            self.explain(method, path, None),
            "deny",
            "explain: {method} {path}"
        );
        let (status, text) = self.call(method, path, None);
        assert_eq!(status, 403, "{} {method} {path}: {text}", self.client.name);
        assert!(text.contains("dockgate: access denied"), "{text}");
    }
}

#[test]
fn ready_made_profiles_allow_what_their_tools_call_and_nothing_more() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), &rules());
    let base = format!("https://localhost:{}/v1.41", gw.addr.port());
    let api = |cn: &str| Api {
        base: base.clone(),
        client: pki.client(cn),
        config: gw.config.clone(),
    };
    let admin = api("admin");
    let image = test_image();
    let name = unique("ready");
    let created = admin.allowed(
        "POST",
        &format!("/containers/create?name={name}"),
        Some(&format!(r#"{{"Image":"{image}","Cmd":["sh","-c","echo ready; sleep 600"],"Env":["TOKEN=secret"]}}"#)),
    );
    let id = serde_json::from_str::<serde_json::Value>(&created).expect("json")["Id"]
        .as_str()
        .expect("Id")
        .to_string();
    admin.allowed("POST", &format!("/containers/{id}/start"), None);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let events = format!("/events?since={}&until={}", now - 5, now + 1);
    let stats = format!("/containers/{id}/stats?stream=false");

    let m = api("monitoring");
    m.allowed("GET", "/_ping", None);
    m.allowed("HEAD", "/_ping", None);
    for p in [
        "/version",
        "/info",
        "/system/df",
        "/containers/json?all=1",
        "/images/json",
        "/networks",
        "/volumes",
    ] {
        m.allowed("GET", p, None);
    }
    m.allowed("GET", &events, None);
    m.allowed("GET", &stats, None);
    m.refused("GET", &format!("/containers/{id}/json"));
    m.refused("GET", &format!("/containers/{id}/logs?stdout=1"));
    m.refused("GET", &format!("/containers/{id}/top"));
    m.refused("POST", &format!("/containers/{id}/stop"));

    let l = api("log-viewer");
    l.allowed("GET", "/containers/json", None);
    let inspect = l.allowed("GET", &format!("/containers/{id}/json"), None);
    assert!(inspect.contains(&name));
    let logs = l.allowed(
        "GET",
        &format!("/containers/{id}/logs?stdout=1&stderr=1"),
        None,
    );
    assert!(logs.contains("ready"), "{logs:?}");
    l.allowed("GET", &events, None);
    l.allowed("GET", &stats, None);
    l.refused("POST", &format!("/containers/{id}/exec"));
    l.refused("GET", &format!("/containers/{id}/export"));

    let t = api("traefik");
    t.allowed("GET", "/_ping", None);
    t.allowed("GET", "/version", None);
    t.allowed("GET", "/containers/json", None);
    t.allowed("GET", &format!("/containers/{id}/json"), None);
    t.allowed("GET", &events, None);
    t.refused("GET", "/images/json");
    t.refused("POST", "/containers/create");
    t.refused("GET", "/swarm");

    let h = api("homepage");
    h.allowed("GET", "/containers/json?all=1", None);
    h.allowed("GET", &format!("/containers/{id}/json"), None);
    h.allowed("GET", &stats, None);
    h.refused("GET", &format!("/containers/{id}/logs?stdout=1"));
    h.refused("POST", &format!("/containers/{id}/restart"));

    // Watchtower's cycle: list, inspect, check the image, pull, stop, rename, recreate with the
    // same settings, reconnect networks, start, remove the old one and the old image.
    let w = api("watchtower");
    let net = unique("ready-net");
    admin.allowed(
        "POST",
        "/networks/create",
        Some(&format!(r#"{{"Name":"{net}"}}"#)),
    );
    w.allowed("GET", "/containers/json", None);
    let old: serde_json::Value =
        serde_json::from_str(&w.allowed("GET", &format!("/containers/{id}/json"), None))
            .expect("json");
    w.allowed("GET", &format!("/images/{image}/json"), None);
    let repo = format!("{}/{}", registry(), pull_repo());
    w.allowed(
        "POST",
        &format!("/images/create?fromImage={repo}&tag=latest"),
        None,
    );
    w.allowed("GET", &format!("/images/{repo}:latest/json"), None);
    w.allowed("POST", &format!("/containers/{id}/stop?t=1"), None);
    w.allowed(
        "POST",
        &format!("/containers/{id}/rename?name={name}-old"),
        None,
    );
    let mut body = old["Config"].clone();
    body["HostConfig"] = old["HostConfig"].clone();
    let made = w.allowed(
        "POST",
        &format!("/containers/create?name={name}"),
        Some(&body.to_string()),
    );
    let new_id = serde_json::from_str::<serde_json::Value>(&made).expect("json")["Id"]
        .as_str()
        .expect("Id")
        .to_string();
    let connect = format!(r#"{{"Container":"{new_id}"}}"#);
    w.allowed("POST", &format!("/networks/{net}/connect"), Some(&connect));
    w.allowed(
        "POST",
        &format!("/networks/{net}/disconnect"),
        Some(&connect),
    );
    w.allowed("POST", &format!("/containers/{new_id}/start"), None);
    w.allowed("DELETE", &format!("/containers/{id}"), None);
    w.allowed("DELETE", &format!("/images/{repo}:latest"), None);
    w.refused("POST", &format!("/containers/{new_id}/exec"));
    w.refused("POST", &format!("/containers/{new_id}/update"));
    // The recreate is held to the body rules: a privileged copy is refused.
    body["HostConfig"]["Privileged"] = true.into();
    let (status, text) = w.call("POST", "/containers/create", Some(&body.to_string()));
    assert_eq!(status, 403, "{text}");
    assert_eq!(
        w.explain("POST", "/containers/create", Some(&body.to_string())),
        "deny"
    );

    w.allowed("POST", &format!("/containers/{new_id}/kill"), None);
    w.allowed("DELETE", &format!("/containers/{new_id}"), None);
    docker_direct(&engine_socket(), &["network", "rm", &net]);
}
