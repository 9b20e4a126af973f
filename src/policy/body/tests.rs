//! Proves every `containers` rule through `body::inspect`, the way the proxy calls it: for each
//! rule an allowed body and a denied one (with the rule and field that decided), wherever moby
//! reads the field from (the `HostConfig` object, or the top level when there is none), under
//! every key spelling Go decodes into it, and that a body the engine might read differently
//! (duplicate keys, both places at once, wrong types, trailing data) is refused as unreadable.

use super::json::JsonError;
use super::{inspect, BodyError, BodyKind, Refusal};
use crate::config::profile::image_pattern;
use crate::config::{ContainerRules, ImagePattern};

use BodyKind::{ContainerCreate, ContainerUpdate, ExecCreate, VolumeCreate};

/// What `inspect` must answer.
#[derive(Debug, Clone, PartialEq)]
enum Want {
    Pass,
    /// Refused by this rule, naming this field.
    Deny(&'static str, &'static str),
    Bad(BodyError),
}

use Want::{Deny, Pass};

fn ty(field: &str, expected: &'static str, found: &'static str) -> Want {
    Want::Bad(BodyError::Type {
        field: field.to_string(),
        expected,
        found,
    })
}

fn json_err(e: JsonError) -> Want {
    Want::Bad(BodyError::Json(e))
}

fn dup(key: &str) -> Want {
    json_err(JsonError::DuplicateKey(key.to_string()))
}

fn ambiguous(key: &str) -> Want {
    Want::Bad(BodyError::AmbiguousHostConfig(key.to_string()))
}

fn version_dependent(key: &str) -> Want {
    Want::Bad(BodyError::VersionDependentHostField(key.to_string()))
}

/// The `ci` profile of the issue: nothing but one capability and binds under `/srv/ci`.
fn ci() -> ContainerRules {
    ContainerRules {
        cap_add: vec!["CAP_NET_BIND_SERVICE".into()],
        bind_mounts: vec!["/srv/ci".into()],
        ..ContainerRules::default()
    }
}

/// Every rule lifted: what `ci` denies, this passes.
fn open() -> ContainerRules {
    ContainerRules {
        privileged: true,
        host_namespaces: true,
        host_cgroupns: true,
        cap_add: vec!["ALL".into()],
        devices: true,
        bind_mounts: vec!["/".into()],
        security_opt_unconfined: true,
        volumes_from: true,
        annotations: true,
        read_only_binds: false,
        log_drivers: None,
    }
}

fn check(
    kind: BodyKind,
    rules: &ContainerRules,
    images: Option<&[ImagePattern]>,
    body: &str,
    want: &Want,
) {
    let got = inspect(kind, rules, images, body.as_bytes());
    match (want, &got) {
        (Pass, Ok(_)) => {}
        (Deny(rule, field), Err(Refusal::Violation(v))) => {
            assert_eq!(
                (v.rule, v.field.as_str()),
                (*rule, *field),
                "{kind:?} {body}"
            );
            assert!(
                v.message.contains("not allowed for this client"),
                "{kind:?} {body}: message {:?}",
                v.message
            );
        }
        (Want::Bad(e), Err(Refusal::Unreadable(g))) if e == g => {}
        _ => panic!("{kind:?} {body}\n  want {want:?}\n   got {got:?}"),
    }
}

fn table(kind: BodyKind, rules: &ContainerRules, cases: &[(&str, Want)]) {
    for (body, want) in cases {
        check(kind, rules, None, body, want);
    }
}

/// `{"HostConfig":{<field>}}` for a create body.
fn hc(field: &str) -> String {
    format!(r#"{{"Image":"busybox","HostConfig":{{{field}}}}}"#)
}

const MASKED: &str = r#"["/proc/asound","/proc/acpi","/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/proc/scsi","/sys/firmware","/sys/devices/virtual/powercap"]"#;
const READONLY: &str = r#"["/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"]"#;

const VOLUME_BIND_ROOT: &str = r#"[{"Type":"volume","Target":"/v","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/"}}}}]"#;
const VOLUME_BIND_CI: &str = r#"[{"Type":"volume","Target":"/v","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/srv/ci/v"}}}}]"#;

/// Host fields of a create body: the key, a value `ci` refuses, one it allows, and the rule and
/// field of the refusal.
const HOST_RULES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "Privileged",
        "true",
        "false",
        "privileged",
        "HostConfig.Privileged",
    ),
    (
        "CapAdd",
        r#"["SYS_ADMIN"]"#,
        r#"["NET_BIND_SERVICE"]"#,
        "cap_add",
        "HostConfig.CapAdd",
    ),
    (
        "Capabilities",
        r#"["CAP_SYS_ADMIN"]"#,
        r#"["CAP_CHOWN"]"#,
        "cap_add",
        "HostConfig.Capabilities",
    ),
    (
        "NetworkMode",
        r#""host""#,
        r#""bridge""#,
        "host_namespaces",
        "HostConfig.NetworkMode",
    ),
    (
        "PidMode",
        r#""container:db""#,
        r#""""#,
        "host_namespaces",
        "HostConfig.PidMode",
    ),
    (
        "IpcMode",
        r#""host""#,
        r#""private""#,
        "host_namespaces",
        "HostConfig.IpcMode",
    ),
    (
        "UTSMode",
        r#""host""#,
        r#""""#,
        "host_namespaces",
        "HostConfig.UTSMode",
    ),
    (
        "UsernsMode",
        r#""host""#,
        r#""""#,
        "host_namespaces",
        "HostConfig.UsernsMode",
    ),
    (
        "CgroupnsMode",
        r#""host""#,
        r#""private""#,
        "host_namespaces",
        "HostConfig.CgroupnsMode",
    ),
    (
        "Cgroup",
        r#""container:db""#,
        r#""""#,
        "host_namespaces",
        "HostConfig.Cgroup",
    ),
    (
        "Devices",
        r#"[{"PathOnHost":"/dev/mem","PathInContainer":"/dev/mem","CgroupPermissions":"rwm"}]"#,
        "[]",
        "devices",
        "HostConfig.Devices",
    ),
    (
        "DeviceCgroupRules",
        r#"["a *:* rwm"]"#,
        "[]",
        "devices",
        "HostConfig.DeviceCgroupRules",
    ),
    (
        "DeviceRequests",
        r#"[{"Count":-1,"Capabilities":[["gpu"]]}]"#,
        "[]",
        "devices",
        "HostConfig.DeviceRequests",
    ),
    (
        "Binds",
        r#"["/:/host"]"#,
        r#"["/srv/ci:/data"]"#,
        "bind_mounts",
        "HostConfig.Binds",
    ),
    (
        "Mounts",
        r#"[{"Type":"bind","Source":"/","Target":"/host"}]"#,
        r#"[{"Type":"bind","Source":"/srv/ci/x","Target":"/x"}]"#,
        "bind_mounts",
        "HostConfig.Mounts[0]",
    ),
    (
        "Mounts",
        VOLUME_BIND_ROOT,
        VOLUME_BIND_CI,
        "bind_mounts",
        "HostConfig.Mounts[0].VolumeOptions.DriverConfig",
    ),
    (
        "VolumesFrom",
        r#"["db"]"#,
        "[]",
        "volumes_from",
        "HostConfig.VolumesFrom",
    ),
    (
        "SecurityOpt",
        r#"["seccomp=unconfined"]"#,
        r#"["no-new-privileges"]"#,
        "security_opt_unconfined",
        "HostConfig.SecurityOpt",
    ),
    (
        "MaskedPaths",
        "[]",
        MASKED,
        "security_opt_unconfined",
        "HostConfig.MaskedPaths",
    ),
    (
        "ReadonlyPaths",
        "[]",
        READONLY,
        "security_opt_unconfined",
        "HostConfig.ReadonlyPaths",
    ),
    (
        "Annotations",
        r#"{"io.kubernetes.cri-o.Devices":"/dev/sda"}"#,
        "{}",
        "annotations",
        "HostConfig.Annotations",
    ),
];

