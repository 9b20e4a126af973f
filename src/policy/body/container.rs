//! `POST /containers/create` and `POST /containers/{id}/update`: the host settings a container
//! asks for, read from wherever moby reads them, and the `containers` rules that judge them.
//!
//! moby decodes a create body into `ContainerConfigWrapper` (`runconfig/config_unix.go`), which
//! embeds `*container.Config`, a `HostConfig` object, and `*container.HostConfig` itself at the
//! top level: when the body has no `HostConfig` object (or it is `null`), the top-level host
//! fields are the ones used (`getHostConfig`). [`CreateView::decode`] reads the same place, and
//! refuses a body that sets host fields in both places, which no client sends and which engine
//! versions need not read alike, and one that sets `Capabilities` or `Annotations` at its top
//! level ([`VERSION_DEPENDENT_HOST_FIELDS`]: moby 20.10 has neither, so there such a key alone
//! leaves the engine without host settings, which other versions would read). Fields added by
//! later API versions (`Annotations`, image mounts, mount subpaths) are checked whatever version
//! the path names: an engine that does not know a field ignores it, so checking it only refuses
//! more.

use std::collections::BTreeMap;

use serde::Serialize;

use super::json::{field_matches, Object, Value};
use super::mounts;
use super::{object, BodyError, Fields, Violation};
use crate::config::{ContainerRules, ImagePattern};
use crate::policy::image;

/// The JSON names of `container.HostConfig`'s fields and of its embedded `Resources` (moby
/// 20.10 to 28): the keys that, at the top level of a create body, are host settings.
pub const HOST_CONFIG_FIELDS: &[&str] = &[
    "Binds",
    "ContainerIDFile",
    "LogConfig",
    "NetworkMode",
    "PortBindings",
    "RestartPolicy",
    "AutoRemove",
    "VolumeDriver",
    "VolumesFrom",
    "ConsoleSize",
    "Annotations",
    "CapAdd",
    "CapDrop",
    "Capabilities",
    "CgroupnsMode",
    "Dns",
    "DnsOptions",
    "DnsSearch",
    "ExtraHosts",
    "GroupAdd",
    "IpcMode",
    "Cgroup",
    "Links",
    "OomScoreAdj",
    "PidMode",
    "Privileged",
    "PublishAllPorts",
    "ReadonlyRootfs",
    "SecurityOpt",
    "StorageOpt",
    "Tmpfs",
    "UTSMode",
    "UsernsMode",
    "ShmSize",
    "Sysctls",
    "Runtime",
    "Isolation",
    "Mounts",
    "MaskedPaths",
    "ReadonlyPaths",
    "Init",
    // Resources
    "CpuShares",
    "Memory",
    "NanoCpus",
    "CgroupParent",
    "BlkioWeight",
    "BlkioWeightDevice",
    "BlkioDeviceReadBps",
    "BlkioDeviceWriteBps",
    "BlkioDeviceReadIOps",
    "BlkioDeviceWriteIOps",
    "CpuPeriod",
    "CpuQuota",
    "CpuRealtimePeriod",
    "CpuRealtimeRuntime",
    "CpusetCpus",
    "CpusetMems",
    "Devices",
    "DeviceCgroupRules",
    "DeviceRequests",
    "KernelMemory",
    "KernelMemoryTCP",
    "MemoryReservation",
    "MemorySwap",
    "MemorySwappiness",
    "OomKillDisable",
    "PidsLimit",
    "Ulimits",
    "CpuCount",
    "CpuPercent",
    "IOMaximumIOps",
    "IOMaximumBandwidth",
];

/// Host fields that only some engine versions have (`Capabilities`: API 1.40, gone in moby
/// 20.10; `Annotations`: API 1.43 on). At the top level of a body such a key alone decides
/// whether an engine sees host settings at all, so [`CreateView::decode`] refuses it there.
pub const VERSION_DEPENDENT_HOST_FIELDS: &[&str] = &["Capabilities", "Annotations"];

