//! The container-create body inspector against the engine's own decoder: thousands of generated
//! `POST /containers/create` bodies, decoded by [`CreateView::decode`] and by moby 20.10's
//! `runconfig.ContainerDecoder` (`tests/go/moby_decode`, built offline from Debian's
//! golang-github-docker-docker-dev). Wherever the engine decodes a body, the inspector must either
//! refuse it or see exactly what the engine sees; where the engine refuses a body, anything goes.
//!
//! The bodies are realistic create bodies (image, command, a `HostConfig` with every field the
//! container rules judge, mounts with volume driver options) with the mutations Go's
//! `encoding/json` is lenient about: key case, the Unicode folds `ſ`/`K`, `\u`-escaped keys,
//! duplicate keys at every level, host fields at the top level (alone, beside `HostConfig`, with
//! `"HostConfig": null`, or nested in `HostConfig`), nulls, wrong types, extra nesting, unknown
//! keys, invalid UTF-8 and escapes in strings, deep nesting, trailing data. They come from a
//! deterministic proptest runner, so a failure names a body that the next run generates again.
//!
//! `Capabilities` and `Annotations`, host fields moby 20.10 does not have (other engine versions
//! do), are generated too: inside `HostConfig` moby 20.10 ignores them and they are not part of
//! the compared view; at the top level the inspector refuses them (`container.rs`).

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use dockgate::policy::body::container::CreateView;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::strategy::{BoxedStrategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::Value;

/// How many bodies are generated and compared.
const BODIES: usize = 4000;

/// Every feature the generator can put in a body; each must occur.
const FEATURES: &[&str] = &[
    "key-case",
    "key-fold",
    "key-escape",
    "key-near-miss",
    "dup-key",
    "null-field",
    "null-element",
    "wrong-type",
    "extra-nesting",
    "strslice-string",
    "str-escape",
    "unicode",
    "invalid-utf8",
    "surrogate-escape",
    "unknown-key",
    "bad-number",
    "deep-nesting",
    "too-deep",
    "map-key-case",
    "newer-field",
    "host-object",
    "host-top-level",
    "hostconfig-null",
    "host-both",
    "host-none",
    "nested-hostconfig",
    "not-object",
    "leading-ws",
    "pretty",
    "trailing-ws",
    "trailing-garbage",
];

/// Features that must occur in at least one body both decoders accept with equal views: the
/// inspector really reads what Go's leniency lets through, rather than refusing it.
const MUST_BE_READ: &[&str] = &[
    "key-case",
    "key-fold",
    "key-escape",
    "key-near-miss",
    "null-field",
    "null-element",
    "strslice-string",
    "str-escape",
    "unicode",
    "invalid-utf8",
    "surrogate-escape",
    "unknown-key",
    "deep-nesting",
    "newer-field",
    "host-object",
    "host-top-level",
    "hostconfig-null",
    "host-none",
    "nested-hostconfig",
    "leading-ws",
    "pretty",
    "trailing-ws",
];

/// Features the engine accepts and the inspector refuses by design, each seen at least once.
const MUST_BE_REFUSED: &[&str] = &["dup-key", "too-deep", "host-both", "trailing-garbage"];

// ---------------------------------------------------------------------------------------------
// A JSON tree that can hold what a serialiser would never write.

/// A JSON value; strings and keys are the raw bytes between their quotes (escapes included).
#[derive(Debug, Clone)]
enum J {
    Null,
    Bool(bool),
    Num(&'static str),
    Str(Vec<u8>),
    Arr(Vec<J>),
    Obj(Vec<Member>),
    /// Arrays and objects nested this many levels, alternately.
    Deep(usize),
    /// A generator feature, recorded when the value is written.
    Tag(&'static str, Box<J>),
}

#[derive(Debug, Clone)]
struct Key {
    raw: Vec<u8>,
    tag: Option<&'static str>,
}

type Member = (Key, J);

fn key(raw: &[u8], tag: Option<&'static str>) -> Key {
    Key {
        raw: raw.to_vec(),
        tag,
    }
}

fn tag(t: &'static str, j: J) -> J {
    J::Tag(t, Box::new(j))
}

/// Bytes of `s` as JSON string content.
fn escape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    out
}

fn s(text: &str) -> J {
    J::Str(escape(text))
}

/// A body and the generator features in it.
#[derive(Debug, Clone)]
struct Body {
    bytes: Vec<u8>,
    features: BTreeSet<&'static str>,
}

/// The inspector's nesting limit (`json::MAX_DEPTH`): deeper is `too-deep`, not `deep-nesting`.
const MAX_DEPTH: usize = 256;

struct Writer {
    out: Vec<u8>,
    features: BTreeSet<&'static str>,
    /// Whitespace written after `{`, `[`, `:` and `,` (empty for compact bodies).
    gap: &'static [u8],
}

impl Writer {
    fn value(&mut self, j: &J, depth: usize) {
        match j {
            J::Null => self.out.extend_from_slice(b"null"),
            J::Bool(b) => self
                .out
                .extend_from_slice(if *b { b"true" } else { b"false" }),
            J::Num(n) => self.out.extend_from_slice(n.as_bytes()),
            J::Str(raw) => {
                self.out.push(b'"');
                self.out.extend_from_slice(raw);
                self.out.push(b'"');
            }
            J::Arr(items) => {
                self.out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.out.extend_from_slice(self.gap);
                    self.value(item, depth + 1);
                }
                self.out.push(b']');
            }
            J::Obj(members) => {
                self.out.push(b'{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.out.extend_from_slice(self.gap);
                    if let Some(t) = k.tag {
                        self.features.insert(t);
                    }
                    self.out.push(b'"');
                    self.out.extend_from_slice(&k.raw);
                    self.out.extend_from_slice(b"\":");
                    self.out.extend_from_slice(self.gap);
                    self.value(v, depth + 1);
                }
                self.out.push(b'}');
            }
            J::Deep(n) => {
                // The innermost array or object sits at depth + n - 1 (the generated depths keep
                // well away from the limit, so an off-by-one there cannot flip the tag).
                self.features.insert(if depth + n > MAX_DEPTH {
                    "too-deep"
                } else {
                    "deep-nesting"
                });
                for level in 0..*n {
                    self.out
                        .extend_from_slice(if level % 2 == 0 { b"[" } else { b"{\"a\":" });
                }
                self.out.push(b'0');
                for level in (0..*n).rev() {
                    self.out.push(if level % 2 == 0 { b']' } else { b'}' });
                }
            }
            J::Tag(t, inner) => {
                self.features.insert(t);
                self.value(inner, depth);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies.

/// A struct field's key as Go would still match it (or, for `key-near-miss`, would not).
fn key_variant(name: &'static str) -> BoxedStrategy<Key> {
    let has_fold = name.bytes().any(|b| matches!(b, b's' | b'S' | b'k' | b'K'));
    prop_oneof![
        30 => Just(key(name.as_bytes(), None)),
        1 => Just(key(name.to_ascii_lowercase().as_bytes(), Some("key-case"))),
        1 => Just(key(name.to_ascii_uppercase().as_bytes(), Some("key-case"))),
        1 => prop::collection::vec(any::<bool>(), name.len()).prop_map(move |up| {
            let k: String = name
                .chars()
                .zip(up)
                .map(|(c, u)| if u { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
                .collect();
            key(k.as_bytes(), Some("key-case"))
        }),
        2 => (any::<bool>(), any::<bool>()).prop_map(move |(all, escaped)| {
            if !has_fold {
                return key(name.to_ascii_lowercase().as_bytes(), Some("key-case"));
            }
            let mut out = Vec::new();
            let mut done = false;
            for c in name.chars() {
                let folded = match c {
                    's' | 'S' if all || !done => Some(("\u{17F}", "\\u017f")),
                    'k' | 'K' if all || !done => Some(("\u{212A}", "\\u212A")),
                    _ => None,
                };
                match folded {
                    Some((raw, esc)) => {
                        done = true;
                        out.extend_from_slice(if escaped { esc } else { raw }.as_bytes());
                    }
                    None => out.push(c as u8),
                }
            }
            key(&out, Some("key-fold"))
        }),
        2 => any::<Index>().prop_map(move |i| {
            let at = i.index(name.len());
            let mut out = name.as_bytes()[..at].to_vec();
            out.extend_from_slice(format!("\\u{:04X}", name.as_bytes()[at]).as_bytes());
            out.extend_from_slice(&name.as_bytes()[at + 1..]);
            key(&out, Some("key-escape"))
        }),
        1 => select(vec!["_", "x", " ", "\\u0000", "\u{131}"]).prop_map(move |extra| {
            let mut out = name.as_bytes().to_vec();
            out.extend_from_slice(extra.as_bytes());
            key(&out, Some("key-near-miss"))
        }),
    ]
    .boxed()
}

const NON_ASCII: &[&str] = &["é", "日本", "\u{17F}", "\u{212A}", "\u{202E}", "\u{7f}"];
const BAD_UTF8: &[&[u8]] = &[
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\xe2\x82",
    b"\xc0\xaf",
    b"\xf4\x90\x80\x80",
];
const SURROGATES: &[&str] = &[
    "\\ud800",
    "\\udc00x",
    "\\ud83d\\ude00",
    "\\ud800\\u0041",
    "\\uDBFF\\uDFFF",
];
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1.5e-3",
    "1E+400",
    "12345678901234567890123",
    "-0.0",
];
const BAD_NUMBERS: &[&str] = &["01", "1.", "-", ".5", "+1", "0x10"];
const WHITESPACE: &[&[u8]] = &[b" ", b"\n", b"\r\n", b"\t \n"];
const GARBAGE: &[&[u8]] = &[
    b"x",
    b"}",
    b"]",
    b"{}",
    b"\0",
    b" {\"Privileged\":true}",
    b"\xff",
    b"\n{",
    b",",
    b"null",
];

/// A string from `pool`, sometimes with escapes, non-ASCII text or invalid UTF-8 in it.
fn text(pool: &'static [&'static str]) -> BoxedStrategy<J> {
    prop_oneof![
        24 => select(pool).prop_map(s),
        1 => (select(pool), any::<Index>()).prop_map(|(t, i)| {
            let b = t.as_bytes();
            if b.is_empty() {
                return tag("str-escape", J::Str(b"\\/\\n\\u0000".to_vec()));
            }
            let at = i.index(b.len());
            let mut out = escape(&t[..at]);
            out.extend_from_slice(format!("\\u{:04x}", b[at]).as_bytes());
            out.extend_from_slice(&escape(&t[at + 1..]));
            tag("str-escape", J::Str(out))
        }),
        1 => (select(pool), select(NON_ASCII))
            .prop_map(|(t, u)| tag("unicode", s(&format!("{t}{u}")))),
        1 => (select(pool), select(BAD_UTF8))
            .prop_map(|(t, bad)| {
                let mut out = escape(t);
                out.extend_from_slice(bad);
                out.extend_from_slice(b"x");
                tag("invalid-utf8", J::Str(out))
            }),
        1 => (select(pool), select(SURROGATES))
            .prop_map(|(t, e)| {
                let mut out = escape(t);
                out.extend_from_slice(e.as_bytes());
                tag("surrogate-escape", J::Str(out))
            }),
    ]
    .boxed()
}

/// Values of the wrong JSON type for a field whose right one is described by `kind`.
fn wrong(kind: Kind) -> Vec<J> {
    let obj = J::Obj(vec![(key(b"x", None), s("y"))]);
    match kind {
        Kind::Bool => vec![
            s("true"),
            J::Num("1"),
            J::Obj(vec![]),
            J::Arr(vec![J::Bool(true)]),
        ],
        Kind::Str => vec![J::Num("1"), J::Bool(true), J::Arr(vec![s("host")]), obj],
        Kind::StrSlice => vec![
            J::Num("0"),
            J::Bool(false),
            obj,
            J::Arr(vec![J::Num("1")]),
            J::Arr(vec![J::Arr(vec![s("x")])]),
        ],
        Kind::List => vec![
            s("x"),
            J::Num("2"),
            obj,
            J::Arr(vec![J::Num("1")]),
            J::Arr(vec![J::Bool(true)]),
        ],
        Kind::ObjList => vec![
            s("x"),
            J::Num("3"),
            obj,
            J::Arr(vec![J::Num("1")]),
            J::Arr(vec![s("x")]),
        ],
        Kind::Obj => vec![s("x"), J::Num("4"), J::Arr(vec![]), J::Bool(true)],
        Kind::Map => vec![
            J::Arr(vec![]),
            s("a=b"),
            J::Obj(vec![(key(b"a", None), J::Num("1"))]),
        ],
        Kind::Num => vec![s("1"), J::Bool(true), J::Arr(vec![])],
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Bool,
    Str,
    StrSlice,
    List,
    ObjList,
    Obj,
    Map,
    Num,
}

/// A field value: mostly `good`, sometimes null, of the wrong type, or nested once more.
fn typed(kind: Kind, good: BoxedStrategy<J>) -> BoxedStrategy<J> {
    prop_oneof![
        70 => good.clone(),
        2 => Just(tag("null-field", J::Null)),
        1 => select(wrong(kind)).prop_map(|j| tag("wrong-type", j)),
        1 => (good, any::<bool>()).prop_map(|(j, in_array)| {
            let nested = if in_array {
                J::Arr(vec![j])
            } else {
                J::Obj(vec![(key(b"Value", None), j)])
            };
            tag("extra-nesting", nested)
        }),
    ]
    .boxed()
}

fn boolean() -> BoxedStrategy<J> {
    typed(Kind::Bool, any::<bool>().prop_map(J::Bool).boxed())
}

fn string(pool: &'static [&'static str]) -> BoxedStrategy<J> {
    typed(Kind::Str, text(pool))
}

fn number() -> BoxedStrategy<J> {
    let good = select(vec!["0", "1024", "-1", "67108864"])
        .prop_map(J::Num)
        .boxed();
    typed(Kind::Num, good)
}

fn element(good: BoxedStrategy<J>) -> BoxedStrategy<J> {
    prop_oneof![16 => good, 1 => Just(tag("null-element", J::Null))].boxed()
}

fn list_of(pool: &'static [&'static str]) -> BoxedStrategy<J> {
    prop::collection::vec(element(text(pool)), 0..4)
        .prop_map(J::Arr)
        .boxed()
}

fn list(pool: &'static [&'static str]) -> BoxedStrategy<J> {
    typed(Kind::List, list_of(pool))
}

/// moby's `strslice.StrSlice`: an array of strings, or one string.
fn str_slice(pool: &'static [&'static str]) -> BoxedStrategy<J> {
    let good = prop_oneof![
        5 => list_of(pool),
        1 => text(pool).prop_map(|j| tag("strslice-string", j)),
    ]
    .boxed();
    typed(Kind::StrSlice, good)
}

fn obj_list(elem: BoxedStrategy<J>) -> BoxedStrategy<J> {
    let good = prop::collection::vec(element(elem), 0..3)
        .prop_map(J::Arr)
        .boxed();
    typed(Kind::ObjList, good)
}

/// A Go `map[string]string`: keys are exact, so `type` and `Type` are two keys to Go.
fn string_map(keys: &'static [&'static str], values: &'static [&'static str]) -> BoxedStrategy<J> {
    let good = prop::collection::vec((select(keys), text(values)), 0..4)
        .prop_map(|pairs| {
            let mut seen: Vec<&str> = Vec::new();
            let mut members = Vec::new();
            let mut folded = false;
            for (k, v) in pairs {
                if seen.contains(&k) {
                    continue;
                }
                folded |= seen.iter().any(|o| o.eq_ignore_ascii_case(k));
                seen.push(k);
                members.push((key(k.as_bytes(), None), v));
            }
            if folded {
                tag("map-key-case", J::Obj(members))
            } else {
                J::Obj(members)
            }
        })
        .boxed();
    typed(Kind::Map, good)
}

