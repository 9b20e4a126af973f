//! Proves which routes act on an existing container or exec, how the name is read from the path,
//! and how the engine's description of a container (its `HostConfig` and `Config.Image`) and of
//! an exec (`ProcessConfig.privileged`) is held to a profile's rules, in enforce and report mode.

use http::Method;

use super::{target_of, Target};
use crate::config::Access;
use crate::policy::{profile, routes, Policy, TargetStep};

fn policy(extra: &str) -> Policy {
    policy_with(extra, "")
}

/// Profile `p`: everything allowed by route, binds under `/srv/ci`, plus `extra` lines of
/// `[profiles.p]` and `containers` lines of its `containers` table.
fn policy_with(extra: &str, containers: &str) -> Policy {
    profile::tests::policy(&format!(
        "allow = [\"* /**\"]\n{extra}\n[profiles.p.containers]\nbind_mounts = [\"/srv/ci\"]\n{containers}"
    ))
}

fn p() -> Access {
    profile::tests::profile_p()
}

/// A container as the engine (20.10, cgroup v1) describes it, with `host` spliced into its
/// `HostConfig`.
fn inspect(image: &str, host: &str) -> Vec<u8> {
    inspect_paths(image, MASKED, READONLY, host)
}

fn inspect_paths(image: &str, masked: &str, readonly: &str, host: &str) -> Vec<u8> {
    format!(
        r#"{{"Id":"378d9e00f179","Image":"sha256:315ca70aabda","Config":{{"Image":"{image}","Labels":{{}}}},
"HostConfig":{{"NetworkMode":"default","CgroupnsMode":"host","IpcMode":"private","Runtime":"runc",
"DeviceCgroupRules":null,"MaskedPaths":{masked},"ReadonlyPaths":{readonly}{host}}}}}"#
    )
    .into_bytes()
}

/// The lists moby 20.10 writes for an ordinary container.
const MASKED: &str = r#"["/proc/asound","/proc/acpi","/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/proc/scsi","/sys/firmware"]"#;
const READONLY: &str = r#"["/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"]"#;

fn exec(privileged: bool, container: &str) -> Vec<u8> {
    format!(
        r#"{{"ID":"c34a5a89","Running":false,"ProcessConfig":{{"tty":false,"entrypoint":"sh","arguments":[],"privileged":{privileged}}},"ContainerID":"{container}"}}"#
    )
    .into_bytes()
}

fn step(policy: &Policy, t: &Target, status: u16, body: &[u8]) -> TargetStep {
    policy.target_step(&p(), t, status, body)
}

fn refused(s: &TargetStep) -> Option<(String, String)> {
    match s {
        TargetStep::Deny(d) | TargetStep::WouldDeny(d) => {
            Some((d.rule.clone(), d.field.clone().unwrap_or_default()))
        }
        _ => None,
    }
}

#[test]
fn routes_that_act_on_a_container_name_it_in_their_path() {
    let c = |n: &str| Some(Target::Container(n.into()));
    let cases: &[(&str, &str, Option<Target>)] = &[
        ("POST", "/containers/web/start", c("web")),
        ("POST", "/containers/abc123/restart", c("abc123")),
        ("POST", "/containers/web/update", c("web")),
        ("POST", "/containers/web/attach", c("web")),
        ("GET", "/containers/web/attach/ws", c("web")),
        ("POST", "/containers/web/exec", c("web")),
        ("PUT", "/containers/web/archive", c("web")),
        ("POST", "/exec/e1/start", Some(Target::Exec("e1".into()))),
        ("POST", "/containers/web/stop", None),
        ("POST", "/containers/web/kill", None),
        ("GET", "/containers/web/json", None),
        ("GET", "/containers/web/archive", c("web")),
        ("HEAD", "/containers/web/archive", c("web")),
        ("GET", "/containers/web/export", None),
        ("DELETE", "/containers/web", None),
        ("POST", "/containers/create", None),
        ("POST", "/exec/e1/resize", None),
    ];
    for (m, path, want) in cases {
        let method = Method::from_bytes(m.as_bytes()).unwrap();
        let route = routes::dispatch(&method, path).expect(path);
        assert_eq!(target_of(route, path), *want, "{m} {path}");
    }
    assert_eq!(
        Target::Container("a b/c".into()).inspect_path(),
        "/containers/a%20b%2Fc/json"
    );
    assert_eq!(Target::Exec("e1".into()).inspect_path(), "/exec/e1/json");
}

