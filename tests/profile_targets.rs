//! A profile acts only on containers it could have created. An admin (`full`) runs a container
//! in the host's PID namespace with the host's `/` bound in, creates a privileged one and one
//! that binds `/`, and sets up a privileged exec in an ordinary container; a client whose profile
//! allows start, restart, update, exec, attach and archive uploads, downloads and stats, with
//! hijacks, still cannot use any of them on those, through the real docker CLI: each is a 403
//! naming the container and the rule (copying out of the container that binds `/` would read
//! the host's files). Its own ordinary container it can exec into, copy into and out of, and
//! restart. The oracle is the engine's state over its own socket: the privileged and
//! host-binding containers never ran, nothing was copied in or out, the privileged exec never
//! ran, the running one was not restarted. Named volumes keep the options they were created
//! with: an admin's local volume that binds `/etc` cannot be mounted by name (`-v`, `--mount`),
//! a plain one can, and an admin's containers that mount it cannot be exec'd into, copied out
//! of or started. Where a profile allows `--volumes-from`, the containers it names are held to
//! the same mount rules. `dockgate explain` asks the engine the same way and agrees.

mod common;

use common::cli::{docker_direct, post_json, Docker};
use common::gateway::Process;
use common::pki::Pki;
use common::policy::{audit_line, explain, explained};
use common::{engine_socket, test_image, unique};

fn config() -> String {
    r#"[[allow]]
cn = "admin"
access = "full"

[[allow]]
cn = "ops"
access = "ops"

[profiles.ops]
allow = [
  "read-only",
  "POST /containers/create",
  "POST /containers/{id}/start",
  "POST /containers/{id}/restart",
  "POST /containers/{id}/update",
  "POST /containers/{id}/attach",
  "POST /containers/{id}/exec",
  "POST /exec/{id}/start",
  "PUT /containers/{id}/archive",
  "HEAD /containers/{id}/archive",
  "GET /containers/{id}/archive",
  "POST /containers/{id}/wait",
  "DELETE /containers/{id}",
]
hijack = true

[[allow]]
cn = "vf"
access = "vf"

[profiles.vf]
allow = ["read-only", "POST /containers/create", "DELETE /containers/{id}"]
[profiles.vf.containers]
volumes_from = true
"#
    .to_string()
}

fn inspect(name: &str) -> serde_json::Value {
    let out = docker_direct(&engine_socket(), &["inspect", name]);
    assert!(out.status.success(), "inspect {name}: {out:?}");
    let v: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("inspect JSON");
    v[0].clone()
}