/// An object-valued field (a nested struct).
fn nested(members: BoxedStrategy<Vec<Member>>) -> BoxedStrategy<J> {
    typed(Kind::Obj, members.prop_map(J::Obj).boxed())
}

/// An optional member named `name`, now and then given twice (the second time under any of its
/// key variants, with another value: Go keeps the last).
fn field(name: &'static str, present: f64, value: BoxedStrategy<J>) -> BoxedStrategy<Vec<Member>> {
    let once = (key_variant(name), value.clone()).prop_map(|m| vec![m]);
    let twice = (key_variant(name), value.clone(), key_variant(name), value)
        .prop_map(|(k1, v1, k2, v2)| vec![(k1, v1), (k2, tag("dup-key", v2))]);
    let member = prop_oneof![60 => once, 1 => twice];
    if present >= 1.0 {
        return member.boxed();
    }
    prop::option::weighted(present, member)
        .prop_map(Option::unwrap_or_default)
        .boxed()
}

/// A value for a key no struct has: anything, including very deep nesting.
fn anything() -> BoxedStrategy<J> {
    let leaf = prop_oneof![
        4 => Just(J::Null),
        4 => any::<bool>().prop_map(J::Bool),
        4 => select(NUMBERS).prop_map(J::Num),
        1 => select(BAD_NUMBERS).prop_map(|n| tag("bad-number", J::Num(n))),
        4 => text(&["", "x", "Privileged", "/"]),
    ];
    let tree = leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(J::Arr),
            prop::collection::btree_map(
                select(vec!["a", "b", "Privileged", "HostConfig"]),
                inner,
                0..3
            )
            .prop_map(|m| J::Obj(
                m.into_iter()
                    .map(|(k, v)| (key(k.as_bytes(), None), v))
                    .collect()
            )),
        ]
    });
    prop_oneof![
        8 => tree,
        1 => select(vec![3usize, 40, 200, 240, 300, 1000, 5000]).prop_map(J::Deep),
    ]
    .boxed()
}