/// The default capability set of a container (moby `oci/caps/defaults.go`): an explicit
/// `Capabilities` list may name these without `cap_add`.
const DEFAULT_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// The paths every supported engine masks, and makes read-only, by default (`oci/defaults.go`).
/// A body that gives its own list replaces the engine's: one that leaves any of these out
/// unmasks it. Engines from 25.0 also mask `/sys/devices/virtual/powercap`; it is not required
/// here, because inspect on older engines does not list it and tools that recreate containers
/// (Watchtower) copy the list back (the kernel keeps the RAPL counters root-only since 5.10).
const DEFAULT_MASKED: [&str; 10] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
];
const DEFAULT_READONLY: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// One entry of `HostConfig.Mounts`, as far as policy reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct MountView {
    #[serde(rename = "type")]
    pub kind: String,
    pub source: String,
    pub target: String,
    pub driver: String,
    pub options: Option<BTreeMap<String, String>>,
    /// `ReadOnly`; not part of the differential view.
    #[serde(skip)]
    pub read_only: bool,
    /// `BindOptions.ReadOnlyNonRecursive` (API 1.44): only the top of the bind is read-only,
    /// mounts below it stay writable. Not part of the differential view.
    #[serde(skip)]
    pub read_only_non_recursive: bool,
    /// `BindOptions.Propagation`. Not part of the differential view.
    #[serde(skip)]
    pub propagation: String,
}

/// What a create body asks of the host, read as the engine reads it. Serialised, it is the
/// view the differential test compares with moby's own decoder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct CreateView {
    pub image: String,
    /// The engine ends up with host settings (a `HostConfig` object, or top-level host fields).
    pub hostconfig: bool,
    pub privileged: bool,
    pub cap_add: Option<Vec<String>>,
    pub network_mode: String,
    pub pid_mode: String,
    pub ipc_mode: String,
    pub uts_mode: String,
    pub userns_mode: String,
    pub cgroupns_mode: String,
    pub cgroup: String,
    pub devices: usize,
    pub device_cgroup_rules: usize,
    pub device_requests: usize,
    pub binds: Option<Vec<String>>,
    pub mounts: Option<Vec<MountView>>,
    pub volumes_from: Option<Vec<String>>,
    pub security_opt: Option<Vec<String>>,
    pub masked_paths: Option<Vec<String>>,
    pub readonly_paths: Option<Vec<String>>,
    pub volume_driver: String,
    /// Fields moby 20.10 does not have; checked, but not part of the differential view.
    #[serde(skip)]
    pub capabilities: Option<Vec<String>>,
    #[serde(skip)]
    pub annotations: usize,
    /// `LogConfig.Type`. Not part of the differential view.
    #[serde(skip)]
    pub log_driver: String,
    /// `LogConfig.Config`'s keys. Not part of the differential view.
    #[serde(skip)]
    pub log_options: Vec<String>,
    /// The first block I/O device limit given (`BlkioDeviceReadBps`…) with its number of
    /// entries: the engine stats the paths as root. Not part of the differential view.
    #[serde(skip)]
    pub blkio_devices: (&'static str, usize),
}

/// Log options that direct no output anywhere and name no file, whichever driver takes them.
const NEUTRAL_LOG_OPTIONS: [&str; 10] = [
    "max-size",
    "max-file",
    "compress",
    "labels",
    "labels-regex",
    "env",
    "env-regex",
    "tag",
    "mode",
    "max-buffer-size",
];

/// `Resources` fields that name host device paths for block I/O limits.
const BLKIO_DEVICES: [&str; 5] = [
    "BlkioWeightDevice",
    "BlkioDeviceReadBps",
    "BlkioDeviceWriteBps",
    "BlkioDeviceReadIOps",
    "BlkioDeviceWriteIOps",
];

/// The first of `BLKIO_DEVICES` that `f` gives a non-empty list, with its length (the first
/// with 0 if none).
fn blkio_devices(f: &Fields) -> Result<(&'static str, usize), BodyError> {
    for name in BLKIO_DEVICES {
        let n = f.len(name)?;
        if n > 0 {
            return Ok((name, n));
        }
    }
    Ok((BLKIO_DEVICES[0], 0))
}