#[test]
fn a_profile_acts_only_on_containers_it_could_have_created() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), &config());
    let admin = Docker::new(&gw.docker_host(), &pki.client("admin"));
    let ops = Docker::new(&gw.docker_host(), &pki.client("ops"));
    let image = test_image();
    let lbl = format!("dockgate-test={}", unique("targets"));
    let (hostpid, prv, hostroot, own) = (
        unique("hostpid"),
        unique("prv"),
        unique("hostroot"),
        unique("own"),
    );

    admin.ok(&[
        "run",
        "-d",
        "--name",
        &hostpid,
        "--label",
        &lbl,
        "--pid",
        "host",
        "-v",
        "/:/host:ro",
        &image,
        "sleep",
        "600",
    ]);
    admin.ok(&[
        "create",
        "--name",
        &prv,
        "--label",
        &lbl,
        "--privileged",
        &image,
        "sleep",
        "600",
    ]);
    admin.ok(&[
        "create", "--name", &hostroot, "--label", &lbl, "-v", "/:/host", &image, "sleep", "600",
    ]);
    ops.ok(&[
        "run", "-d", "--name", &own, "--label", &lbl, &image, "sleep", "600",
    ]);
    let hostpid_started = inspect(&hostpid)["State"]["StartedAt"].clone();

    // Its own ordinary container: exec, copy in, restart all work.
    assert_eq!(ops.ok(&["exec", &own, "echo", "hi"]), "hi\n");
    let file = tempfile::NamedTempFile::new().expect("tempfile");
    std::fs::write(file.path(), "payload\n").expect("write");
    let src = file.path().to_str().expect("utf-8");
    ops.ok(&["cp", src, &format!("{own}:/tmp/payload")]);
    let out_dir = tempfile::tempdir().expect("tempdir");
    let out_to = out_dir.path().to_str().expect("utf-8");
    ops.ok(&["cp", &format!("{own}:/tmp/payload"), out_to]);
    assert_eq!(
        std::fs::read_to_string(out_dir.path().join("payload")).expect("copied out"),
        "payload\n"
    );
    ops.ok(&["restart", "-t", "0", &own]);

    // The others: refused, naming the container and the rule.
    let cp_dst = format!("{hostpid}:/tmp/payload");
    let cp_host = format!("{hostpid}:/host/etc/hostname");
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (vec!["exec", &hostpid, "id"], &hostpid, "host_namespaces"),
        (
            vec!["restart", "-t", "0", &hostpid],
            &hostpid,
            "host_namespaces",
        ),
        (vec!["cp", src, &cp_dst], &hostpid, "host_namespaces"),
        (vec!["cp", &cp_host, out_to], &hostpid, "host_namespaces"),
        (
            vec!["attach", "--no-stdin", &hostpid],
            &hostpid,
            "host_namespaces",
        ),
        (vec!["start", &prv], &prv, "privileged"),
        (
            vec!["update", "--restart", "always", &prv],
            &prv,
            "privileged",
        ),
        (vec!["start", &hostroot], &hostroot, "bind_mounts"),
    ];
    for (args, name, rule) in &cases {
        let out = ops.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} went through");
        // The CLI prints the message, but for a refused hijack only its status.
        let said = if args[0] == "attach" {
            stderr.contains("received 403")
        } else {
            stderr.contains("dockgate: access denied")
                && stderr.contains(&format!(
                    "the container \"{name}\" was created with settings"
                ))
        };
        assert!(said, "{args:?}: {stderr}");
        let line = gw
            .audit()
            .into_iter()
            .rev()
            .find(|l| l["client_cn"] == "ops" && l["event"] == "end" && l["decision"] == "deny")
            .expect("a denial on record");
        assert_eq!(line["status"], 403, "{args:?}: {line}");
        assert_eq!(
            line["rule"],
            format!("profiles.ops.containers.{rule}"),
            "{args:?}: {line}"
        );
        assert!(
            line["field"]
                .as_str()
                .is_some_and(|f| f.starts_with("container.HostConfig.")),
            "{args:?}: {line}"
        );
    }

    // A privileged exec an admin set up in the client's own container cannot be started by it.
    let out = docker_direct(&engine_socket(), &["inspect", "-f", "{{.Id}}", &own]);
    let own_id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // Created over the engine's socket and never started; the client starts it through the
    // gateway.
    let mut direct = std::process::Command::new("curl");
    direct.args(["-sS", "--unix-socket"]).arg(engine_socket());
    let out = post_json(
        direct,
        format!("http://docker/containers/{own_id}/exec"),
        r#"{"Cmd":["touch","/tmp/escaped"],"Privileged":true}"#,
    );
    let exec: serde_json::Value = serde_json::from_slice(&out.stdout).expect("exec create");
    let exec_id = exec["Id"].as_str().expect("Id").to_string();
    let out = post_json(
        common::cli::curl(&pki.client("ops")),
        gw.url(&format!("/v1.41/exec/{exec_id}/start")),
        r#"{"Detach":true}"#,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("was created privileged"),
        "exec start of a privileged exec: {text}"
    );
    let line = audit_line(&gw, "ops", "POST", "/start");
    assert_eq!(line["field"], "exec.ProcessConfig.privileged", "{line}");

    // The engine's state: none of it happened.
    for never in [&prv, &hostroot] {
        assert_eq!(inspect(never)["State"]["Running"], false, "{never}");
        assert_eq!(
            inspect(never)["State"]["StartedAt"],
            "0001-01-01T00:00:00Z",
            "{never} never started"
        );
    }
    assert_ne!(
        inspect(&prv)["HostConfig"]["RestartPolicy"]["Name"],
        "always"
    );
    assert_eq!(
        inspect(&hostpid)["State"]["StartedAt"],
        hostpid_started,
        "not restarted"
    );
    let out = docker_direct(
        &engine_socket(),
        &["exec", &hostpid, "test", "-e", "/tmp/payload"],
    );
    assert!(!out.status.success(), "nothing was copied into {hostpid}");
    let out = docker_direct(
        &engine_socket(),
        &["exec", &own, "test", "-e", "/tmp/escaped"],
    );
    assert!(!out.status.success(), "the privileged exec never ran");
    assert!(
        !out_dir.path().join("hostname").exists(),
        "nothing of the host's was copied out"
    );
    let out = docker_direct(&engine_socket(), &["exec", &own, "cat", "/tmp/payload"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "payload\n");

    // A volume an admin made that binds the host's /etc: not by name, in either syntax.
    let (hostetc, cache) = (unique("hostetc"), unique("cache"));
    admin.ok(&[
        "volume",
        "create",
        "-o",
        "type=none",
        "-o",
        "o=bind",
        "-o",
        "device=/etc",
        &hostetc,
    ]);
    admin.ok(&["volume", "create", &cache]);
    let v = format!("{hostetc}:/x");
    let m = format!("source={hostetc},target=/x");
    for flags in [["-v", v.as_str()], ["--mount", m.as_str()]] {
        let name = unique("byname");
        let mut args = vec!["create", "--name", &name, "--label", &lbl];
        args.extend(flags);
        args.extend([image.as_str(), "true"]);
        let out = ops.run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success()
                && stderr.contains(&format!(
                    "the volume \"{hostetc}\" mounts the host path \"/etc\""
                )),
            "{flags:?}: {stderr}"
        );
        let out = docker_direct(&engine_socket(), &["inspect", &name]);
        assert!(!out.status.success(), "{name} was created");
    }
    let line = audit_line(&gw, "ops", "POST", "/containers/create");
    assert_eq!(line["field"], "volume.Options", "{line}");
    let with_cache = unique("cache-user");
    let v = format!("{cache}:/c");
    ops.ok(&[
        "create",
        "--name",
        &with_cache,
        "--label",
        &lbl,
        "-v",
        &v,
        &image,
        "true",
    ]);
    // A container an admin runs with that volume: its mounts are the engine's to tell (its
    // HostConfig names only the volume), and the volume keeps its options.
    let (admvol, admvol_stopped) = (unique("admvol"), unique("admvol-stopped"));
    let x = format!("{hostetc}:/x");
    admin.ok(&[
        "run", "-d", "--name", &admvol, "--label", &lbl, "-v", &x, &image, "sleep", "600",
    ]);
    admin.ok(&[
        "create",
        "--name",
        &admvol_stopped,
        "--label",
        &lbl,
        "--mount",
        &format!("source={hostetc},target=/x"),
        &image,
        "sleep",
        "600",
    ]);
    let cp_out = format!("{admvol}:/x/hostname");
    let vol_cases: Vec<Vec<&str>> = vec![
        vec!["exec", &admvol, "cat", "/x/hostname"],
        vec!["cp", &cp_out, out_to],
        vec!["start", &admvol_stopped],
    ];
    for args in &vol_cases {
        let out = ops.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success()
                && stderr.contains(&format!(
                    "the volume \"{hostetc}\" mounts the host path \"/etc\""
                )),
            "{args:?}: {stderr}"
        );
        let line = gw
            .audit()
            .into_iter()
            .rev()
            .find(|l| l["client_cn"] == "ops" && l["event"] == "end")
            .expect("on record");
        assert_eq!(line["decision"], "deny", "{args:?}: {line}");
        assert_eq!(line["field"], "volume.Options", "{args:?}: {line}");
    }
    assert_eq!(
        inspect(&admvol_stopped)["State"]["StartedAt"],
        "0001-01-01T00:00:00Z"
    );
    assert!(
        !out_dir.path().join("hostname").exists(),
        "nothing copied out"
    );

    // --volumes-from, where a profile allows it, is held to the mounts of the containers named.
    let vf = Docker::new(&gw.docker_host(), &pki.client("vf"));
    let through_volume = format!("the volume \"{hostetc}\" mounts the host path \"/etc\"");
    let cases = [
        (
            &hostpid,
            format!("the container \"{hostpid}\" named in VolumesFrom has mounts"),
        ),
        (&admvol, through_volume),
    ];
    for (source, said) in &cases {
        let name = unique("vf");
        let out = vf.run(&[
            "create",
            "--name",
            &name,
            "--label",
            &lbl,
            "--volumes-from",
            source,
            &image,
            "true",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(said.as_str()),
            "--volumes-from {source}: {stderr}"
        );
        let out = docker_direct(&engine_socket(), &["inspect", &name]);
        assert!(!out.status.success(), "{name} was created");
    }
    let from_own = unique("vf-own");
    vf.ok(&[
        "create",
        "--name",
        &from_own,
        "--label",
        &lbl,
        "--volumes-from",
        &own,
        &image,
        "true",
    ]);

    let body = format!(r#"{{"Image":"{image}","HostConfig":{{"Binds":["{hostetc}:/x"]}}}}"#);
    let (decision, text) = explain(
        &gw.config,
        "ops",
        "POST",
        "/v1.41/containers/create",
        Some(body.as_bytes()),
    );
    assert_eq!(decision, "deny", "{text}");
    assert!(
        text.contains(&format!("target:   volume \"{hostetc}\"")),
        "{text}"
    );

    // explain asks the engine the same way.
    let cfg = gw.config.clone();
    let asked = [
        (format!("/v1.41/containers/{prv}/start"), "deny"),
        (format!("/v1.41/containers/{hostpid}/restart"), "deny"),
        (format!("/v1.41/containers/{own}/restart"), "allow"),
        (format!("/v1.41/containers/{admvol}/restart"), "deny"),
        (format!("/v1.41/exec/{exec_id}/start"), "deny"),
        // The engine answers 404 itself.
        ("/v1.41/containers/nosuch/start".to_string(), "allow"),
    ];
    for (path, want) in &asked {
        let (decision, text) = explain(&cfg, "ops", "POST", path, None);
        assert_eq!(decision, *want, "{path}: {text}");
    }
    for (name, want) in [(&hostpid, "deny"), (&own, "allow")] {
        let path = format!("/v1.41/containers/{name}/archive?path=%2Ftmp");
        let (decision, text) = explain(&cfg, "ops", "GET", &path, None);
        assert_eq!(decision, want, "{path}: {text}");
    }
    let (_, text) = explain(&cfg, "ops", "POST", &asked[0].0, None);
    assert_eq!(
        explained(&text, "rule").as_deref(),
        Some("profiles.ops.containers.privileged"),
        "{text}"
    );
    assert!(
        text.contains(&format!("target:   container \"{prv}\"")),
        "{text}"
    );

    for name in [
        &hostpid,
        &prv,
        &hostroot,
        &own,
        &with_cache,
        &admvol,
        &admvol_stopped,
        &from_own,
    ] {
        let _ = docker_direct(&engine_socket(), &["rm", "-f", name]);
    }
    for volume in [&hostetc, &cache] {
        let _ = docker_direct(&engine_socket(), &["volume", "rm", volume]);
    }
}