/// Zero to two keys no struct has.
fn unknown() -> BoxedStrategy<Vec<Member>> {
    let name = select(vec![
        "Foo",
        "X-Extra",
        "Privileged2",
        "HostConfigs",
        "Resources",
        "",
        "Privileged\\u0000",
        "Cpuset",
        "Spec",
        "Config",
    ]);
    let member = (name, anything()).prop_map(|(k, v)| (key(k.as_bytes(), Some("unknown-key")), v));
    prop_oneof![
        5 => Just(Vec::new()),
        1 => prop::collection::vec(member, 1..3),
    ]
    .boxed()
}

/// The members of a struct: its fields and unknown keys, in any order.
fn members(fields: Vec<BoxedStrategy<Vec<Member>>>) -> BoxedStrategy<Vec<Member>> {
    (fields, unknown())
        .prop_map(|(fields, unknown)| {
            fields
                .into_iter()
                .flatten()
                .chain(unknown)
                .collect::<Vec<_>>()
        })
        .prop_shuffle()
        .boxed()
}

const IMAGES: &[&str] = &[
    "busybox",
    "alpine:3.19",
    "registry:5000/team/app@sha256:0123abcd",
    "",
    "BUSYBOX",
];
const CMD: &[&str] = &["sh", "-c", "echo \"hi\" \\ there", "cat /etc/shadow"];
const ENV: &[&str] = &["A=1", "PATH=/bin", ""];
const MODES: &[&str] = &[
    "",
    "host",
    "private",
    "container:web",
    "bridge",
    "none",
    "default",
    "shareable",
    "HOST",
    " host",
    "Container:web",
    "my-net",
];
const CAPS: &[&str] = &[
    "NET_ADMIN",
    "CAP_SYS_ADMIN",
    "ALL",
    "chown",
    "sys_ptrace",
    "",
];
const BINDS: &[&str] = &[
    "/:/host",
    "/var/run/docker.sock:/var/run/docker.sock:ro",
    "data:/data",
    "/srv/app:/app:rw,z",
    "",
];
const CONTAINERS: &[&str] = &["web", "web:ro", ""];
const SECURITY_OPTS: &[&str] = &[
    "seccomp=unconfined",
    "apparmor=unconfined",
    "no-new-privileges",
    "label=disable",
    "systempaths=unconfined",
    "seccomp:{\"defaultAction\":\"SCMP_ACT_ALLOW\"}",
];
const PROC_PATHS: &[&str] = &[
    "/proc/kcore",
    "/proc/acpi",
    "/proc/sys",
    "/sys/firmware",
    "",
];
const CGROUP_RULES: &[&str] = &["c 1:3 mr", "a *:* rwm", "b 8:0 rw"];
const DRIVERS: &[&str] = &["local", "", "nfs", "LOCAL"];
const MOUNT_TYPES: &[&str] = &["bind", "volume", "tmpfs", "npipe", "", "BIND", "image"];
const PATHS: &[&str] = &[
    "/",
    "/etc",
    "data",
    "",
    "/var/run/docker.sock",
    "/host",
    "/mnt/x",
];
const OPTION_KEYS: &[&str] = &["type", "o", "device", "size", "Type"];
const OPTION_VALUES: &[&str] = &["none", "bind", "rbind", "/", "/etc", "tmpfs", "size=1m"];
const LABEL_KEYS: &[&str] = &["a", "com.example.x", "A", ""];
const DEVICES: &[&str] = &["/dev/fuse", "/dev/sda", ""];