impl CreateView {
    pub fn decode(body: &[u8]) -> Result<CreateView, BodyError> {
        let top = object(body)?;
        let fields = Fields::new(&top, "");
        let inner = fields.object("HostConfig")?;
        let top_host: Vec<&str> = top
            .members
            .iter()
            .filter(|(k, _)| HOST_CONFIG_FIELDS.iter().any(|f| field_matches(f, k)))
            .map(|(k, _)| k.as_str())
            .collect();
        let host = match (inner, top_host.first()) {
            (Some(_), Some(k)) => return Err(BodyError::AmbiguousHostConfig(k.to_string())),
            (Some(hc), None) => Some(Fields::new(hc, "HostConfig")),
            (None, Some(_)) => {
                let versioned = top_host.iter().find(|k| {
                    VERSION_DEPENDENT_HOST_FIELDS
                        .iter()
                        .any(|f| field_matches(f, k))
                });
                if let Some(k) = versioned {
                    return Err(BodyError::VersionDependentHostField(k.to_string()));
                }
                Some(Fields::new(&top, ""))
            }
            (None, None) => None,
        };
        let mut view = CreateView {
            image: fields.string("Image")?,
            ..CreateView::default()
        };
        if let Some(h) = host {
            read_host(&h, &mut view)?;
        }
        Ok(view)
    }
}

/// Reads a `HostConfig` (or the top level of a create body standing for one) into `v`.
pub fn read_host(h: &Fields<'_>, v: &mut CreateView) -> Result<(), BodyError> {
    v.hostconfig = true;
    v.privileged = h.bool("Privileged")?;
    v.cap_add = h.str_slice("CapAdd")?;
    h.str_slice("CapDrop")?;
    v.capabilities = h.strings("Capabilities")?;
    v.network_mode = h.string("NetworkMode")?;
    if v.network_mode.is_empty() {
        // runconfig.SetDefaultNetModeIfBlank
        v.network_mode = "default".into();
    }
    v.pid_mode = h.string("PidMode")?;
    v.ipc_mode = h.string("IpcMode")?;
    v.uts_mode = h.string("UTSMode")?;
    v.userns_mode = h.string("UsernsMode")?;
    v.cgroupns_mode = h.string("CgroupnsMode")?;
    v.cgroup = h.string("Cgroup")?;
    v.devices = h.len("Devices")?;
    v.device_cgroup_rules = h.strings("DeviceCgroupRules")?.map_or(0, |r| r.len());
    v.device_requests = h.len("DeviceRequests")?;
    v.blkio_devices = blkio_devices(h)?;
    if let Some(lc) = h.object("LogConfig")? {
        let path = h.path("LogConfig");
        let lf = Fields::new(lc, &path);
        v.log_driver = lf.string("Type")?;
        v.log_options = lf
            .string_map("Config")?
            .unwrap_or_default()
            .into_keys()
            .collect();
    }
    v.binds = h.strings("Binds")?;
    v.mounts = match h.get("Mounts") {
        None => None,
        // A `null` entry is a zero `mount.Mount` to Go (type ""), not a missing one.
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, m)| match m {
                    Value::Null => Ok(MountView::default()),
                    m => mount(m, &h.path(&format!("Mounts[{i}]"))),
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(other) => {
            return Err(BodyError::Type {
                field: h.path("Mounts"),
                expected: "an array",
                found: other.kind(),
            })
        }
    };
    v.volumes_from = h.strings("VolumesFrom")?;
    v.security_opt = h.strings("SecurityOpt")?;
    v.masked_paths = h.strings("MaskedPaths")?;
    v.readonly_paths = h.strings("ReadonlyPaths")?;
    v.volume_driver = h.string("VolumeDriver")?;
    v.annotations = h.string_map("Annotations")?.map_or(0, |a| a.len());
    Ok(())
}

fn mount(m: &Value, at: &str) -> Result<MountView, BodyError> {
    let Value::Object(o) = m else {
        return Err(BodyError::Type {
            field: at.to_string(),
            expected: "an object",
            found: m.kind(),
        });
    };
    let f = Fields::new(o, at);
    let mut view = MountView {
        kind: f.string("Type")?,
        source: f.string("Source")?,
        target: f.string("Target")?,
        driver: String::new(),
        options: None,
        read_only: f.bool("ReadOnly")?,
        read_only_non_recursive: false,
        propagation: String::new(),
    };
    if let Some(bo) = f.object("BindOptions")? {
        let path = f.path("BindOptions");
        let bf = Fields::new(bo, &path);
        view.read_only_non_recursive = bf.bool("ReadOnlyNonRecursive")?;
        view.propagation = bf.string("Propagation")?;
    }
    if let Some(vo) = f.object("VolumeOptions")? {
        let path = f.path("VolumeOptions");
        let vf = Fields::new(vo, &path);
        if let Some(dc) = vf.object("DriverConfig")? {
            let path = vf.path("DriverConfig");
            let df = Fields::new(dc, &path);
            view.driver = df.string("Name")?;
            view.options = df.string_map("Options")?;
        }
    }
    if let Some(io) = f.object("ImageOptions")? {
        let path = f.path("ImageOptions");
        Fields::new(io, &path).string("Subpath")?;
    }
    Ok(view)
}

