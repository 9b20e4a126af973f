//! Who may do what: the `[[allow]]` rules compiled once, and a pure decision per request.
//!
//! The first `[[allow]]` entry whose every match key fits the client decides its access level.
//! `full` allows everything. `read-only` allows only the engine routes listed in [`read_only`]
//! (ping, version, info, events, disk usage, and list/inspect/logs-style reads of containers,
//! images, networks, volumes and swarm nodes, services and tasks), judged by the route the engine
//! would dispatch the request to ([`routes::dispatch`], a copy of moby's route table), and never a
//! request that asks to switch protocols. Anything the policy does not recognise as allowed is
//! denied, including every path the engine would answer 404.

pub mod path;
pub mod read_only;
pub mod routes;

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
            Some(Access::ReadOnly) if read_only::allows(req) => Decision::Allow(Access::ReadOnly),
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

#[cfg(test)]
mod tests;