fn device() -> BoxedStrategy<J> {
    members(vec![
        field("PathOnHost", 0.9, string(DEVICES)),
        field("PathInContainer", 0.7, string(DEVICES)),
        field("CgroupPermissions", 0.5, string(&["rwm", "r"])),
    ])
    .prop_map(J::Obj)
    .boxed()
}

fn device_request() -> BoxedStrategy<J> {
    let caps = J::Arr(vec![J::Arr(vec![s("gpu")])]);
    members(vec![
        field("Driver", 0.8, string(&["nvidia", ""])),
        field("Count", 0.6, number()),
        field(
            "Capabilities",
            0.5,
            typed(Kind::ObjList, Just(caps).boxed()),
        ),
    ])
    .prop_map(J::Obj)
    .boxed()
}

fn mount() -> BoxedStrategy<J> {
    let driver_config = members(vec![
        field("Name", 0.8, string(DRIVERS)),
        field("Options", 0.7, string_map(OPTION_KEYS, OPTION_VALUES)),
    ]);
    let volume_options = members(vec![
        field("NoCopy", 0.2, boolean()),
        field("Labels", 0.2, string_map(LABEL_KEYS, ENV)),
        field("DriverConfig", 0.8, nested(driver_config)),
    ]);
    let bind_options = members(vec![field(
        "Propagation",
        0.8,
        string(&["rprivate", "rshared", ""]),
    )]);
    members(vec![
        field("Type", 0.9, string(MOUNT_TYPES)),
        field("Source", 0.8, string(PATHS)),
        field("Target", 0.9, string(PATHS)),
        field("ReadOnly", 0.3, boolean()),
        field("BindOptions", 0.15, nested(bind_options)),
        field("VolumeOptions", 0.5, nested(volume_options)),
    ])
    .prop_map(J::Obj)
    .boxed()
}

