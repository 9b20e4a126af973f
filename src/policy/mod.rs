//! Who may do what: the `[[allow]]` rules and `[profiles.NAME]` compiled once, and a pure
//! decision per request (and per inspected body).
//!
//! The first `[[allow]]` entry whose every match key fits the client decides its access: `full`
//! allows everything; `read-only` allows only the engine routes listed in [`read_only`], judged
//! by the route the engine would dispatch the request to ([`routes::dispatch`], a copy of moby's
//! route table), and never a request that asks to switch protocols; a profile ([`profile`])
//! allows what its `allow` entries match ([`pattern`]), refuses hijacks unless `hijack = true`,
//! and holds the bodies of container create and update, exec create and volume create to its
//! `containers` rules ([`body`]). Anything not recognised as allowed is denied, including every
//! path the engine would answer 404. A profile in `mode = "report"` lets what it would deny
//! through, and the audit line says `would_deny`.

pub mod body;
pub mod image;
pub mod path;
pub mod pattern;
pub mod profile;
pub mod query;
pub mod read_only;
pub mod routes;
pub mod target;

use std::sync::Arc;

use http::Method;

use crate::config::{Access, AllowRule, Matcher, Mode, Profile};
use crate::tls::ClientIdentity;
pub use body::BodyKind;
use routes::Route;

/// The parts of a request that policy looks at.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    pub method: &'a Method,
    /// Canonical, percent-decoded path (see [`path::canonical`]), version prefix included.
    pub path: &'a str,
    /// The query as sent (still percent-encoded), if any.
    pub query: Option<&'a str>,
    /// The request asks to switch protocols (`Upgrade:` present).
    pub upgrade: bool,
    /// The request carries a body (a non-zero `Content-Length`, or chunked).
    pub has_body: bool,
}

impl<'a> RequestView<'a> {
    /// A request without query or body.
    pub fn simple(method: &'a Method, path: &'a str, upgrade: bool) -> Self {
        RequestView {
            method,
            path,
            query: None,
            upgrade,
            has_body: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow(Access),
    /// The client matched no `[[allow]]` entry.
    UnknownClient,
    /// The client's access level does not cover this request.
    Forbidden(Access),
}

impl Decision {
    pub fn access(&self) -> Option<&Access> {
        match self {
            Decision::Allow(a) | Decision::Forbidden(a) => Some(a),
            Decision::UnknownClient => None,
        }
    }
}

/// Why a request is (or, in report mode, would be) refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The configuration key that decided (`profiles.ci.containers.privileged`,
    /// `profiles.ci.allow`), or `read-only`.
    pub rule: String,
    /// The body field that decided (`HostConfig.Privileged`), if a body rule did.
    pub field: Option<String>,
    /// What was refused, in the request's terms, for the client.
    pub message: String,
    /// The body could not be read safely (not one JSON object, wrong types): a 400, not a 403.
    pub unreadable: bool,
}

impl Denial {
    fn rule(rule: String, message: String) -> Denial {
        Denial {
            rule,
            field: None,
            message,
            unreadable: false,
        }
    }
}

/// Everything policy says about one request head.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// `Allow` also when a report-mode profile would deny (see `report`).
    pub decision: Decision,
    /// Why the request is refused, or would be.
    pub denial: Option<Denial>,
    /// The denial is only reported (`mode = "report"`): the request goes through.
    pub report: bool,
    /// The body must be received whole and passed to [`Policy::judge_body`] before forwarding.
    pub inspect: Option<BodyKind>,
    /// The engine route the request reaches, if any.
    pub route: Option<&'static Route>,
    /// The profile entry that allowed the request.
    pub entry: Option<String>,
    /// The name of the `[[allow]]` entry that matched the client.
    pub identity: Option<Arc<str>>,
    /// The container or exec the request acts on, whose own settings the engine must describe
    /// and [`Policy::target_step`] judge before the request goes on.
    pub target: Option<target::Target>,
}

impl Verdict {
    /// The engine route in pattern syntax, `METHOD /pattern`, for the audit `route` field.
    pub fn route_text(&self) -> String {
        self.route.map(Route::text).unwrap_or_default()
    }
}