impl CreateView {
    /// The named volumes the container mounts (`Binds` `name:/dst`, `Mounts` of type
    /// `volume`): existing ones keep the driver options they were created with, which the
    /// engine must be asked about. Each comes once, with whether every use of it is read-only.
    pub fn named_volumes(&self) -> Vec<(String, bool)> {
        let binds = text_list(&self.binds)
            .iter()
            .filter_map(|b| Some((mounts::bind_volume(b)?, mounts::bind_read_only(b))));
        let mounts = self
            .mounts
            .iter()
            .flatten()
            .filter(|m| m.kind == "volume" && !m.source.is_empty())
            .map(|m| (m.source.as_str(), m.read_only));
        mounts::uses(binds.chain(mounts))
    }
}

fn text_list(v: &Option<Vec<String>>) -> &[String] {
    v.as_deref().unwrap_or(&[])
}

/// Judges a decoded create body.
pub fn check_create(
    v: &CreateView,
    rules: &ContainerRules,
    images: Option<&[ImagePattern]>,
) -> Result<(), Violation> {
    let hc = |f: &str| format!("HostConfig.{f}");
    if let Some(patterns) = images {
        image::check_run(&v.image, patterns).map_err(|m| Violation::new("images", "Image", m))?;
    }
    if v.privileged && !rules.privileged {
        return Err(Violation::new(
            "privileged",
            hc("Privileged"),
            "privileged containers are not allowed for this client",
        ));
    }
    check_caps(text_list(&v.cap_add), &hc("CapAdd"), rules, &[])?;
    check_caps(
        text_list(&v.capabilities),
        &hc("Capabilities"),
        rules,
        &DEFAULT_CAPS,
    )?;
    if !rules.host_namespaces {
        let modes = [
            ("NetworkMode", &v.network_mode),
            ("PidMode", &v.pid_mode),
            ("IpcMode", &v.ipc_mode),
            ("UTSMode", &v.uts_mode),
            ("UsernsMode", &v.userns_mode),
            ("CgroupnsMode", &v.cgroupns_mode),
            ("Cgroup", &v.cgroup),
        ];
        for (name, mode) in modes {
            let m = mode.trim().to_ascii_lowercase();
            if m == "host" && !(name == "CgroupnsMode" && rules.host_cgroupns) {
                return Err(Violation::new(
                    "host_namespaces",
                    hc(name),
                    format!(
                        "{name} \"host\" (the host's namespace) is not allowed for this client"
                    ),
                ));
            }
            if m.starts_with("container:") {
                return Err(Violation::new(
                    "host_namespaces",
                    hc(name),
                    format!(
                        "{name} \"{mode}\" (joining another container's namespace) is not allowed for this client"
                    ),
                ));
            }
        }
    }
    let devices = [
        ("Devices", v.devices),
        ("DeviceCgroupRules", v.device_cgroup_rules),
        ("DeviceRequests", v.device_requests),
        v.blkio_devices,
    ];
    check_devices(&devices, rules, "HostConfig.")?;
    if let Some(allowed) = &rules.log_drivers {
        check_log_driver(v, allowed)?;
    }
    for b in text_list(&v.binds) {
        if let Some(src) = mounts::bind_source(b) {
            check_host_path(src, &hc("Binds"), rules)?;
            if mounts::bind_shares(b) {
                return Err(shared_propagation(src, &hc("Binds")));
            }
            if !mounts::bind_read_only(b) {
                check_writable(src, &hc("Binds"), rules)?;
            }
        }
    }
    for (i, m) in v.mounts.iter().flatten().enumerate() {
        let at = hc(&format!("Mounts[{i}]"));
        match m.kind.as_str() {
            "bind" => {
                check_host_path(&m.source, &at, rules)?;
                if mounts::propagation_shares(&m.propagation) {
                    let field = format!("{at}.BindOptions.Propagation");
                    return Err(shared_propagation(&m.source, &field));
                }
                if !m.read_only {
                    check_writable(&m.source, &format!("{at}.ReadOnly"), rules)?;
                } else if m.read_only_non_recursive {
                    let field = format!("{at}.BindOptions.ReadOnlyNonRecursive");
                    check_writable(&m.source, &field, rules)?;
                }
            }
            "volume" => {
                let judged =
                    mounts::judge_volume(&m.driver, m.options.as_ref(), m.read_only, rules);
                if let Err(problem) = judged {
                    let message = match &problem {
                        mounts::VolumeProblem::Outside(dev) => host_path_message(dev),
                        mounts::VolumeProblem::Writable(dev) => writable_message(dev),
                        mounts::VolumeProblem::Refused(what) => {
                            format!("{what} is not allowed for this client")
                        }
                    };
                    let field = format!("{at}.VolumeOptions.DriverConfig");
                    return Err(Violation::new(problem.rule(), field, message));
                }
            }
            "tmpfs" => {}
            "image" => {
                if let Some(patterns) = images {
                    image::check_run(&m.source, patterns)
                        .map_err(|msg| Violation::new("images", format!("{at}.Source"), msg))?;
                }
            }
            other => {
                return Err(Violation::new(
                    "bind_mounts",
                    format!("{at}.Type"),
                    format!("mounts of type \"{other}\" are not allowed for this client"),
                ))
            }
        }
    }
    if !text_list(&v.volumes_from).is_empty() && !rules.volumes_from {
        return Err(Violation::new(
            "volumes_from",
            hc("VolumesFrom"),
            "mounting another container's volumes (--volumes-from) is not allowed for this client",
        ));
    }
    if !rules.security_opt_unconfined {
        for opt in text_list(&v.security_opt) {
            if unconfined(opt) {
                return Err(Violation::new(
                    "security_opt_unconfined",
                    hc("SecurityOpt"),
                    format!("security option \"{opt}\" is not allowed for this client"),
                ));
            }
        }
        for (name, list, defaults) in [
            ("MaskedPaths", &v.masked_paths, &DEFAULT_MASKED[..]),
            ("ReadonlyPaths", &v.readonly_paths, &DEFAULT_READONLY[..]),
        ] {
            if let Some(list) = list {
                if defaults.iter().any(|d| !list.iter().any(|p| p == d)) {
                    return Err(Violation::new(
                        "security_opt_unconfined",
                        hc(name),
                        format!(
                            "a {name} list that leaves out the default paths (unmasking /proc or /sys) is not allowed for this client"
                        ),
                    ));
                }
            }
        }
    }
    if v.annotations > 0 && !rules.annotations {
        return Err(Violation::new(
            "annotations",
            hc("Annotations"),
            "container annotations (read by OCI runtimes) are not allowed for this client",
        ));
    }
    Ok(())
}