/// The fields of `container.HostConfig` the rules judge, a few they do not, and `Capabilities`
/// and `Annotations`, which moby 20.10 does not have.
fn host_fields() -> BoxedStrategy<Vec<Member>> {
    let newer_field = |name, value: BoxedStrategy<J>| {
        field(
            name,
            0.04,
            value.prop_map(|j| tag("newer-field", j)).boxed(),
        )
    };
    members(vec![
        field("Privileged", 0.4, boolean()),
        field("CapAdd", 0.35, str_slice(CAPS)),
        field("CapDrop", 0.1, str_slice(CAPS)),
        field("NetworkMode", 0.35, string(MODES)),
        field("PidMode", 0.2, string(MODES)),
        field("IpcMode", 0.2, string(MODES)),
        field("UTSMode", 0.15, string(MODES)),
        field("UsernsMode", 0.15, string(MODES)),
        field("CgroupnsMode", 0.15, string(MODES)),
        field("Cgroup", 0.1, string(MODES)),
        field("Devices", 0.2, obj_list(device())),
        field("DeviceCgroupRules", 0.15, list(CGROUP_RULES)),
        field("DeviceRequests", 0.15, obj_list(device_request())),
        field("Binds", 0.35, list(BINDS)),
        field("Mounts", 0.35, obj_list(mount())),
        field("VolumesFrom", 0.15, list(CONTAINERS)),
        field("SecurityOpt", 0.25, list(SECURITY_OPTS)),
        field("MaskedPaths", 0.15, list(PROC_PATHS)),
        field("ReadonlyPaths", 0.15, list(PROC_PATHS)),
        field("VolumeDriver", 0.15, string(DRIVERS)),
        field("Memory", 0.1, number()),
        newer_field("Capabilities", list(CAPS)),
        newer_field("Annotations", string_map(LABEL_KEYS, ENV)),
    ])
}

