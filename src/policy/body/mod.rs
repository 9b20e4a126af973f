//! Request bodies that grant power, read the way the engine reads them and held to a profile's
//! `containers` rules: container create ([`container`]), container update, exec create
//! ([`exec`]) and volume create ([`volume`]).
//!
//! The proxy hands over the whole body (bounded by `limits.max_inspected_body`) and forwards
//! exactly those bytes when it passes. A body that is not one JSON object, that has two keys
//! naming the same field, or whose fields have types the engine would not decode, is refused
//! ([`BodyError`]); one that decodes but asks for more than the profile allows is refused with
//! the rule that decided ([`Violation`]).

pub mod container;
pub mod exec;
pub mod json;
pub mod mounts;
pub mod volume;

use std::collections::BTreeMap;

use json::{JsonError, Object, Value};

use crate::config::{ContainerRules, ImagePattern};

/// The endpoints whose bodies are inspected, by the engine route they reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    ContainerCreate,
    ContainerUpdate,
    ExecCreate,
    VolumeCreate,
}

impl BodyKind {
    /// The kind for an engine route name (see `routes::ROUTES`).
    pub fn for_route(name: &str) -> Option<BodyKind> {
        match name {
            "ContainerCreate" => Some(BodyKind::ContainerCreate),
            "ContainerUpdate" => Some(BodyKind::ContainerUpdate),
            "ContainerExec" => Some(BodyKind::ExecCreate),
            "VolumeCreate" => Some(BodyKind::VolumeCreate),
            _ => None,
        }
    }
}

/// Why a body cannot be read safely: refused whatever the profile says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error(transparent)]
    Json(#[from] JsonError),
    #[error("the body is {0}, not a JSON object")]
    NotObject(&'static str),
    #[error("`{field}` is {found}, where the engine expects {expected}")]
    Type {
        field: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("the body sets host settings both in `HostConfig` and at its top level (`{0}`)")]
    AmbiguousHostConfig(String),
    #[error("the body sets `{0}` at its top level, which engine versions read differently")]
    VersionDependentHostField(String),
}

/// A body field that asks for more than the profile allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The key of `[profiles.NAME.containers]` (or `images`) that refused it.
    pub rule: &'static str,
    /// Where in the body, as the engine names it (`HostConfig.Privileged`).
    pub field: String,
    /// What was refused, in the request's terms, for the client.
    pub message: String,
}

impl Violation {
    pub fn new(rule: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Violation {
            rule,
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The outcome of inspecting a body that could not be passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Unreadable(BodyError),
    Violation(Violation),
}

impl From<BodyError> for Refusal {
    fn from(e: BodyError) -> Self {
        Refusal::Unreadable(e)
    }
}

impl From<JsonError> for Refusal {
    fn from(e: JsonError) -> Self {
        Refusal::Unreadable(BodyError::Json(e))
    }
}

impl From<Violation> for Refusal {
    fn from(v: Violation) -> Self {
        Refusal::Violation(v)
    }
}

/// What a passing create body mounts that only the engine can describe (`policy::target`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Mounted {
    /// Named volumes (`Binds` `name:/dst`, `Mounts` of type `volume`), each with whether it is
    /// only mounted read-only: existing ones keep the driver options they were created with.
    pub volumes: Vec<(String, bool)>,
    /// `VolumesFrom` entries as written (`container[:mode]`): the new container gets every
    /// mount of those containers.
    pub volumes_from: Vec<String>,
}

/// Checks `body` for `kind` against a profile's rules. A create body that passes returns what
/// it mounts whose own settings only the engine can tell.
pub fn inspect(
    kind: BodyKind,
    rules: &ContainerRules,
    images: Option<&[ImagePattern]>,
    body: &[u8],
) -> Result<Mounted, Refusal> {
    match kind {
        BodyKind::ContainerCreate => {
            let view = container::CreateView::decode(body)?;
            container::check_create(&view, rules, images)?;
            return Ok(Mounted {
                volumes: view.named_volumes(),
                volumes_from: view.volumes_from.clone().unwrap_or_default(),
            });
        }
        BodyKind::ContainerUpdate => container::check_update(body, rules)?,
        BodyKind::ExecCreate => exec::check(body, rules)?,
        BodyKind::VolumeCreate => volume::check(body, rules)?,
    }
    Ok(Mounted::default())
}

/// The body parsed as one JSON object.
pub fn object(body: &[u8]) -> Result<Object, BodyError> {
    match json::parse(body)? {
        Value::Object(o) => Ok(o),
        other => Err(BodyError::NotObject(other.kind())),
    }
}

/// Typed field readers that mirror Go's decoding: `null` or absence is the zero value, and a
/// value of the wrong JSON type is an error (the engine refuses such a body too).
pub struct Fields<'a> {
    pub obj: &'a Object,
    /// The object's place in the body, for messages (`HostConfig`), or empty at the top.
    pub at: &'a str,
}

impl<'a> Fields<'a> {
    pub fn new(obj: &'a Object, at: &'a str) -> Self {
        Fields { obj, at }
    }

    pub fn path(&self, name: &str) -> String {
        if self.at.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.at)
        }
    }

    fn type_error(&self, name: &str, expected: &'static str, v: &Value) -> BodyError {
        BodyError::Type {
            field: self.path(name),
            expected,
            found: v.kind(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&'a Value> {
        match self.obj.get(name) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    pub fn bool(&self, name: &str) -> Result<bool, BodyError> {
        match self.get(name) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(self.type_error(name, "a boolean", v)),
        }
    }

    pub fn string(&self, name: &str) -> Result<String, BodyError> {
        match self.get(name) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v) => Err(self.type_error(name, "a string", v)),
        }
    }

    /// A Go `[]string`: `None` when absent or null; `null` elements are `""`.
    pub fn strings(&self, name: &str) -> Result<Option<Vec<String>>, BodyError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::Null => Ok(String::new()),
                    Value::String(s) => Ok(s.clone()),
                    v => Err(self.type_error(name, "an array of strings", v)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => Err(self.type_error(name, "an array of strings", v)),
        }
    }

    /// moby's `strslice.StrSlice`: an array of strings or a single string; `null` is nil, as for
    /// a `[]string` (its `UnmarshalJSON` unmarshals `null` into a slice, which leaves it nil).
    pub fn str_slice(&self, name: &str) -> Result<Option<Vec<String>>, BodyError> {
        match self.get(name) {
            Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
            _ => self.strings(name),
        }
    }

    /// The length of a Go slice of any element type (`0` when absent or null).
    pub fn len(&self, name: &str) -> Result<usize, BodyError> {
        match self.get(name) {
            None => Ok(0),
            Some(Value::Array(items)) => Ok(items.len()),
            Some(v) => Err(self.type_error(name, "an array", v)),
        }
    }

    pub fn object(&self, name: &str) -> Result<Option<&'a Object>, BodyError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o)),
            Some(v) => Err(self.type_error(name, "an object", v)),
        }
    }

    /// A Go `map[string]string` (keys exact): `None` when absent or null.
    pub fn string_map(&self, name: &str) -> Result<Option<BTreeMap<String, String>>, BodyError> {
        let Some(o) = self.object(name)? else {
            return Ok(None);
        };
        o.members
            .iter()
            .map(|(k, v)| match v {
                Value::Null => Ok((k.clone(), String::new())),
                Value::String(s) => Ok((k.clone(), s.clone())),
                v => Err(self.type_error(&format!("{name}.{k}"), "a string", v)),
            })
            .collect::<Result<BTreeMap<_, _>, _>>()
            .map(Some)
    }
}

#[cfg(test)]
mod tests;