/// Whether a `SecurityOpt` entry lifts a confinement: seccomp or AppArmor unconfined, a custom
/// seccomp profile (it may allow everything), SELinux labelling disabled or an unconfined type,
/// `systempaths=unconfined`, writable cgroups, or anything moby's parser would not know.
pub fn unconfined(opt: &str) -> bool {
    let o = opt.trim();
    if o == "no-new-privileges" {
        return false;
    }
    if o == "disable" {
        return true;
    }
    let (key, value) = match o.split_once('=').or_else(|| o.split_once(':')) {
        Some(kv) => kv,
        None => return true,
    };
    // moby compares profile names exactly (`DOCKER-DEFAULT` is another, unloaded profile).
    let value = value.trim();
    match key {
        "no-new-privileges" => false,
        // Another profile loaded on the host may allow anything: only the engine's own.
        "apparmor" => value != "docker-default",
        // Any seccomp option: a profile of the client's may allow everything, and `builtin`
        // replaces a stricter profile the engine was given (`--seccomp-profile`).
        "seccomp" => true,
        // One MCS level of at most two categories only separates containers. A type, user or
        // role can be any domain (spc_t, unconfined_t), `disable` and `nested` loosen
        // confinement, and a range (`s0-s0:c0.c1023`) reads every container's files.
        "label" => !value.strip_prefix("level:").is_some_and(mcs_level),
        "systempaths" => value.eq_ignore_ascii_case("unconfined"),
        _ => true,
    }
}