/// The `container.Config` fields of a body (top level).
fn config_fields() -> BoxedStrategy<Vec<Member>> {
    members(vec![
        field("Image", 0.9, string(IMAGES)),
        field("Cmd", 0.5, str_slice(CMD)),
        field("Env", 0.2, list(ENV)),
        field("Labels", 0.15, string_map(LABEL_KEYS, ENV)),
        field("Tty", 0.2, boolean()),
    ])
}

/// The top-level value, and where it puts the host settings.
fn top() -> BoxedStrategy<(J, &'static str)> {
    let host_key = key_variant("HostConfig");
    let placed = prop_oneof![
        12 => (config_fields(), host_key.clone(), host_fields()).prop_map(|(mut c, k, h)| {
            c.push((k, J::Obj(h)));
            (c, "host-object")
        }),
        3 => (config_fields(), host_fields()).prop_map(|(mut c, h)| {
            c.extend(h);
            (c, "host-top-level")
        }),
        2 => (config_fields(), host_key.clone(), host_fields()).prop_map(|(mut c, k, h)| {
            c.extend(h);
            c.push((k, J::Null));
            (c, "hostconfig-null")
        }),
        1 => (config_fields(), host_key.clone(), host_fields(), field("Privileged", 1.0, boolean()))
            .prop_map(|(mut c, k, h, top)| {
                c.push((k, J::Obj(h)));
                c.extend(top);
                (c, "host-both")
            }),
        2 => config_fields().prop_map(|c| (c, "host-none")),
        1 => (config_fields(), host_key.clone(), host_fields(), host_key, host_fields()).prop_map(
            |(mut c, k, mut h, inner_key, inner)| {
                h.push((inner_key, J::Obj(inner)));
                c.push((k, J::Obj(h)));
                (c, "nested-hostconfig")
            }
        ),
    ];
    prop_oneof![
        60 => placed.prop_flat_map(|(members, t)| {
            Just(members).prop_shuffle().prop_map(move |m| (J::Obj(m), t))
        }),
        1 => select(vec![J::Null, J::Arr(vec![]), s("x"), J::Num("1")])
            .prop_map(|j| (j, "not-object")),
    ]
    .boxed()
}