/// Spellings of `key` that Go decodes into the field `key`, as JSON string contents, each with
/// the key it decodes to.
fn spellings(key: &str) -> Vec<(String, String)> {
    let escape_all =
        |k: &str| -> String { k.chars().map(|c| format!("\\u{:04X}", c as u32)).collect() };
    let folded: String = key
        .chars()
        .map(|c| match c {
            's' | 'S' => '\u{17F}',
            'k' | 'K' => '\u{212A}',
            c => c,
        })
        .collect();
    let alternating: String = key
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect();
    let first = key.chars().next().expect("a key");
    let out: Vec<(String, String)> = vec![
        (key.to_string(), key.to_string()),
        (key.to_ascii_lowercase(), key.to_ascii_lowercase()),
        (key.to_ascii_uppercase(), key.to_ascii_uppercase()),
        (alternating.clone(), alternating),
        (
            format!("\\u{:04x}{}", first as u32, &key[first.len_utf8()..]),
            key.to_string(),
        ),
        (escape_all(key), key.to_string()),
        (folded.clone(), folded.clone()),
        (escape_all(&folded), folded),
    ];
    let mut unique: Vec<(String, String)> = Vec::new();
    for s in out {
        if !unique.contains(&s) {
            unique.push(s);
        }
    }
    unique
}

#[test]
fn spellings_cover_case_escapes_and_folding() {
    let s = spellings("Mask");
    let texts: Vec<&str> = s.iter().map(|(j, _)| j.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Mask",
            "mask",
            "MASK",
            "mAsK",
            "\\u004dask",
            "\\u004D\\u0061\\u0073\\u006B",
            "Ma\u{17F}\u{212A}",
            "\\u004D\\u0061\\u017F\\u212A"
        ]
    );
}