/// The result of [`Policy::body_outcome`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyOutcome {
    /// It passes; the named volumes it mounts are judged next (their own options).
    Pass(Vec<target::Target>),
    /// A report-mode profile would refuse it: forwarded, audited as `would_deny`.
    WouldDeny(Denial),
    Deny(Denial),
}

/// The result of [`Policy::target_step`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetStep {
    Pass,
    /// Judge these next (an exec's container, a container's volumes).
    Next(Vec<target::Target>),
    /// A report-mode profile would refuse it: forwarded, audited as `would_deny`.
    WouldDeny(Denial),
    Deny(Denial),
}

/// The compiled `[[allow]]` list and profiles.
#[derive(Debug, Clone)]
pub struct Policy {
    rules: Vec<AllowRule>,
    profiles: Vec<Arc<Profile>>,
}

impl Policy {
    /// The rules alone (no profiles).
    pub fn compile(rules: &[AllowRule]) -> Policy {
        Policy::new(rules, &[])
    }

    pub fn new(rules: &[AllowRule], profiles: &[Profile]) -> Policy {
        Policy {
            rules: rules.to_vec(),
            profiles: profiles.iter().cloned().map(Arc::new).collect(),
        }
    }

    /// The access level of the first entry matching `id`.
    pub fn access_for(&self, id: &ClientIdentity) -> Option<Access> {
        self.entry_for(id).map(|r| r.access.clone())
    }