fn body() -> BoxedStrategy<Body> {
    let leading = prop_oneof![8 => Just(&b""[..]), 1 => select(vec![&b" "[..], b"\n", b"\r\n\t "])];
    let gap = prop_oneof![6 => Just(&b""[..]), 1 => select(vec![&b" "[..], b"\n  ", b"\t"])];
    let trailing = prop_oneof![
        14 => Just((&b""[..], None)),
        2 => select(WHITESPACE).prop_map(|w| (w, Some("trailing-ws"))),
        2 => select(GARBAGE).prop_map(|g| (g, Some("trailing-garbage"))),
    ];
    (leading, gap, top(), trailing)
        .prop_map(|(leading, gap, (top, placement), (trail, trail_tag))| {
            let mut w = Writer {
                out: leading.to_vec(),
                features: BTreeSet::new(),
                gap,
            };
            if !leading.is_empty() {
                w.features.insert("leading-ws");
            }
            if !gap.is_empty() {
                w.features.insert("pretty");
            }
            w.features.insert(placement);
            w.value(&top, 0);
            w.out.extend_from_slice(trail);
            w.features.extend(trail_tag);
            Body {
                bytes: w.out,
                features: w.features,
            }
        })
        .boxed()
}

// ---------------------------------------------------------------------------------------------
// The engine's decoder.

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// moby's answer for each body, in order: `Ok(view)` or `Err(message)`.
fn moby_decode(bin: &Path, bodies: &[Body]) -> Vec<Result<Value, String>> {
    let mut child = Command::new(bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let mut stdin = child.stdin.take().expect("stdin");
    let input: String = bodies.iter().map(|b| base64(&b.bytes) + "\n").collect();
    let feeder = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let stdout = child.stdout.take().expect("stdout");
    let mut results = Vec::with_capacity(bodies.len());
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("reading mobydecode's output");
        let mut v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("mobydecode printed {line:?}: {e}"));
        results.push(if v["ok"] == Value::Bool(true) {
            let mut view = v["view"].take();
            let caps = view.as_object_mut().and_then(|o| o.remove("capabilities"));
            assert_eq!(
                caps,
                Some(Value::Null),
                "moby 20.10 has no HostConfig.Capabilities"
            );
            Ok(view)
        } else {
            Err(v["error"].as_str().unwrap_or_default().to_string())
        });
    }
    feeder
        .join()
        .expect("feeder thread")
        .expect("writing to mobydecode");
    let status = child.wait().expect("waiting for mobydecode");
    assert!(status.success(), "mobydecode exited with {status}");
    assert_eq!(
        results.len(),
        bodies.len(),
        "mobydecode answered fewer lines"
    );
    results
}

