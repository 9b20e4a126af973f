//! Who may do what: the `[[allow]]` rules compiled once, and a pure decision per request.
//!
//! The first `[[allow]]` entry whose every match key fits the client decides its access level.
//! `read-only` allows GET and HEAD, except the endpoints that copy filesystems or images out of
//! the host (`/containers/{id}/export`, `/containers/{id}/archive`, `/images/get`,
//! `/images/{name}/get`) and except any upgrade (attach, exec, BuildKit sessions). Anything the
//! policy does not recognise as allowed is denied.

pub mod path;

use http::Method;

use crate::config::{Access, AllowRule, Matcher};
use crate::tls::ClientIdentity;

/// The parts of a request that policy looks at.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    pub method: &'a Method,
    /// Canonical, percent-decoded path (see [`path::canonical`]), version prefix included.
    pub path: &'a str,
    /// The request asks to switch protocols (`Upgrade:` present).
    pub upgrade: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow(Access),
    /// The client matched no `[[allow]]` entry.
    UnknownClient,
    /// The client's access level does not cover this request.
    Forbidden(Access),
}

impl Decision {
    pub fn access(self) -> Option<Access> {
        match self {
            Decision::Allow(a) | Decision::Forbidden(a) => Some(a),
            Decision::UnknownClient => None,
        }
    }
}

/// The compiled `[[allow]]` list.
#[derive(Debug, Clone)]
pub struct Policy {
    rules: Vec<AllowRule>,
}

impl Policy {
    pub fn compile(rules: &[AllowRule]) -> Policy {
        Policy {
            rules: rules.to_vec(),
        }
    }

    /// The access level of the first entry matching `id`.
    pub fn access_for(&self, id: &ClientIdentity) -> Option<Access> {
        self.rules
            .iter()
            .find(|r| matches(&r.matcher, id))
            .map(|r| r.access)
    }

    pub fn decide(&self, id: &ClientIdentity, req: &RequestView<'_>) -> Decision {
        match self.access_for(id) {
            None => Decision::UnknownClient,
            Some(Access::Full) => Decision::Allow(Access::Full),
            Some(Access::ReadOnly) if read_only_allows(req) => Decision::Allow(Access::ReadOnly),
            Some(Access::ReadOnly) => Decision::Forbidden(Access::ReadOnly),
        }
    }
}

fn matches(m: &Matcher, id: &ClientIdentity) -> bool {
    let cn_ok = match m.cn.as_deref() {
        None | Some("*") => true,
        Some(cn) => id.cn.as_deref() == Some(cn),
    };
    let any = |want: &Option<String>, have: &[String]| match want {
        None => true,
        Some(w) => have.iter().any(|h| h == w),
    };
    cn_ok
        && any(&m.ou, &id.ous)
        && any(&m.dns, &id.dns)
        && any(&m.uri, &id.uris)
        && any(&m.email, &id.emails)
        && m.fingerprint.as_ref().is_none_or(|f| *f == id.fingerprint)
}

fn read_only_allows(req: &RequestView<'_>) -> bool {
    if req.upgrade || !(req.method == Method::GET || req.method == Method::HEAD) {
        return false;
    }
    !copies_data_out(path::strip_version(req.path))
}

/// Endpoints that hand out a container's filesystem or an image's layers.
fn copies_data_out(route: &str) -> bool {
    // Container names in moby's routes are `{name:.*}`, so match on the last segment only.
    if let Some(rest) = route.strip_prefix("/containers/") {
        return rest.ends_with("/export") || rest.ends_with("/archive");
    }
    if let Some(rest) = route.strip_prefix("/images/") {
        return rest == "get" || rest.ends_with("/get");
    }
    false
}

#[cfg(test)]
mod tests;