    /// The first `[[allow]]` entry matching `id`.
    pub fn entry_for(&self, id: &ClientIdentity) -> Option<&AllowRule> {
        self.rules.iter().find(|r| matches(&r.matcher, id))
    }

    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.as_ref())
    }

    /// The profile `access` names: `None` for `full` and `read-only`, a denial when the
    /// configuration has no such profile.
    fn profile_for(&self, access: &Access) -> Option<Result<&Profile, Denial>> {
        let Access::Profile(name) = access else {
            return None;
        };
        Some(self.profile(name).ok_or_else(unconfigured))
    }

    pub fn profiles(&self) -> impl Iterator<Item = &Profile> {
        self.profiles.iter().map(|p| p.as_ref())
    }

    pub fn decide(&self, id: &ClientIdentity, req: &RequestView<'_>) -> Decision {
        self.judge(id, req).decision
    }

    /// The whole verdict on a request head for `id`.
    pub fn judge(&self, id: &ClientIdentity, req: &RequestView<'_>) -> Verdict {
        let route = routes::dispatch(req.method, req.path);
        let mut v = Verdict {
            decision: Decision::UnknownClient,
            denial: None,
            report: false,
            inspect: None,
            route,
            entry: None,
            identity: None,
            target: None,
        };
        let Some(rule) = self.entry_for(id) else {
            return v;
        };
        v.identity = Some(rule.name.clone());
        let access = rule.access.clone();
        match &access {
            Access::Full => {}
            Access::ReadOnly => {
                if !read_only::allows(req) {
                    v.denial = Some(Denial::rule(
                        "read-only".into(),
                        format!("{} {} is not allowed for this client", req.method, req.path),
                    ));
                }
            }
            Access::Profile(name) => match self.profile(name) {
                Some(p) => {
                    let (denial, entry) = profile::judge(p, req, route);
                    v.entry = entry;
                    v.inspect = route.and_then(|r| BodyKind::for_route(r.name));
                    v.target =
                        route.and_then(|r| target::target_of(r, routes::unversioned(req.path)));
                    v.report = denial.is_some() && p.mode == Mode::Report;
                    v.denial = denial;
                }
                None => v.denial = Some(unconfigured()),
            },
        }
        v.decision = match &v.denial {
            Some(_) if !v.report => Decision::Forbidden(access),
            _ => Decision::Allow(access),
        };
        if matches!(v.decision, Decision::Forbidden(_)) {
            v.inspect = None;
            v.target = None;
        }
        v
    }

    /// Judges a fully received body for a request whose verdict asked for inspection. `None`:
    /// it passes (or the access level inspects nothing), with the named volumes a create body
    /// mounts, to be judged as [`target::Target::Volume`]s.
    pub fn judge_body(
        &self,
        access: &Access,
        kind: BodyKind,
        body: &[u8],
    ) -> Result<Vec<target::Target>, Denial> {
        let Some(p) = self.profile_for(access) else {
            return Ok(Vec::new());
        };
        let mounted = profile::judge_body(p?, kind, body)?;
        let volumes = (mounted.volumes.into_iter()).map(target::Target::volume);
        // An entry without a name is the engine's to refuse ("invalid name or ID").
        let from = (mounted.volumes_from.into_iter())
            .filter(|spec| !target::volumes_from_name(spec).is_empty());
        Ok(volumes
            .chain(from.map(target::Target::VolumesFrom))
            .collect())
    }

    /// What becomes of a request whose fully received body was inspected: the proxy and
    /// `dockgate explain` both decide with this.
    pub fn body_outcome(&self, access: &Access, kind: BodyKind, body: &[u8]) -> BodyOutcome {
        match self.judge_body(access, kind, body) {
            Ok(volumes) => BodyOutcome::Pass(volumes),
            // An unreadable body is refused even in report mode: nobody can say what it asks.
            Err(d) if d.unreadable || !self.reports(access) => BodyOutcome::Deny(d),
            Err(d) => BodyOutcome::WouldDeny(d),
        }
    }

    /// What becomes of a request whose target the engine described (`status`, `body`: its answer
    /// to [`target::Target::inspect_path`]): the proxy and `dockgate explain` both decide with
    /// this. A target the engine does not know (404) passes: the engine answers the request
    /// itself with a 404.
    pub fn target_step(
        &self,
        access: &Access,
        t: &target::Target,
        status: u16,
        body: &[u8],
    ) -> TargetStep {
        let p = match self.profile_for(access) {
            None => return TargetStep::Pass,
            Some(Err(d)) => return TargetStep::Deny(d),
            Some(Ok(p)) => p,
        };
        let judged = match t {
            // A container a create body takes volumes from must exist now: one that appeared
            // after the check could be anything.
            target::Target::VolumesFrom(spec) if status == 404 => {
                return TargetStep::Deny(Denial {
                    rule: format!("profiles.{}.containers.volumes_from", p.name),
                    field: Some("HostConfig.VolumesFrom".into()),
                    message: format!(
                        "the container \"{}\" named in VolumesFrom does not exist",
                        target::volumes_from_name(spec)
                    ),
                    unreadable: false,
                })
            }
            _ if status == 404 => return TargetStep::Pass,
            target::Target::Container(n) if status == 200 => target::judge_container(p, n, body),
            target::Target::Exec(id) if status == 200 => target::judge_exec(p, id, body),
            target::Target::Volume(n) if status == 200 => target::judge_volume(p, n, body, false),
            target::Target::ReadOnlyVolume(n) if status == 200 => {
                target::judge_volume(p, n, body, true)
            }
            target::Target::VolumesFrom(spec) if status == 200 => {
                target::judge_volumes_from(p, spec, body)
            }
            target::Target::Container(n)
            | target::Target::Exec(n)
            | target::Target::Volume(n)
            | target::Target::ReadOnlyVolume(n)
            | target::Target::VolumesFrom(n) => {
                return TargetStep::Deny(Denial::rule(
                    format!("profiles.{}.containers", p.name),
                    format!("the engine did not describe \"{n}\" (status {status}), so its settings cannot be checked"),
                ))
            }
        };
        match judged {
            target::Judged::Pass => TargetStep::Pass,
            target::Judged::Next(more) => TargetStep::Next(more),
            target::Judged::Refused(d) if p.mode == Mode::Report => TargetStep::WouldDeny(d),
            target::Judged::Refused(d) => TargetStep::Deny(d),
        }
    }

    /// Whether a body denial of `access` is only reported.
    pub fn reports(&self, access: &Access) -> bool {
        match access {
            Access::Profile(name) => self.profile(name).is_some_and(|p| p.mode == Mode::Report),
            _ => false,
        }
    }

    /// What an admin should know about the profiles: endpoints allowed with more power than the
    /// body rules can see, and reads the read-only table leaves out on purpose.
    pub fn warnings(&self) -> Vec<String> {
        self.profiles
            .iter()
            .flat_map(|p| profile::warnings(p))
            .collect()
    }
}

/// The refusal of a client whose `access` names a profile the configuration lacks.
fn unconfigured() -> Denial {
    Denial::rule(
        "allow".into(),
        "this client's profile is not configured".into(),
    )
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