// ---------------------------------------------------------------------------------------------

#[derive(Default, Clone, Copy)]
struct Tally {
    total: usize,
    equal: usize,
    inspector_denied: usize,
    engine_refused: usize,
}

enum Outcome {
    Equal,
    InspectorDenied,
    EngineRefused,
    Mismatch(String),
}

fn compare(body: &Body, moby: &Result<Value, String>) -> Outcome {
    let ours = std::panic::catch_unwind(|| CreateView::decode(&body.bytes));
    let describe = |what: &str, moby: &dyn std::fmt::Debug, ours: &dyn std::fmt::Debug| {
        format!(
            "{what}\n  body: b\"{}\"\n  features: {:?}\n  moby: {moby:?}\n  inspector: {ours:?}",
            body.bytes.escape_ascii(),
            body.features
        )
    };
    let Ok(ours) = ours else {
        return Outcome::Mismatch(describe("the inspector panicked", moby, &"panic"));
    };
    match (moby, ours) {
        (Err(_), _) => Outcome::EngineRefused,
        (Ok(_), Err(_)) => Outcome::InspectorDenied,
        (Ok(theirs), Ok(view)) => {
            let mine = serde_json::to_value(&view).expect("CreateView serialises");
            if mine == *theirs {
                Outcome::Equal
            } else {
                Outcome::Mismatch(describe(
                    "the engine and the inspector see different bodies",
                    &theirs.to_string(),
                    &mine.to_string(),
                ))
            }
        }
    }
}

#[test]
fn inspector_refuses_or_sees_what_moby_decodes() {
    let started = std::time::Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = common::go::build("moby_decode", dir.path());

    let strategy = body();
    let mut runner = TestRunner::deterministic();
    let bodies: Vec<Body> = (0..BODIES)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("generating a body")
                .current()
        })
        .collect();
    let answers = moby_decode(&bin, &bodies);

    let mut all = Tally::default();
    let mut by_feature: std::collections::BTreeMap<&str, Tally> = Default::default();
    let mut mismatches = Vec::new();
    for (body, moby) in bodies.iter().zip(&answers) {
        let outcome = compare(body, moby);
        let count = |t: &mut Tally| {
            t.total += 1;
            match &outcome {
                Outcome::Equal => t.equal += 1,
                Outcome::InspectorDenied => t.inspector_denied += 1,
                Outcome::EngineRefused => t.engine_refused += 1,
                Outcome::Mismatch(_) => {}
            }
        };
        count(&mut all);
        for f in &body.features {
            count(by_feature.entry(f).or_default());
        }
        if let Outcome::Mismatch(m) = outcome {
            mismatches.push(m);
        }
    }

    println!(
        "{} bodies: {} accepted by both with equal views, {} denied by the inspector (moby \
         decodes them), {} refused by moby, {} mismatches ({:.1?})",
        all.total,
        all.equal,
        all.inspector_denied,
        all.engine_refused,
        mismatches.len(),
        started.elapsed()
    );
    println!(
        "{:<20} {:>6} {:>6} {:>8} {:>8}",
        "feature", "total", "equal", "denied", "refused"
    );
    for (f, t) in &by_feature {
        println!(
            "{f:<20} {:>6} {:>6} {:>8} {:>8}",
            t.total, t.equal, t.inspector_denied, t.engine_refused
        );
    }

    assert!(
        mismatches.is_empty(),
        "{} bodies that moby decodes are seen differently by the inspector; the first ones:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(all.total >= 3000);
    assert!(
        all.equal * 100 >= all.total * 30,
        "only {} of {} bodies were read alike: the comparison is nearly vacuous",
        all.equal,
        all.total
    );
    for f in FEATURES {
        assert!(by_feature.contains_key(f), "no body has the feature {f}");
    }
    for f in by_feature.keys() {
        assert!(
            FEATURES.contains(f),
            "feature {f} is not listed in FEATURES"
        );
    }
    for f in MUST_BE_READ {
        assert!(
            by_feature[f].equal > 0,
            "no body with {f} was accepted by both with equal views"
        );
    }
    for f in MUST_BE_REFUSED {
        assert!(
            by_feature[f].inspector_denied > 0,
            "no body with {f} was decoded by moby and refused by the inspector"
        );
    }
}