#[test]
fn every_host_rule_under_every_spelling_and_in_every_place() {
    for (key, bad, ok, rule, field) in HOST_RULES {
        let deny = Deny(rule, field);
        // Fields only some engine versions have decide, at the top level, whether an engine
        // sees host settings at all.
        let versioned = ["Capabilities", "Annotations"].contains(key);
        for (json, decoded) in spellings(key) {
            let (top_bad, top_ok) = if versioned {
                (version_dependent(&decoded), version_dependent(&decoded))
            } else {
                (deny.clone(), Pass)
            };
            let cases: Vec<(String, Want)> = vec![
                (hc(&format!(r#""{json}":{bad}"#)), deny.clone()),
                (hc(&format!(r#""{json}":{ok}"#)), Pass),
                // The deprecated top-level fields, used when there is no HostConfig object.
                (
                    format!(r#"{{"Image":"busybox","{json}":{bad}}}"#),
                    top_bad.clone(),
                ),
                (format!(r#"{{"{json}":{bad},"HostConfig":null}}"#), top_bad),
                (format!(r#"{{"HostConfig":null,"{json}":{ok}}}"#), top_ok),
                // Both places at once, and two keys naming the field.
                (
                    format!(r#"{{"HostConfig":{{}},"{json}":{bad}}}"#),
                    ambiguous(&decoded),
                ),
                (
                    format!(r#"{{"{json}":{ok},"HostConfig":{{"Privileged":false}}}}"#),
                    ambiguous(&decoded),
                ),
                (
                    hc(&format!(r#""{key}":{ok},"{json}":{bad}"#)),
                    dup(&decoded),
                ),
                (format!(r#"{{"{key}":{ok},"{json}":{bad}}}"#), dup(&decoded)),
            ];
            for (body, want) in &cases {
                check(ContainerCreate, &ci(), None, body, want);
            }
            let lifted = hc(&format!(r#""{json}":{bad}"#));
            check(ContainerCreate, &open(), None, &lifted, &Pass);
        }
    }
}

#[test]
fn the_host_config_key_itself_is_read_under_every_spelling() {
    for (json, decoded) in spellings("HostConfig") {
        let cases: Vec<(String, Want)> = vec![
            (
                format!(r#"{{"{json}":{{"Privileged":true}}}}"#),
                Deny("privileged", "HostConfig.Privileged"),
            ),
            (format!(r#"{{"{json}":{{"Privileged":false}}}}"#), Pass),
            (
                format!(r#"{{"{json}":{{"Binds":["/:/h"]}}}}"#),
                Deny("bind_mounts", "HostConfig.Binds"),
            ),
            (
                format!(r#"{{"HostConfig":{{}},"{json}":{{"Privileged":true}}}}"#),
                dup(&decoded),
            ),
            (
                format!(r#"{{"{json}":{{}},"Privileged":true}}"#),
                ambiguous("Privileged"),
            ),
        ];
        for (body, want) in &cases {
            check(ContainerCreate, &ci(), None, body, want);
        }
    }
}

#[test]
fn privileged() {
    let cases = [
        (r#"{"Image":"busybox"}"#, Pass),
        (r#"{"Image":"busybox","HostConfig":{}}"#, Pass),
        (r#"{"HostConfig":{"Privileged":false}}"#, Pass),
        (r#"{"HostConfig":{"Privileged":null}}"#, Pass),
        (
            r#"{"HostConfig":{"Privileged":true}}"#,
            Deny("privileged", "HostConfig.Privileged"),
        ),
        (
            r#"{"Privileged":true}"#,
            Deny("privileged", "HostConfig.Privileged"),
        ),
        (
            r#"{"HostConfig":{"Privileged":"true"}}"#,
            ty("HostConfig.Privileged", "a boolean", "a string"),
        ),
        (
            r#"{"HostConfig":{"Privileged":1}}"#,
            ty("HostConfig.Privileged", "a boolean", "a number"),
        ),
        (
            r#"{"Privileged":[true]}"#,
            ty("Privileged", "a boolean", "an array"),
        ),
    ];
    table(ContainerCreate, &ci(), &cases);
    let allowed = ContainerRules {
        privileged: true,
        ..ci()
    };
    table(
        ContainerCreate,
        &allowed,
        &[(r#"{"HostConfig":{"Privileged":true}}"#, Pass)],
    );
}

#[test]
fn cap_add_and_capabilities() {
    let deny_add = Deny("cap_add", "HostConfig.CapAdd");
    let deny_caps = Deny("cap_add", "HostConfig.Capabilities");
    let cases: Vec<(String, Want)> = vec![
        (hc(r#""CapAdd":["NET_BIND_SERVICE"]"#), Pass),
        (hc(r#""CapAdd":["net_bind_service"]"#), Pass),
        (hc(r#""CapAdd":["CAP_NET_BIND_SERVICE"]"#), Pass),
        (hc(r#""CapAdd":["cap_Net_Bind_Service"]"#), Pass),
        (hc(r#""CapAdd":"NET_BIND_SERVICE""#), Pass),
        (hc(r#""CapAdd":[]"#), Pass),
        (hc(r#""CapAdd":null"#), Pass),
        (hc(r#""CapAdd":["SYS_ADMIN"]"#), deny_add.clone()),
        (hc(r#""CapAdd":["cap_sys_admin"]"#), deny_add.clone()),
        (hc(r#""CapAdd":["ALL"]"#), deny_add.clone()),
        (hc(r#""CapAdd":["all"]"#), deny_add.clone()),
        (hc(r#""CapAdd":"SYS_ADMIN""#), deny_add.clone()),
        (
            hc(r#""CapAdd":["NET_BIND_SERVICE","NET_ADMIN"]"#),
            deny_add.clone(),
        ),
        (hc(r#""CapAdd":[""]"#), deny_add.clone()),
        (hc(r#""CapAdd":[null]"#), deny_add.clone()),
        (hc(r#""CapAdd":["CAP_"]"#), deny_add.clone()),
        // Go's strings.ToUpper makes this SYS_ADMIN: anything not ASCII is refused.
        (hc("\"CapAdd\":[\"\u{17F}ys_admin\"]"), deny_add.clone()),
        (
            hc(r#""CapAdd":1"#),
            ty("HostConfig.CapAdd", "an array of strings", "a number"),
        ),
        (
            hc(r#""CapAdd":{}"#),
            ty("HostConfig.CapAdd", "an array of strings", "an object"),
        ),
        (
            hc(r#""CapAdd":[1]"#),
            ty("HostConfig.CapAdd", "an array of strings", "a number"),
        ),
        (hc(r#""CapDrop":["ALL"]"#), Pass),
        (
            hc(r#""CapDrop":1"#),
            ty("HostConfig.CapDrop", "an array of strings", "a number"),
        ),
        // Capabilities replaces the whole set: the defaults are free, the rest is cap_add's.
        (
            hc(r#""Capabilities":["CAP_CHOWN","CAP_KILL","CAP_NET_BIND_SERVICE"]"#),
            Pass,
        ),
        (hc(r#""Capabilities":["chown"]"#), Pass),
        (hc(r#""Capabilities":[]"#), Pass),
        (hc(r#""Capabilities":["CAP_SYS_ADMIN"]"#), deny_caps.clone()),
        (
            hc(r#""Capabilities":["CAP_CHOWN","SYS_PTRACE"]"#),
            deny_caps.clone(),
        ),
        (hc(r#""Capabilities":["ALL"]"#), deny_caps),
        (
            hc(r#""Capabilities":"CAP_CHOWN""#),
            ty("HostConfig.Capabilities", "an array of strings", "a string"),
        ),
        (r#"{"CapAdd":["SYS_ADMIN"]}"#.to_string(), deny_add.clone()),
    ];
    for (body, want) in &cases {
        check(ContainerCreate, &ci(), None, body, want);
    }
    let all = ContainerRules {
        cap_add: vec!["ALL".into()],
        ..ci()
    };
    let ptrace = ContainerRules {
        cap_add: vec!["CAP_SYS_PTRACE".into()],
        ..ci()
    };
    let cases: &[(&ContainerRules, String, Want)] = &[
        (&all, hc(r#""CapAdd":["SYS_ADMIN","ALL"]"#), Pass),
        (&all, hc(r#""Capabilities":["CAP_SYS_ADMIN"]"#), Pass),
        (&ptrace, hc(r#""CapAdd":["sys_ptrace"]"#), Pass),
        (
            &ptrace,
            hc(r#""CapAdd":["NET_BIND_SERVICE"]"#),
            deny_add.clone(),
        ),
        (&ptrace, hc(r#""CapAdd":["ALL"]"#), deny_add),
    ];
    for (rules, body, want) in cases {
        check(ContainerCreate, rules, None, body, want);
    }
}

#[test]
fn host_namespaces_and_joins() {
    let names = [
        ("NetworkMode", "HostConfig.NetworkMode"),
        ("PidMode", "HostConfig.PidMode"),
        ("IpcMode", "HostConfig.IpcMode"),
        ("UTSMode", "HostConfig.UTSMode"),
        ("UsernsMode", "HostConfig.UsernsMode"),
        ("CgroupnsMode", "HostConfig.CgroupnsMode"),
        ("Cgroup", "HostConfig.Cgroup"),
    ];
    for (name, field) in names {
        for v in [
            "host",
            "HOST",
            " host ",
            "container:db",
            "Container:db",
            "container:",
        ] {
            let body = hc(&format!(r#""{name}":"{v}""#));
            check(
                ContainerCreate,
                &ci(),
                None,
                &body,
                &Deny("host_namespaces", field),
            );
            check(ContainerCreate, &open(), None, &body, &Pass);
        }
        for v in [
            "",
            "private",
            "none",
            "bridge",
            "hostname",
            "containerd",
            "db",
        ] {
            let body = hc(&format!(r#""{name}":"{v}""#));
            check(ContainerCreate, &ci(), None, &body, &Pass);
        }
        check(
            ContainerCreate,
            &ci(),
            None,
            &hc(&format!(r#""{name}":null"#)),
            &Pass,
        );
        check(
            ContainerCreate,
            &ci(),
            None,
            &hc(&format!(r#""{name}":1"#)),
            &ty(field, "a string", "a number"),
        );
    }
}

#[test]
fn host_cgroupns_alone() {
    let rules = ContainerRules {
        host_cgroupns: true,
        ..ci()
    };
    let cases = [
        (hc(r#""CgroupnsMode":"host""#), Pass),
        (
            hc(r#""CgroupnsMode":"container:db""#),
            Deny("host_namespaces", "HostConfig.CgroupnsMode"),
        ),
        (
            hc(r#""PidMode":"host""#),
            Deny("host_namespaces", "HostConfig.PidMode"),
        ),
        (
            hc(r#""Cgroup":"host""#),
            Deny("host_namespaces", "HostConfig.Cgroup"),
        ),
    ];
    for (body, want) in &cases {
        check(ContainerCreate, &rules, None, body, want);
    }
}

#[test]
fn devices() {
    let cases: Vec<(String, Want)> = vec![
        (hc(r#""Devices":[]"#), Pass),
        (hc(r#""Devices":null"#), Pass),
        (hc(r#""DeviceCgroupRules":[]"#), Pass),
        (hc(r#""DeviceRequests":[]"#), Pass),
        (
            hc(r#""Devices":[{"PathOnHost":"/dev/fuse","PathInContainer":"/dev/fuse"}]"#),
            Deny("devices", "HostConfig.Devices"),
        ),
        (
            hc(r#""DeviceCgroupRules":["c 10:229 rwm"]"#),
            Deny("devices", "HostConfig.DeviceCgroupRules"),
        ),
        (
            hc(r#""DeviceRequests":[{"Driver":"nvidia","Count":-1}]"#),
            Deny("devices", "HostConfig.DeviceRequests"),
        ),
        (
            r#"{"Devices":[{"PathOnHost":"/dev/sda"}]}"#.to_string(),
            Deny("devices", "HostConfig.Devices"),
        ),
        (
            hc(r#""Devices":{}"#),
            ty("HostConfig.Devices", "an array", "an object"),
        ),
        (
            hc(r#""DeviceCgroupRules":"c 1:1 rwm""#),
            ty(
                "HostConfig.DeviceCgroupRules",
                "an array of strings",
                "a string",
            ),
        ),
        (
            hc(r#""DeviceRequests":1"#),
            ty("HostConfig.DeviceRequests", "an array", "a number"),
        ),
        // Block I/O limits name host paths that the engine stats as root at start.
        (hc(r#""BlkioDeviceReadBps":[]"#), Pass),
        (hc(r#""BlkioWeight":300"#), Pass),
        (
            hc(r#""BlkioDeviceReadBps":[{"Path":"/etc/shadow","Rate":1}]"#),
            Deny("devices", "HostConfig.BlkioDeviceReadBps"),
        ),
        (
            hc(r#""BlkioWeightDevice":[{"Path":"/dev/sda","Weight":10}]"#),
            Deny("devices", "HostConfig.BlkioWeightDevice"),
        ),
        (
            r#"{"BlkioDeviceWriteIOps":[{"Path":"/root/x","Rate":1}]}"#.to_string(),
            Deny("devices", "HostConfig.BlkioDeviceWriteIOps"),
        ),
    ];
    for (body, want) in &cases {
        check(ContainerCreate, &ci(), None, body, want);
    }
    check(
        ContainerUpdate,
        &ci(),
        None,
        r#"{"BlkioDeviceWriteBps":[{"Path":"/etc/shadow","Rate":1}]}"#,
        &Deny("devices", "BlkioDeviceWriteBps"),
    );
    let allowed = ContainerRules {
        devices: true,
        ..ci()
    };
    check(
        ContainerCreate,
        &allowed,
        None,
        &hc(
            r#""Devices":[{"PathOnHost":"/dev/fuse"}],"DeviceCgroupRules":["a"],"DeviceRequests":[{}]"#,
        ),
        &Pass,
    );
}

#[test]
fn binds_by_path_component() {
    let deny = Deny("bind_mounts", "HostConfig.Binds");
    let cases: Vec<(String, Want)> = vec![
        (hc(r#""Binds":["/srv/ci:/data"]"#), Pass),
        (hc(r#""Binds":["/srv/ci/job/1:/data:ro"]"#), Pass),
        (hc(r#""Binds":["/srv/ci/:/data:rw,z"]"#), Pass),
        (hc(r#""Binds":["/srv/ci:/data:ro,rslave"]"#), Pass),
        (hc(r#""Binds":["/srv/ci:/data:rprivate"]"#), Pass),
        // Shared propagation: a volume mounted below it would land in the host's directory.
        (hc(r#""Binds":["/srv/ci:/data:ro,rshared"]"#), deny.clone()),
        (hc(r#""Binds":["/srv/ci:/data:shared"]"#), deny.clone()),
        (
            hc(
                r#""Mounts":[{"Type":"bind","Source":"/srv/ci","Target":"/w","ReadOnly":true,"BindOptions":{"Propagation":"rshared"}}]"#,
            ),
            Deny(
                "bind_mounts",
                "HostConfig.Mounts[0].BindOptions.Propagation",
            ),
        ),
        (
            hc(
                r#""Mounts":[{"Type":"bind","Source":"/srv/ci","Target":"/w","BindOptions":{"Propagation":"rslave"}}]"#,
            ),
            Pass,
        ),
        (hc(r#""Binds":["//srv//ci/./x:/x"]"#), Pass),
        (hc(r#""Binds":["cache:/cache"]"#), Pass),
        (hc(r#""Binds":["/data"]"#), Pass),
        (hc(r#""Binds":[]"#), Pass),
        (hc(r#""Binds":null"#), Pass),
        (hc(r#""Binds":["/:/host"]"#), deny.clone()),
        (hc(r#""Binds":["/srv/ci2:/data"]"#), deny.clone()),
        (hc(r#""Binds":["/srv:/srv"]"#), deny.clone()),
        (hc(r#""Binds":["/srv/ci/../../etc:/etc"]"#), deny.clone()),
        (hc(r#""Binds":["/srv/ci/..:/x"]"#), deny.clone()),
        (hc(r#""Binds":["/etc:/etc:ro"]"#), deny.clone()),
        (hc(r#""Binds":["/:/host:ro:z"]"#), deny.clone()),
        (
            hc(r#""Binds":["/srv/ci:/a","/var/run/docker.sock:/var/run/docker.sock"]"#),
            deny.clone(),
        ),
        (
            hc(r#""Binds":"/:/host""#),
            ty("HostConfig.Binds", "an array of strings", "a string"),
        ),
        (
            hc(r#""Binds":[1]"#),
            ty("HostConfig.Binds", "an array of strings", "a number"),
        ),
    ];
    for (body, want) in &cases {
        check(ContainerCreate, &ci(), None, body, want);
    }
    let none = ContainerRules {
        bind_mounts: vec![],
        ..ci()
    };
    check(
        ContainerCreate,
        &none,
        None,
        &hc(r#""Binds":["/srv/ci:/data"]"#),
        &deny,
    );
    check(
        ContainerCreate,
        &none,
        None,
        &hc(r#""Binds":["cache:/cache"]"#),
        &Pass,
    );
}

#[test]
fn mounts_of_every_type() {
    let m0 = Deny("bind_mounts", "HostConfig.Mounts[0]");
    let vol0 = Deny(
        "bind_mounts",
        "HostConfig.Mounts[0].VolumeOptions.DriverConfig",
    );
    let type0 = Deny("bind_mounts", "HostConfig.Mounts[0].Type");
    let volume = |driver: &str, opts: &str| {
        hc(&format!(
            r#""Mounts":[{{"Type":"volume","Target":"/v","VolumeOptions":{{"DriverConfig":{{{driver}"Options":{opts}}}}}}}]"#
        ))
    };
    let cases: Vec<(String, Want)> = vec![
        (hc(r#""Mounts":[]"#), Pass),
        (hc(r#""Mounts":null"#), Pass),
        // A null entry is a zero mount to Go, of no type.
        (
            hc(r#""Mounts":[null]"#),
            Deny("bind_mounts", "HostConfig.Mounts[0].Type"),
        ),
        (
            hc(r#""Mounts":[{"Type":"bind","Source":"/srv/ci/x","Target":"/x"}]"#),
            Pass,
        ),
        (
            hc(r#""Mounts":[{"Type":"volume","Source":"cache","Target":"/c"}]"#),
            Pass,
        ),
        (
            volume(
                r#""Name":"local","#,
                r#"{"type":"proc","device":"/srv/ci"}"#,
            ),
            vol0.clone(),
        ),
        (
            volume(
                "",
                r#"{"type":"overlay","o":"lowerdir=/,upperdir=/srv/ci/u,workdir=/srv/ci/w","device":"/srv/ci"}"#,
            ),
            vol0.clone(),
        ),
        (
            volume(
                r#""Name":"local","#,
                r#"{"type":"ext4","device":"/srv/ci/sda1"}"#,
            ),
            vol0.clone(),
        ),
        (
            volume(r#""Name":"sshfs","#, r#"{"sshcmd":"u@10.0.0.1:/"}"#),
            vol0.clone(),
        ),
        (volume(r#""Name":"sshfs","#, "{}"), Pass),
        (hc(r#""Mounts":[{"Type":"tmpfs","Target":"/tmp"}]"#), Pass),
        (
            hc(r#""Mounts":[{"Type":"image","Source":"alpine","Target":"/img"}]"#),
            Pass,
        ),
        (
            hc(r#""Mounts":[{"Type":"bind","Source":"/","Target":"/h"}]"#),
            m0.clone(),
        ),
        (
            hc(r#""Mounts":[{"Type":"bind","Source":"/srv/ci2","Target":"/h"}]"#),
            m0.clone(),
        ),
        (
            hc(r#""Mounts":[{"Type":"bind","Source":"/srv/ci/../../etc","Target":"/h"}]"#),
            m0.clone(),
        ),
        (
            hc(r#""Mounts":[{"Type":"bind","Source":"srv/ci","Target":"/h"}]"#),
            m0.clone(),
        ),
        (
            hc(r#""Mounts":[{"type":"bind","source":"/etc","target":"/h"}]"#),
            m0.clone(),
        ),
        (
            hc("\"Mounts\":[{\"TYPE\":\"bind\",\"\u{17F}ource\":\"/etc\"}]"),
            m0.clone(),
        ),
        (
            hc(
                r#""Mounts":[{"Type":"tmpfs","Target":"/t"},{"Type":"bind","Source":"/","Target":"/h"}]"#,
            ),
            Deny("bind_mounts", "HostConfig.Mounts[1]"),
        ),
        // Local volumes whose driver options mount a host path.
        (
            volume(
                r#""Name":"local","#,
                r#"{"type":"none","o":"bind","device":"/srv/ci/v"}"#,
            ),
            Pass,
        ),
        (
            volume(
                r#""Name":"local","#,
                r#"{"type":"none","o":"bind","device":"/"}"#,
            ),
            vol0.clone(),
        ),
        (
            volume("", r#"{"type":"none","o":"bind","device":"/etc"}"#),
            vol0.clone(),
        ),
        (
            volume(
                r#""Name":"","#,
                r#"{"type":"none","o":"bind","device":"/etc"}"#,
            ),
            vol0.clone(),
        ),
        (
            volume(
                r#""Name":"local","#,
                r#"{"type":"ext4","device":"/dev/sda1"}"#,
            ),
            vol0.clone(),
        ),
        (
            volume(
                r#""Name":"local","#,
                r#"{"type":"nfs","o":"rbind","device":"/etc"}"#,
            ),
            vol0.clone(),
        ),
        (
            volume(
                r#""Name":"local","#,
                r#"{"type":"tmpfs","o":"ro,bind","device":"/"}"#,
            ),
            vol0.clone(),
        ),
        (
            volume(
                r#""Name":"local","#,
                r#"{"type":"nfs","o":"addr=10.0.0.1,rw","device":":/export"}"#,
            ),
            Pass,
        ),
        (
            volume(
                r#""Name":"local","#,
                r#"{"type":"tmpfs","o":"size=64m","device":"tmpfs"}"#,
            ),
            Pass,
        ),
        (
            volume(
                r#""Name":"rexray","#,
                r#"{"type":"none","o":"bind","device":"/"}"#,
            ),
            vol0.clone(),
        ),
        // Types the engine does not bind host paths with are refused, not guessed.
        (
            hc(r#""Mounts":[{"Type":"npipe","Source":"/x","Target":"/x"}]"#),
            type0.clone(),
        ),
        (
            hc(r#""Mounts":[{"Type":"cluster","Source":"x","Target":"/x"}]"#),
            type0.clone(),
        ),
        (
            hc(r#""Mounts":[{"Type":"BIND","Source":"/","Target":"/x"}]"#),
            type0.clone(),
        ),
        (hc(r#""Mounts":[{"Source":"/","Target":"/x"}]"#), type0),
        // Wrong types.
        (
            hc(r#""Mounts":{}"#),
            ty("HostConfig.Mounts", "an array", "an object"),
        ),
        (
            hc(r#""Mounts":[1]"#),
            ty("HostConfig.Mounts[0]", "an object", "a number"),
        ),
        (
            hc(r#""Mounts":[{"Type":1}]"#),
            ty("HostConfig.Mounts[0].Type", "a string", "a number"),
        ),
        (
            hc(r#""Mounts":[{"Type":"bind","Source":["/"]}]"#),
            ty("HostConfig.Mounts[0].Source", "a string", "an array"),
        ),
        (
            hc(r#""Mounts":[{"Type":"bind","BindOptions":true}]"#),
            ty("HostConfig.Mounts[0].BindOptions", "an object", "a boolean"),
        ),
        (
            hc(r#""Mounts":[{"Type":"volume","VolumeOptions":[]}]"#),
            ty(
                "HostConfig.Mounts[0].VolumeOptions",
                "an object",
                "an array",
            ),
        ),
        (
            hc(r#""Mounts":[{"Type":"volume","VolumeOptions":{"DriverConfig":"local"}}]"#),
            ty(
                "HostConfig.Mounts[0].VolumeOptions.DriverConfig",
                "an object",
                "a string",
            ),
        ),
        (
            volume(r#""Name":"local","#, r#"{"device":1}"#),
            ty(
                "HostConfig.Mounts[0].VolumeOptions.DriverConfig.Options.device",
                "a string",
                "a number",
            ),
        ),
        (
            hc(r#""Mounts":[{"Type":"tmpfs","type":"bind","Source":"/"}]"#),
            dup("type"),
        ),
    ];
    for (body, want) in &cases {
        check(ContainerCreate, &ci(), None, body, want);
    }
    check(
        ContainerCreate,
        &open(),
        None,
        &hc(r#""Mounts":[{"Type":"bind","Source":"/","Target":"/h"}]"#),
        &Pass,
    );
}

#[test]
fn volumes_from() {
    let deny = Deny("volumes_from", "HostConfig.VolumesFrom");
    let cases: Vec<(String, Want)> = vec![
        (hc(r#""VolumesFrom":[]"#), Pass),
        (hc(r#""VolumesFrom":null"#), Pass),
        (hc(r#""VolumesFrom":["db"]"#), deny.clone()),
        (hc(r#""VolumesFrom":["db:ro"]"#), deny.clone()),
        (r#"{"volumesfrom":["db"]}"#.to_string(), deny),
        (
            hc(r#""VolumesFrom":"db""#),
            ty("HostConfig.VolumesFrom", "an array of strings", "a string"),
        ),
    ];
    for (body, want) in &cases {
        check(ContainerCreate, &ci(), None, body, want);
    }
    let allowed = ContainerRules {
        volumes_from: true,
        ..ci()
    };
    check(
        ContainerCreate,
        &allowed,
        None,
        &hc(r#""VolumesFrom":["db"]"#),
        &Pass,
    );
    // Allowed, the containers named come back to be asked about (their mounts), as written.
    let body = hc(
        r#""VolumesFrom":["db:ro","cache"],"Binds":["vol:/v","ro:/r:ro","both:/a:ro","both:/b"]"#,
    );
    assert_eq!(
        inspect(ContainerCreate, &allowed, None, body.as_bytes()),
        Ok(super::Mounted {
            // Each volume once; read-only only where every use of it is.
            volumes: vec![
                ("both".into(), false),
                ("ro".into(), true),
                ("vol".into(), false)
            ],
            volumes_from: vec!["db:ro".into(), "cache".into()],
        })
    );
}

#[test]
fn security_options() {
    let allowed = [
        "no-new-privileges",
        "no-new-privileges:true",
        "no-new-privileges=false",
        "apparmor=docker-default",
        "label=level:s0:c100,c200",
        "label:level:s0:c1",
        "label=level:s0",
    ];
    let denied = [
        "seccomp=unconfined",
        "seccomp:unconfined",
        "seccomp=builtin",
        "apparmor=DOCKER-DEFAULT",
        "label=level:s0-s0:c0.c1023",
        "label=level:s0:c0.c1023",
        "label=level:s0:c1,c2,c3",
        "label=level:",
        "seccomp=UNCONFINED",
        " seccomp=unconfined",
        r#"seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"#,
        "seccomp=/etc/docker/allow-all.json",
        "seccomp=",
        "apparmor=unconfined",
        "apparmor:unconfined",
        "apparmor=Unconfined",
        "label=disable",
        "label:disable",
        "disable",
        "label=type:spc_t",
        "label=type:unconfined_t",
        "label=type:svirt_apache_t",
        "label:user:USER",
        "label=role:system_r",
        "label=nested",
        "apparmor=my-custom-profile",
        "systempaths=unconfined",
        "writable-cgroups=true",
        "Seccomp=unconfined",
        "unknown",
    ];
    let lifted = ContainerRules {
        security_opt_unconfined: true,
        ..ci()
    };
    for opt in allowed {
        let body = hc(&format!(r#""SecurityOpt":["{opt}"]"#));
        check(ContainerCreate, &ci(), None, &body, &Pass);
    }
    for opt in denied {
        let body = hc(&format!(r#""SecurityOpt":["no-new-privileges","{opt}"]"#));
        check(
            ContainerCreate,
            &ci(),
            None,
            &body,
            &Deny("security_opt_unconfined", "HostConfig.SecurityOpt"),
        );
        check(ContainerCreate, &lifted, None, &body, &Pass);
    }
    check(
        ContainerCreate,
        &ci(),
        None,
        &hc(r#""SecurityOpt":"seccomp=unconfined""#),
        &ty("HostConfig.SecurityOpt", "an array of strings", "a string"),
    );
}

#[test]
fn masked_and_readonly_paths() {
    let without_kcore = MASKED.replace(r#""/proc/kcore","#, "");
    let without_powercap = MASKED.replace(r#","/sys/devices/virtual/powercap""#, "");
    let with_extra = READONLY.replace('[', r#"["/data","#);
    let masked = Deny("security_opt_unconfined", "HostConfig.MaskedPaths");
    let readonly = Deny("security_opt_unconfined", "HostConfig.ReadonlyPaths");
    let cases: Vec<(String, Want)> = vec![
        (hc(r#""MaskedPaths":null,"ReadonlyPaths":null"#), Pass),
        (hc(&format!(r#""MaskedPaths":{MASKED}"#)), Pass),
        // Engines before 25.0 do not mask powercap, and inspect there does not list it.
        (hc(&format!(r#""MaskedPaths":{without_powercap}"#)), Pass),
        (hc(&format!(r#""ReadonlyPaths":{with_extra}"#)), Pass),
        (hc(r#""MaskedPaths":[]"#), masked.clone()),
        (
            hc(&format!(r#""MaskedPaths":{without_kcore}"#)),
            masked.clone(),
        ),
        (hc(r#""ReadonlyPaths":[]"#), readonly.clone()),
        (hc(r#""ReadonlyPaths":["/proc/sys"]"#), readonly),
        (r#"{"maskedpaths":[]}"#.to_string(), masked.clone()),
    ];
    for (body, want) in &cases {
        check(ContainerCreate, &ci(), None, body, want);
    }
    let lifted = ContainerRules {
        security_opt_unconfined: true,
        ..ci()
    };
    check(
        ContainerCreate,
        &lifted,
        None,
        &hc(r#""MaskedPaths":[],"ReadonlyPaths":[]"#),
        &Pass,
    );
}

#[test]
fn annotations() {
    let deny = Deny("annotations", "HostConfig.Annotations");
    let cases: Vec<(String, Want)> = vec![
        (hc(r#""Annotations":{}"#), Pass),
        (hc(r#""Annotations":null"#), Pass),
        (hc(r#""Annotations":{"a":"b"}"#), deny.clone()),
        (hc(r#""Annotations":{"a":null}"#), deny.clone()),
        (hc(r#""annotations":{"a":"b"}"#), deny),
        (
            r#"{"annotations":{"a":"b"}}"#.to_string(),
            version_dependent("annotations"),
        ),
        (
            hc(r#""Annotations":{"a":1}"#),
            ty("HostConfig.Annotations.a", "a string", "a number"),
        ),
        (
            hc(r#""Annotations":"a=b""#),
            ty("HostConfig.Annotations", "an object", "a string"),
        ),
    ];
    for (body, want) in &cases {
        check(ContainerCreate, &ci(), None, body, want);
    }
    let allowed = ContainerRules {
        annotations: true,
        ..ci()
    };
    check(
        ContainerCreate,
        &allowed,
        None,
        &hc(r#""Annotations":{"a":"b"}"#),
        &Pass,
    );
}

#[test]
fn top_level_host_fields_and_the_host_config_object() {
    let cases: Vec<(&str, Want)> = vec![
        (
            r#"{"Image":"busybox","Binds":["/:/h"]}"#,
            Deny("bind_mounts", "HostConfig.Binds"),
        ),
        (
            r#"{"Binds":["/:/h"],"HostConfig":null}"#,
            Deny("bind_mounts", "HostConfig.Binds"),
        ),
        (
            r#"{"HostConfig":null,"Privileged":true}"#,
            Deny("privileged", "HostConfig.Privileged"),
        ),
        (r#"{"Binds":["/:/h"],"HostConfig":{}}"#, ambiguous("Binds")),
        (
            r#"{"HostConfig":{"Binds":["/srv/ci:/x"]},"Privileged":false}"#,
            ambiguous("Privileged"),
        ),
        (r#"{"HostConfig":{},"memory":1}"#, ambiguous("memory")),
        (
            r#"{"HostConfig":{},"Privileged":null}"#,
            ambiguous("Privileged"),
        ),
        (
            r#"{"HostConfig":{"Privileged":false},"hostconfig":{"Privileged":true}}"#,
            dup("hostconfig"),
        ),
        // Container settings beside a HostConfig object are not host settings.
        (
            r#"{"HostConfig":{},"Image":"busybox","Env":["A=1"],"Cmd":["sh"],"Labels":{"a":"b"},"Volumes":{"/data":{}},"Hostname":"x","User":"root"}"#,
            Pass,
        ),
        // An embedded struct has no key of its own: the engine ignores `Resources`.
        (r#"{"HostConfig":{"Resources":{"Devices":[{}]}}}"#, Pass),
        (r#"{"Memory":1073741824,"CpuShares":512}"#, Pass),
        (
            r#"{"Memory":1,"Capabilities":["CAP_CHOWN"]}"#,
            version_dependent("Capabilities"),
        ),
        (
            r#"{"HostConfig":[]}"#,
            ty("HostConfig", "an object", "an array"),
        ),
        (
            r#"{"HostConfig":"{}"}"#,
            ty("HostConfig", "an object", "a string"),
        ),
    ];
    table(ContainerCreate, &ci(), &cases);
}

#[test]
fn bodies_that_cannot_be_read_safely() {
    let kinds = [ContainerCreate, ContainerUpdate, ExecCreate, VolumeCreate];
    let cases: Vec<(&str, Want)> = vec![
        ("", json_err(JsonError::Empty)),
        (" \n", json_err(JsonError::Empty)),
        ("[]", Want::Bad(BodyError::NotObject("an array"))),
        ("null", Want::Bad(BodyError::NotObject("null"))),
        (r#""{}""#, Want::Bad(BodyError::NotObject("a string"))),
        ("1", Want::Bad(BodyError::NotObject("a number"))),
        ("{", json_err(JsonError::Syntax(1))),
        (
            r#"{} {"Privileged":true}"#,
            json_err(JsonError::TrailingData(3)),
        ),
        ("{}x", json_err(JsonError::TrailingData(2))),
        ("{}\n", Pass),
        (
            r#"{"Privileged":false,"PRIVILEGED":true}"#,
            dup("PRIVILEGED"),
        ),
    ];
    for kind in kinds {
        table(kind, &open(), &cases);
    }
    table(
        ContainerCreate,
        &ci(),
        &[(r#"{"Image":1}"#, ty("Image", "a string", "a number"))],
    );
}

#[test]
fn exec_create_privileged() {
    let deny = Deny("privileged", "Privileged");
    let cases = [
        (r#"{"Cmd":["sh"]}"#, Pass),
        (r#"{"Privileged":false,"Cmd":["id"]}"#, Pass),
        (r#"{"Privileged":null}"#, Pass),
        (r#"{"HostConfig":{"Privileged":true}}"#, Pass),
        (r#"{"Privileged":true,"Cmd":["id"]}"#, deny.clone()),
        (r#"{"privileged":true}"#, deny.clone()),
        (r#"{"PRIVILEGED":true}"#, deny.clone()),
        (r#"{"Pr\u0069vileged":true}"#, deny.clone()),
        ("{\"Privileged\":true}\n", deny),
        (
            r#"{"Privileged":"true"}"#,
            ty("Privileged", "a boolean", "a string"),
        ),
        (
            r#"{"Privileged":false,"privileged":true}"#,
            dup("privileged"),
        ),
    ];
    table(ExecCreate, &ci(), &cases);
    let allowed = ContainerRules {
        privileged: true,
        ..ci()
    };
    table(ExecCreate, &allowed, &[(r#"{"Privileged":true}"#, Pass)]);
}

#[test]
fn update_devices() {
    let cases = [
        (r#"{"Memory":1073741824}"#, Pass),
        (r#"{"RestartPolicy":{"Name":"always"}}"#, Pass),
        (r#"{"Devices":[],"DeviceCgroupRules":null}"#, Pass),
        // An update has no such field: the engine ignores it.
        (r#"{"Privileged":true}"#, Pass),
        (
            r#"{"Devices":[{"PathOnHost":"/dev/mem","PathInContainer":"/dev/mem","CgroupPermissions":"rwm"}]}"#,
            Deny("devices", "Devices"),
        ),
        (r#"{"devices":[{}]}"#, Deny("devices", "Devices")),
        (
            r#"{"DeviceCgroupRules":["a *:* rwm"]}"#,
            Deny("devices", "DeviceCgroupRules"),
        ),
        (
            r#"{"DeviceRequests":[{"Count":-1}]}"#,
            Deny("devices", "DeviceRequests"),
        ),
        (
            r#"{"RestartPolicy":"always"}"#,
            ty("RestartPolicy", "an object", "a string"),
        ),
        (
            r#"{"CgroupParent":1}"#,
            ty("CgroupParent", "a string", "a number"),
        ),
        (r#"{"Devices":{}}"#, ty("Devices", "an array", "an object")),
    ];
    table(ContainerUpdate, &ci(), &cases);
    table(
        ContainerUpdate,
        &open(),
        &[(r#"{"Devices":[{"PathOnHost":"/dev/mem"}]}"#, Pass)],
    );
}

#[test]
fn volume_create_local_binds() {
    let deny = Deny("bind_mounts", "DriverOpts.device");
    let cases = [
        ("{}", Pass),
        (r#"{"Name":"v"}"#, Pass),
        (r#"{"Driver":"local","Labels":{"a":"b"}}"#, Pass),
        (
            r#"{"Driver":"local","DriverOpts":{"type":"none","o":"bind","device":"/srv/ci/v"}}"#,
            Pass,
        ),
        (r#"{"Driver":"rexray"}"#, Pass),
        // A plugin's options may name host paths or credentials; local types other than binds
        // and network or memory file systems mount the host's own (proc, sysfs, overlay of
        // host directories, a device node made inside an allowed bind).
        (
            r#"{"Driver":"rexray","DriverOpts":{"type":"none","o":"bind","device":"/"}}"#,
            Deny("bind_mounts", "DriverOpts"),
        ),
        (
            r#"{"Driver":"local-persist","DriverOpts":{"mountpoint":"/"}}"#,
            Deny("bind_mounts", "DriverOpts"),
        ),
        (
            r#"{"DriverOpts":{"type":"proc","device":"/srv/ci"}}"#,
            Deny("bind_mounts", "DriverOpts"),
        ),
        (
            r#"{"DriverOpts":{"type":"sysfs","device":"/srv/ci"}}"#,
            Deny("bind_mounts", "DriverOpts"),
        ),
        (
            r#"{"DriverOpts":{"type":"overlay","o":"lowerdir=/,upperdir=/srv/ci/u,workdir=/srv/ci/w","device":"/srv/ci"}}"#,
            Deny("bind_mounts", "DriverOpts"),
        ),
        (
            r#"{"DriverOpts":{"type":"ext4","device":"/srv/ci/sda1"}}"#,
            Deny("bind_mounts", "DriverOpts"),
        ),
        (
            r#"{"DriverOpts":{"type":"nfs","o":"addr=10.0.0.1","device":":/export"}}"#,
            Pass,
        ),
        (
            r#"{"DriverOpts":{"type":"tmpfs","o":"size=100m","device":"tmpfs"}}"#,
            Pass,
        ),
        // Map keys are exact: the local driver refuses `Device` as an unknown option.
        (r#"{"DriverOpts":{"Device":"/"}}"#, Pass),
        (
            r#"{"Driver":"local","DriverOpts":{"type":"none","o":"bind","device":"/"}}"#,
            deny.clone(),
        ),
        (
            r#"{"DriverOpts":{"type":"none","o":"bind","device":"/etc"}}"#,
            deny.clone(),
        ),
        (
            r#"{"Driver":"","DriverOpts":{"type":"none","o":"bind","device":"/srv/ci2"}}"#,
            deny.clone(),
        ),
        (
            r#"{"Driver":"local","DriverOpts":{"type":"none","o":"bind","device":"/srv/ci/../../etc"}}"#,
            deny.clone(),
        ),
        (
            r#"{"DriverOpts":{"type":"ext4","device":"/dev/sda1"}}"#,
            Deny("bind_mounts", "DriverOpts"),
        ),
        (
            r#"{"DriverOpts":{"type":"nfs","o":"rbind","device":"/etc"}}"#,
            deny.clone(),
        ),
        (
            r#"{"DriverOpts":{"type":"cifs","o":"ro,bind","device":"/etc"}}"#,
            deny.clone(),
        ),
        (
            r#"{"driver":"local","driveropts":{"type":"none","o":"bind","device":"/"}}"#,
            deny.clone(),
        ),
        (
            "{\"DRIVEROPT\u{17F}\":{\"type\":\"none\",\"o\":\"bind\",\"device\":\"/\"}}",
            deny,
        ),
        (r#"{"Driver":1}"#, ty("Driver", "a string", "a number")),
        (r#"{"Name":[]}"#, ty("Name", "a string", "an array")),
        (
            r#"{"DriverOpts":[]}"#,
            ty("DriverOpts", "an object", "an array"),
        ),
        (
            r#"{"DriverOpts":{"device":1}}"#,
            ty("DriverOpts.device", "a string", "a number"),
        ),
        (
            r#"{"DriverOpts":{"device":"/srv/ci","device":"/"}}"#,
            dup("device"),
        ),
    ];
    table(VolumeCreate, &ci(), &cases);
    table(
        VolumeCreate,
        &open(),
        &[(
            r#"{"DriverOpts":{"type":"none","o":"bind","device":"/"}}"#,
            Pass,
        )],
    );
}

#[test]
fn images_rule_on_the_create_image() {
    let patterns: Vec<ImagePattern> = ["busybox", "registry.example.com/**"]
        .iter()
        .map(|p| image_pattern(p).unwrap())
        .collect();
    let digest = "sha256:".to_string() + &"a".repeat(64);
    let deny = Deny("images", "Image");
    let cases: Vec<(String, Want)> = vec![
        (r#"{"Image":"busybox"}"#.into(), Pass),
        (r#"{"image":"busybox:latest"}"#.into(), Pass),
        (r#"{"Image":"docker.io/library/busybox:1.36"}"#.into(), Pass),
        (format!(r#"{{"Image":"busybox@{digest}"}}"#), Pass),
        (
            r#"{"Image":"registry.example.com/team/app:1"}"#.into(),
            Pass,
        ),
        (r#"{"Image":"alpine"}"#.into(), deny.clone()),
        (r#"{"IMAGE":"alpine"}"#.into(), deny.clone()),
        (
            r#"{"Image":"evil.example.com/busybox"}"#.into(),
            deny.clone(),
        ),
        (r#"{"Image":"library/busybox2"}"#.into(), deny.clone()),
        (r#"{"Image":"abcdef012345"}"#.into(), deny.clone()),
        (format!(r#"{{"Image":"{digest}"}}"#), deny.clone()),
        (r#"{"Image":"BusyBox"}"#.into(), deny.clone()),
        (r#"{"Image":""}"#.into(), deny.clone()),
        ("{}".into(), deny.clone()),
        // The rules after `images` still apply.
        (
            r#"{"Image":"busybox","HostConfig":{"Privileged":true}}"#.into(),
            Deny("privileged", "HostConfig.Privileged"),
        ),
        (
            r#"{"Image":"alpine","HostConfig":{"Privileged":true}}"#.into(),
            deny,
        ),
        // Image mounts are images too.
        (
            hc(r#""Mounts":[{"Type":"image","Source":"busybox","Target":"/i"}]"#),
            Pass,
        ),
        (
            hc(r#""Mounts":[{"Type":"image","Source":"alpine","Target":"/i"}]"#),
            Deny("images", "HostConfig.Mounts[0].Source"),
        ),
    ];
    for (body, want) in &cases {
        check(
            ContainerCreate,
            &ci(),
            Some(patterns.as_slice()),
            body,
            want,
        );
    }
    check(ContainerCreate, &ci(), None, r#"{"Image":"alpine"}"#, &Pass);
    check(
        ContainerCreate,
        &ci(),
        Some(&[][..]),
        r#"{"Image":"busybox"}"#,
        &Deny("images", "Image"),
    );
}

#[test]
fn read_only_binds_require_every_allowed_host_path_read_only() {
    let ro = ContainerRules {
        read_only_binds: true,
        ..ci()
    };
    let cases: Vec<(String, Want)> = vec![
        (hc(r#""Binds":["/srv/ci/w:/w:ro"]"#), Pass),
        (hc(r#""Binds":["/srv/ci/w:/w:ro,z"]"#), Pass),
        (hc(r#""Binds":["cache:/c","/data"]"#), Pass),
        (
            hc(r#""Binds":["/srv/ci/w:/w"]"#),
            Deny("read_only_binds", "HostConfig.Binds"),
        ),
        (
            hc(r#""Binds":["/srv/ci/w:/w:rw"]"#),
            Deny("read_only_binds", "HostConfig.Binds"),
        ),
        (
            hc(r#""Binds":["/srv/ci/w:/w:z,rprivate"]"#),
            Deny("read_only_binds", "HostConfig.Binds"),
        ),
        (
            hc(r#""Mounts":[{"Type":"bind","Source":"/srv/ci/w","Target":"/w","ReadOnly":true}]"#),
            Pass,
        ),
        (
            hc(r#""Mounts":[{"Type":"bind","Source":"/srv/ci/w","Target":"/w"}]"#),
            Deny("read_only_binds", "HostConfig.Mounts[0].ReadOnly"),
        ),
        // Read-only at the top only: mounts below the bind stay writable.
        (
            hc(
                r#""Mounts":[{"Type":"bind","Source":"/srv/ci/w","Target":"/w","ReadOnly":true,"BindOptions":{"ReadOnlyNonRecursive":true}}]"#,
            ),
            Deny(
                "read_only_binds",
                "HostConfig.Mounts[0].BindOptions.ReadOnlyNonRecursive",
            ),
        ),
        (
            hc(
                r#""Mounts":[{"Type":"bind","Source":"/srv/ci/w","Target":"/w","ReadOnly":true,"BindOptions":{"ReadOnlyNonRecursive":false,"ReadOnlyForceRecursive":true}}]"#,
            ),
            Pass,
        ),
        (
            hc(&format!(r#""Mounts":{VOLUME_BIND_CI}"#)),
            Deny(
                "read_only_binds",
                "HostConfig.Mounts[0].VolumeOptions.DriverConfig",
            ),
        ),
        (
            hc(&format!(
                r#""Mounts":{}"#,
                VOLUME_BIND_CI.replace(r#""o":"bind""#, r#""o":"bind,ro""#)
            )),
            Pass,
        ),
        (hc(r#""Mounts":[{"Type":"tmpfs","Target":"/t"}]"#), Pass),
        // Outside the prefix is refused by bind_mounts first, read-only or not.
        (
            hc(r#""Binds":["/etc:/e:ro"]"#),
            Deny("bind_mounts", "HostConfig.Binds"),
        ),
    ];
    for (body, want) in &cases {
        check(ContainerCreate, &ro, None, body, want);
        // Without the rule, every allowed path may be writable.
        if matches!(want, Deny("read_only_binds", _)) {
            check(ContainerCreate, &ci(), None, body, &Pass);
        }
    }
    let vol =
        |o: &str| format!(r#"{{"DriverOpts":{{"type":"none","o":"{o}","device":"/srv/ci/v"}}}}"#);
    check(VolumeCreate, &ro, None, &vol("bind,ro"), &Pass);
    check(
        VolumeCreate,
        &ro,
        None,
        &vol("bind"),
        &Deny("read_only_binds", "DriverOpts.o"),
    );
    check(VolumeCreate, &ci(), None, &vol("bind"), &Pass);
    // The engine applies `o` in order and untrimmed: the last of `ro`/`rw` decides, and ` ro`
    // is no flag.
    for o in ["bind,rw,ro", "ro,bind", "rbind,ro,ro"] {
        check(VolumeCreate, &ro, None, &vol(o), &Pass);
    }
    for o in [
        "bind,ro,rw",
        "bind, ro",
        "bind,ro ",
        "bind,RO",
        "bind,readonly",
    ] {
        check(
            VolumeCreate,
            &ro,
            None,
            &vol(o),
            &Deny("read_only_binds", "DriverOpts.o"),
        );
    }
}

#[test]
fn log_drivers() {
    let local = ContainerRules {
        log_drivers: Some(
            crate::config::profile::LOCAL_LOG_DRIVERS
                .map(str::to_string)
                .to_vec(),
        ),
        ..ci()
    };
    let deny = Deny("log_drivers", "HostConfig.LogConfig.Type");
    let cases: Vec<(String, Want)> = vec![
        (hc(r#""LogConfig":{"Type":"","Config":{}}"#), Pass),
        (hc(r#""LogConfig":null"#), Pass),
        (
            hc(r#""LogConfig":{"Type":"json-file","Config":{"max-size":"10m"}}"#),
            Pass,
        ),
        (hc(r#""LogConfig":{"Type":"journald"}"#), Pass),
        (hc(r#""LogConfig":{"Type":"none"}"#), Pass),
        // No driver named: the engine's default takes the options, so only neutral ones.
        (
            hc(
                r#""LogConfig":{"Type":"","Config":{"max-size":"10m","tag":"x","mode":"non-blocking"}}"#,
            ),
            Pass,
        ),
        (
            hc(r#""LogConfig":{"Type":"","Config":{"syslog-address":"tcp://203.0.113.7:514"}}"#),
            Deny("log_drivers", "HostConfig.LogConfig.Config"),
        ),
        (
            hc(r#""LogConfig":{"Config":{"fluentd-address":"203.0.113.7:24224"}}"#),
            Deny("log_drivers", "HostConfig.LogConfig.Config"),
        ),
        // Named, a local driver's options are the engine's to validate.
        (
            hc(r#""LogConfig":{"Type":"json-file","Config":{"max-size":"1m","labels":"a"}}"#),
            Pass,
        ),
        (
            hc(r#""LogConfig":{"Type":"syslog","Config":{"syslog-address":"unix:///run/x.sock"}}"#),
            deny.clone(),
        ),
        (hc(r#""LogConfig":{"type":"gelf"}"#), deny.clone()),
        (hc(r#""LogConfig":{"Type":"fluentd"}"#), deny.clone()),
        // The engine looks drivers up by their exact name.
        (hc(r#""LogConfig":{"Type":"JSON-FILE"}"#), deny.clone()),
        (r#"{"LogConfig":{"Type":"awslogs"}}"#.to_string(), deny),
        (
            hc(r#""LogConfig":{"Type":1}"#),
            ty("HostConfig.LogConfig.Type", "a string", "a number"),
        ),
    ];
    for (body, want) in &cases {
        check(ContainerCreate, &local, None, body, want);
    }
    let syslog = ContainerRules {
        log_drivers: Some(vec!["syslog".into()]),
        ..ci()
    };
    check(
        ContainerCreate,
        &syslog,
        None,
        &hc(r#""LogConfig":{"Type":"syslog"}"#),
        &Pass,
    );
}