/// `s0`, `s0:c5` or `s0:c5,c9`: one sensitivity, at most two categories, no ranges.
fn mcs_level(level: &str) -> bool {
    let (sens, cats) = level.split_once(':').unwrap_or((level, ""));
    let number = |s: &str, p: char| {
        s.strip_prefix(p)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    number(sens, 's')
        && (cats.is_empty() || {
            let cats: Vec<&str> = cats.split(',').collect();
            cats.len() <= 2 && cats.iter().all(|c| number(c, 'c'))
        })
}

fn check_caps(
    caps: &[String],
    field: &str,
    rules: &ContainerRules,
    free: &[&str],
) -> Result<(), Violation> {
    let all = rules.cap_add.iter().any(|c| c == "ALL");
    for c in caps {
        let norm = crate::config::profile::normalize_capability(c);
        let ok = match &norm {
            None => false,
            Some(n) => all || free.contains(&n.as_str()) || rules.cap_add.contains(n),
        };
        if !ok {
            return Err(Violation::new(
                "cap_add",
                field,
                format!("adding the capability \"{c}\" is not allowed for this client"),
            ));
        }
    }
    Ok(())
}

/// `fields`: each device field with how many entries it has.
fn check_devices(
    fields: &[(&str, usize)],
    rules: &ContainerRules,
    prefix: &str,
) -> Result<(), Violation> {
    if rules.devices {
        return Ok(());
    }
    match fields.iter().find(|(_, n)| *n > 0) {
        Some((name, _)) => Err(Violation::new(
            "devices",
            format!("{prefix}{name}"),
            "host devices (--device, --device-cgroup-rule, --gpus, block I/O device limits) are not allowed for this client",
        )),
        None => Ok(()),
    }
}

/// The refusal of a bind of `p` with shared propagation.
pub fn shared_propagation(p: &str, field: &str) -> Violation {
    Violation::new(
        "bind_mounts",
        field,
        format!("mounting the host path \"{p}\" with shared propagation is not allowed for this client (mounts made below it would appear on the host)"),
    )
}

pub fn check_host_path(p: &str, field: &str, rules: &ContainerRules) -> Result<(), Violation> {
    if mounts::allowed(p, &rules.bind_mounts) {
        return Ok(());
    }
    Err(Violation::new("bind_mounts", field, host_path_message(p)))
}

pub fn check_writable(p: &str, field: &str, rules: &ContainerRules) -> Result<(), Violation> {
    if !rules.read_only_binds {
        return Ok(());
    }
    Err(Violation::new(
        "read_only_binds",
        field,
        writable_message(p),
    ))
}

fn writable_message(p: &str) -> String {
    format!("mounting the host path \"{p}\" writable is not allowed for this client (add :ro)")
}

fn host_path_message(p: &str) -> String {
    format!("mounting the host path \"{p}\" is not allowed for this client")
}

/// `LogConfig` held to `log_drivers` (`allowed`).
fn check_log_driver(v: &CreateView, allowed: &[String]) -> Result<(), Violation> {
    if v.log_driver.is_empty() {
        // No driver named: the engine's default (daemon.json `log-driver`, possibly a remote
        // one) gets the options, so only those harmless to every driver may be given.
        return match (v.log_options.iter()).find(|k| !NEUTRAL_LOG_OPTIONS.contains(&k.as_str())) {
            None => Ok(()),
            Some(key) => Err(Violation::new(
                "log_drivers",
                "HostConfig.LogConfig.Config",
                format!(
                    "the log option \"{key}\" for the engine's default log driver is not allowed for this client (name one of its log drivers)"
                ),
            )),
        };
    }
    if allowed.contains(&v.log_driver) {
        return Ok(());
    }
    Err(Violation::new(
        "log_drivers",
        "HostConfig.LogConfig.Type",
        format!(
            "the log driver \"{}\" is not allowed for this client (it makes the engine send the container's output where the client says)",
            v.log_driver
        ),
    ))
}

/// `POST /containers/{id}/update`: `container.UpdateConfig` embeds `Resources`, whose device
/// fields are held to the `devices` rule.
pub fn check_update(body: &[u8], rules: &ContainerRules) -> Result<(), super::Refusal> {
    let top: Object = object(body)?;
    let f = Fields::new(&top, "");
    let blkio = blkio_devices(&f)?;
    let devices = [
        ("Devices", f.len("Devices")?),
        (
            "DeviceCgroupRules",
            f.strings("DeviceCgroupRules")?.map_or(0, |r| r.len()),
        ),
        ("DeviceRequests", f.len("DeviceRequests")?),
        blkio,
    ];
    f.object("RestartPolicy")?;
    f.string("CgroupParent")?;
    check_devices(&devices, rules, "")?;
    Ok(())
}