#[test]
fn a_container_is_held_to_the_rules_its_create_body_would_have_been() {
    let policy = policy("");
    let web = Target::Container("web".into());
    let ok = |host: &str| step(&policy, &web, 200, &inspect("busybox", host));
    // The engine's own defaults pass: cgroupns "host" on cgroup v1, its masked-path lists.
    assert_eq!(ok(""), TargetStep::Pass);
    assert_eq!(
        ok(r#","Binds":null,"CapAdd":null,"Privileged":false,"SecurityOpt":null,"Devices":[]"#),
        TargetStep::Pass
    );
    assert_eq!(ok(r#","Binds":["/srv/ci/job:/w"]"#), TargetStep::Pass);
    let cases: &[(&str, &str, &str)] = &[
        (
            r#","Privileged":true"#,
            "profiles.p.containers.privileged",
            "container.HostConfig.Privileged",
        ),
        (
            r#","Binds":["/:/host"]"#,
            "profiles.p.containers.bind_mounts",
            "container.HostConfig.Binds",
        ),
        (
            r#","CapAdd":["SYS_ADMIN"]"#,
            "profiles.p.containers.cap_add",
            "container.HostConfig.CapAdd",
        ),
        (
            r#","PidMode":"host""#,
            "profiles.p.containers.host_namespaces",
            "container.HostConfig.PidMode",
        ),
        (
            r#","Devices":[{"PathOnHost":"/dev/sda","PathInContainer":"/dev/sda","CgroupPermissions":"rwm"}]"#,
            "profiles.p.containers.devices",
            "container.HostConfig.Devices",
        ),
        (
            r#","SecurityOpt":["seccomp=unconfined"]"#,
            "profiles.p.containers.security_opt_unconfined",
            "container.HostConfig.SecurityOpt",
        ),
        (
            r#","Mounts":[{"Type":"bind","Source":"/etc","Target":"/e"}]"#,
            "profiles.p.containers.bind_mounts",
            "container.HostConfig.Mounts[0]",
        ),
    ];
    for (host, rule, field) in cases {
        let s = ok(host);
        assert!(matches!(s, TargetStep::Deny(_)), "{host}: {s:?}");
        assert_eq!(
            refused(&s),
            Some((rule.to_string(), field.to_string())),
            "{host}"
        );
        if let TargetStep::Deny(d) = s {
            assert!(
                d.message
                    .starts_with("the container \"web\" was created with settings"),
                "{}",
                d.message
            );
        }
    }
    // Started with `systempaths=unconfined`: /proc/sys writable, refused like its body.
    let s = step(
        &policy,
        &web,
        200,
        &inspect_paths("busybox", "[]", "[]", ""),
    );
    assert_eq!(
        refused(&s),
        Some((
            "profiles.p.containers.security_opt_unconfined".into(),
            "container.HostConfig.MaskedPaths".into()
        ))
    );
    // Engines that write no lists (null) leave their defaults.
    assert_eq!(
        step(
            &policy,
            &web,
            200,
            &inspect_paths("busybox", "null", "null", "")
        ),
        TargetStep::Pass
    );
    // The engine does not know it: the request goes on and the engine answers 404.
    assert_eq!(step(&policy, &web, 404, b""), TargetStep::Pass);
    // Any other answer cannot be checked: refused.
    assert!(matches!(
        step(&policy, &web, 500, b"{}"),
        TargetStep::Deny(_)
    ));
    assert!(matches!(
        step(&policy, &web, 200, b"not json"),
        TargetStep::Deny(_)
    ));
}

#[test]
fn the_engines_default_log_driver_is_not_held_against_a_container() {
    // daemon.json's `log-driver` is written into every container; bodies are held to
    // `log_drivers`, targets are not.
    let policy = policy("");
    let web = Target::Container("web".into());
    let syslog = r#","LogConfig":{"Type":"syslog","Config":{}}"#;
    assert_eq!(
        step(&policy, &web, 200, &inspect("busybox", syslog)),
        TargetStep::Pass
    );
    let body = br#"{"Image":"busybox","HostConfig":{"LogConfig":{"Type":"syslog"}}}"#;
    let outcome = policy.body_outcome(&p(), crate::policy::BodyKind::ContainerCreate, body);
    assert!(
        matches!(&outcome, crate::policy::BodyOutcome::Deny(d) if d.rule == "profiles.p.containers.log_drivers"),
        "{outcome:?}"
    );
}

#[test]
fn images_hold_for_the_containers_acted_on() {
    let policy = policy(r#"images = ["busybox"]"#);
    let web = Target::Container("web".into());
    assert_eq!(
        step(&policy, &web, 200, &inspect("busybox:latest", "")),
        TargetStep::Pass
    );
    let s = step(&policy, &web, 200, &inspect("alpine", ""));
    assert_eq!(
        refused(&s),
        Some(("profiles.p.images".into(), "container.Image".into()))
    );
}

#[test]
fn an_exec_is_held_to_its_own_privilege_then_its_container() {
    let policy = policy("");
    let e = Target::Exec("e1".into());
    assert_eq!(
        step(&policy, &e, 200, &exec(false, "378d9e00f179")),
        TargetStep::Next(vec![Target::Container("378d9e00f179".into())])
    );
    let s = step(&policy, &e, 200, &exec(true, "378d9e00f179"));
    assert_eq!(
        refused(&s),
        Some((
            "profiles.p.containers.privileged".into(),
            "exec.ProcessConfig.privileged".into()
        ))
    );
    assert!(matches!(
        step(&policy, &e, 200, &exec(false, "")),
        TargetStep::Deny(_)
    ));
    assert_eq!(step(&policy, &e, 404, b""), TargetStep::Pass);
}

#[test]
fn report_mode_forwards_and_says_what_it_would_refuse() {
    let policy = policy(r#"mode = "report""#);
    let web = Target::Container("web".into());
    let s = step(
        &policy,
        &web,
        200,
        &inspect("busybox", r#","Privileged":true"#),
    );
    assert!(matches!(s, TargetStep::WouldDeny(_)), "{s:?}");
    // Full and read-only clients are not asked about.
    assert_eq!(
        policy.target_step(
            &Access::Full,
            &web,
            200,
            &inspect("b", r#","Privileged":true"#)
        ),
        TargetStep::Pass
    );
}

#[test]
fn named_volumes_keep_the_options_they_were_created_with() {
    let policy = policy("");
    let v = |name: &str| Target::Volume(name.into());
    let vol = |driver: &str, options: &str| {
        format!(
            r#"{{"CreatedAt":"2026-12-07T00:15:41Z","Driver":"{driver}","Labels":null,"Mountpoint":"/var/lib/docker/volumes/x/_data","Name":"x","Options":{options},"Scope":"local"}}"#
        )
        .into_bytes()
    };
    assert_eq!(
        step(&policy, &v("cache"), 200, &vol("local", "null")),
        TargetStep::Pass
    );
    assert_eq!(
        step(&policy, &v("cache"), 200, &vol("local", "{}")),
        TargetStep::Pass
    );
    assert_eq!(
        step(
            &policy,
            &v("ws"),
            200,
            &vol(
                "local",
                r#"{"device":"/srv/ci/ws","o":"bind","type":"none"}"#
            )
        ),
        TargetStep::Pass
    );
    assert_eq!(step(&policy, &v("new"), 404, b""), TargetStep::Pass);
    for (driver, options, rule) in [
        (
            "local",
            r#"{"device":"/etc","o":"bind","type":"none"}"#,
            "bind_mounts",
        ),
        (
            "local",
            r#"{"device":"/srv/ci","type":"proc"}"#,
            "bind_mounts",
        ),
        ("local-persist", r#"{"mountpoint":"/"}"#, "bind_mounts"),
    ] {
        let s = step(&policy, &v("hostetc"), 200, &vol(driver, options));
        assert_eq!(
            refused(&s),
            Some((
                format!("profiles.p.containers.{rule}"),
                "volume.Options".into()
            )),
            "{options}"
        );
    }
    let ro = policy_with("", "read_only_binds = true");
    let ws = |o: &str| {
        vol(
            "local",
            &format!(r#"{{"device":"/srv/ci/ws","o":"{o}","type":"none"}}"#),
        )
    };
    assert_eq!(step(&ro, &v("ws"), 200, &ws("bind,ro")), TargetStep::Pass);
    // Mounted read-only, a writable bind volume is read-only where it is used.
    let ro_use = Target::ReadOnlyVolume("ws".into());
    assert_eq!(step(&ro, &ro_use, 200, &ws("bind")), TargetStep::Pass);
    assert_eq!(
        refused(&step(&ro, &v("ws"), 200, &ws("bind"))),
        Some((
            "profiles.p.containers.read_only_binds".into(),
            "volume.Options".into()
        ))
    );
}

#[test]
fn requests_are_pinned_to_the_described_container_id() {
    use super::{described_id, pinned_path};
    let id = "4f0b6f3c8d1e2a5b7c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d";
    let described = format!(r#"{{"Id":"{id}","Config":{{}},"HostConfig":{{}}}}"#);
    assert_eq!(described_id(described.as_bytes()).as_deref(), Some(id));
    for bad in [
        r#"{"Config":{}}"#,
        r#"{"Id":""}"#,
        r#"{"Id":"../../x"}"#,
        r#"{"Id":7}"#,
        "not json",
    ] {
        assert_eq!(described_id(bad.as_bytes()), None, "{bad}");
    }
    let cases = [
        ("POST", "/v1.41/containers/web/start", "web"),
        ("POST", "/containers/web/exec", "web"),
        ("PUT", "/v1.24/containers/web/archive", "web"),
        ("GET", "/containers/web/attach/ws", "web"),
        // moby's `{name:.*}` takes slashes; the whole name is replaced.
        ("POST", "/v1.41/containers/a/b/start", "a/b"),
        ("POST", "/containers/start/start", "start"),
    ];
    for (method, path, name) in cases {
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let route = routes::dispatch(&m, path).expect("a route");
        let t = target_of(route, routes::unversioned(path));
        assert_eq!(t, Some(Target::Container(name.into())), "{path}");
        let pinned = pinned_path(route, path, name, id).expect("pinned");
        let want = path.replacen(&format!("/{name}/"), &format!("/{id}/"), 1);
        let want = if name == "start" {
            format!("/containers/{id}/start")
        } else {
            want
        };
        assert_eq!(pinned, want, "{path}");
        assert_eq!(
            routes::dispatch(&m, &pinned).map(|r| r.name),
            Some(route.name)
        );
    }
    // The engine's description must give the ID the request is pinned to.
    let policy = policy("");
    let web = Target::Container("web".into());
    let described = inspect("busybox", "");
    assert_eq!(step(&policy, &web, 200, &described), TargetStep::Pass);
    let text = String::from_utf8(described).unwrap();
    let no_id = text.replace(r#""Id":"378d9e00f179","#, "");
    assert_ne!(no_id, text);
    match step(&policy, &web, 200, no_id.as_bytes()) {
        TargetStep::Deny(d) => assert!(d.message.contains("gives no container ID"), "{d:?}"),
        s => panic!("{s:?}"),
    }
}

/// A container description with `mounts` as its top-level `Mounts` (what the engine set up,
/// `--volumes-from` included) and nothing in its `HostConfig` that shows them.
fn inspect_mounts(mounts: &str) -> Vec<u8> {
    let text = String::from_utf8(inspect("busybox", "")).unwrap();
    let spliced = text.replacen(
        r#""Image":"sha256:315ca70aabda","#,
        &format!(r#""Image":"sha256:315ca70aabda","Mounts":{mounts},"#),
        1,
    );
    assert_ne!(spliced, text);
    spliced.into_bytes()
}

const ROOT_BIND: &str = r#"[{"Type":"bind","Source":"/","Destination":"/host","Mode":"","RW":true,"Propagation":"rprivate"}]"#;
const CI_BIND_RO: &str = r#"[{"Type":"bind","Source":"/srv/ci/job","Destination":"/w","Mode":"ro","RW":false,"Propagation":"rprivate"}]"#;
const NAMED: &str = r#"[{"Type":"volume","Name":"hostroot","Source":"/var/lib/docker/volumes/hostroot/_data","Destination":"/host","Driver":"local","Mode":"z","RW":true,"Propagation":""},{"Type":"volume","Name":"cache","Source":"/var/lib/docker/volumes/cache/_data","Destination":"/c","Driver":"local","Mode":"","RW":true,"Propagation":""},{"Type":"tmpfs","Source":"","Destination":"/t","Mode":"","RW":true,"Propagation":""}]"#;

#[test]
fn a_containers_own_mounts_are_judged_and_its_volumes_asked_about() {
    let policy = policy("");
    let web = Target::Container("web".into());
    // A bind the engine lists (taken with --volumes-from, say) that HostConfig does not show.
    assert_eq!(
        refused(&step(&policy, &web, 200, &inspect_mounts(ROOT_BIND))),
        Some((
            "profiles.p.containers.bind_mounts".into(),
            "container.Mounts[0].Source".into()
        ))
    );
    assert_eq!(
        step(&policy, &web, 200, &inspect_mounts(CI_BIND_RO)),
        TargetStep::Pass
    );
    // Named volumes keep their own options: each is asked about next, once, in order.
    assert_eq!(
        step(&policy, &web, 200, &inspect_mounts(NAMED)),
        TargetStep::Next(vec![
            Target::Volume("cache".into()),
            Target::Volume("hostroot".into())
        ])
    );
    let shared = CI_BIND_RO.replace(r#""rprivate""#, r#""rshared""#);
    assert_eq!(
        refused(&step(&policy, &web, 200, &inspect_mounts(&shared))),
        Some((
            "profiles.p.containers.bind_mounts".into(),
            "container.Mounts[0].Propagation".into()
        ))
    );
    let npipe = r#"[{"Type":"npipe","Source":"x","Destination":"/x","RW":true}]"#;
    assert_eq!(
        refused(&step(&policy, &web, 200, &inspect_mounts(npipe))),
        Some((
            "profiles.p.containers.bind_mounts".into(),
            "container.Mounts[0].Type".into()
        ))
    );
    // read_only_binds: a writable bind the engine lists is refused, a read-only one passes.
    let ro = policy_with("", "read_only_binds = true");
    // A named volume the engine lists read-only is asked about as a read-only use.
    let ro_named = NAMED.replacen(r#""RW":true"#, r#""RW":false"#, 1);
    assert_eq!(
        step(&ro, &web, 200, &inspect_mounts(&ro_named)),
        TargetStep::Next(vec![
            Target::Volume("cache".into()),
            Target::ReadOnlyVolume("hostroot".into())
        ])
    );
    let rw = CI_BIND_RO.replace(r#""RW":false"#, r#""RW":true"#);
    assert_eq!(
        refused(&step(&ro, &web, 200, &inspect_mounts(&rw))),
        Some((
            "profiles.p.containers.read_only_binds".into(),
            "container.Mounts[0].RW".into()
        ))
    );
    assert_eq!(
        step(&ro, &web, 200, &inspect_mounts(CI_BIND_RO)),
        TargetStep::Pass
    );
}

#[test]
fn volumes_from_is_held_to_the_mounts_of_the_container_it_names() {
    let policy = policy_with("", "volumes_from = true");
    let from = |spec: &str| Target::VolumesFrom(spec.into());
    assert_eq!(
        from("data:ro").inspect_path(),
        "/containers/data/json",
        "the container part of container[:mode]"
    );
    assert_eq!(from("/data:rw,z").inspect_path(), "/containers/data/json");
    // A create body's entries come back to be asked about; one without a name is the
    // engine's to refuse.
    assert_eq!(
        policy.body_outcome(
            &p(),
            crate::policy::BodyKind::ContainerCreate,
            br#"{"HostConfig":{"VolumesFrom":[":ro","/data","cache:ro"]}}"#
        ),
        crate::policy::BodyOutcome::Pass(vec![from("/data"), from("cache:ro")])
    );
    let s = step(&policy, &from("admin"), 200, &inspect_mounts(ROOT_BIND));
    assert_eq!(
        refused(&s),
        Some((
            "profiles.p.containers.bind_mounts".into(),
            "HostConfig.VolumesFrom: container.Mounts[0].Source".into()
        ))
    );
    // Only its mounts count: a privileged source lends no privilege.
    let privileged = inspect("busybox", r#","Privileged":true"#);
    assert_eq!(
        step(&policy, &from("p"), 200, &privileged),
        TargetStep::Pass
    );
    assert_eq!(
        step(&policy, &from("data"), 200, &inspect_mounts(NAMED)),
        TargetStep::Next(vec![
            Target::Volume("cache".into()),
            Target::Volume("hostroot".into())
        ])
    );
    // Under read_only_binds, `:ro` takes the source's writable binds read-only.
    let ro = policy_with("", "volumes_from = true\nread_only_binds = true");
    let rw = inspect_mounts(&CI_BIND_RO.replace(r#""RW":false"#, r#""RW":true"#));
    assert!(refused(&step(&ro, &from("data"), 200, &rw)).is_some());
    assert!(refused(&step(&ro, &from("data:rw"), 200, &rw)).is_some());
    assert_eq!(step(&ro, &from("data:ro"), 200, &rw), TargetStep::Pass);
    assert_eq!(step(&ro, &from("data:ro,z"), 200, &rw), TargetStep::Pass);
    // It must exist now: a container that appears after the check could be anything.
    assert_eq!(
        refused(&step(&policy, &from("later"), 404, b"")),
        Some((
            "profiles.p.containers.volumes_from".into(),
            "HostConfig.VolumesFrom".into()
        ))
    );
}
