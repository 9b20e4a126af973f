//! `dockgate explain`: what `serve` would decide for one identity and one request, decided by
//! the same policy code, and `explain --suggest`: a profile that allows what a client did, read
//! from the audit trail's `route` field.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use http::Method;

use crate::config::{Access, Config, Mode};
use crate::policy::target::Target;
use crate::policy::{
    path, profile, routes, BodyKind, BodyOutcome, Decision, Policy, RequestView, TargetStep,
};
use crate::proxy::whoami;
use crate::tls::ClientIdentity;

/// Asks the engine for a path (a container's, exec's or volume's description): its status and
/// body, or why it could not be asked.
pub type Ask<'a> = dyn FnMut(&str) -> Result<(u16, Vec<u8>), String> + 'a;

/// One request to explain.
#[derive(Debug, Clone)]
pub struct Question {
    pub method: Method,
    /// The request target as a client sends it: path, and query after `?`.
    pub target: String,
    pub upgrade: bool,
    /// The body, if the request carries one.
    pub body: Option<Vec<u8>>,
}

/// How `serve` would answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Allow,
    /// Forwarded by a report-mode profile, audited `would_deny`.
    WouldDeny,
    Deny,
    /// Refused before policy: the request itself is malformed.
    Invalid,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::WouldDeny => "would_deny",
            Outcome::Deny => "deny",
            Outcome::Invalid => "invalid",
        }
    }
}

/// The explanation, field by field.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub outcome: Outcome,
    /// The HTTP status `serve` answers when it refuses (`None`: the engine answers).
    pub status: Option<u16>,
    pub access: Option<Access>,
    pub route: String,
    /// The profile entry that allowed the head of the request.
    pub entry: Option<String>,
    pub rule: Option<String>,
    pub field: Option<String>,
    pub message: Option<String>,
    /// The body was inspected (and how large it was).
    pub inspected: Option<usize>,
    /// The containers and execs whose own settings were checked, as the engine described them.
    pub targets: Vec<String>,
}

impl Explanation {
    fn new(outcome: Outcome, status: Option<u16>) -> Explanation {
        Explanation {
            outcome,
            status,
            access: None,
            route: String::new(),
            entry: None,
            rule: None,
            field: None,
            message: None,
            inspected: None,
            targets: Vec::new(),
        }
    }

    /// The report, one `key: value` line each.
    pub fn render(&self, id: &ClientIdentity, policy: &Policy) -> String {
        let mut out = String::new();
        let who = match &id.cn {
            Some(cn) => format!("CN={cn}"),
            None => "(no common name)".into(),
        };
        let _ = writeln!(out, "client:   {who}");
        let access = match &self.access {
            None => "none (no [[allow]] entry matches this client)".to_string(),
            Some(Access::Profile(name)) => {
                let mode = match policy.profile(name).map(|p| p.mode) {
                    Some(Mode::Report) => "report",
                    _ => "enforce",
                };
                format!("profile \"{name}\" (mode = \"{mode}\")")
            }
            Some(a) => a.as_str().to_string(),
        };
        let _ = writeln!(out, "access:   {access}");
        let route = if self.route.is_empty() {
            "none (the engine has no such route)"
        } else {
            &self.route
        };
        let _ = writeln!(out, "route:    {route}");
        if let Some(e) = &self.entry {
            let _ = writeln!(out, "entry:    \"{e}\"");
        }
        for t in &self.targets {
            let _ = writeln!(out, "target:   {t}");
        }
        if let Some(n) = self.inspected {
            let _ = writeln!(out, "body:     inspected ({n} bytes)");
        }
        let _ = writeln!(out, "decision: {}", self.outcome.as_str());
        if let Some(r) = &self.rule {
            let _ = writeln!(out, "rule:     {r}");
        }
        if let Some(f) = &self.field {
            let _ = writeln!(out, "field:    {f}");
        }
        if let Some(m) = &self.message {
            let _ = writeln!(out, "message:  {m}");
        }
        if let Some(s) = self.status {
            let _ = writeln!(out, "status:   {s}");
        }
        out
    }
}

/// The explanation for a certificate the TLS handshake refuses (`why`): no request is read.
pub fn refused_at_handshake(policy: &Policy, id: &ClientIdentity, why: &str) -> Explanation {
    let mut x = Explanation::new(Outcome::Deny, None);
    x.access = policy.access_for(id);
    x.message = Some(format!("the TLS handshake refuses this certificate: {why}"));
    x
}

/// Decides `q` for `id` the way the proxy does (`proxy::Proxy::handle`). `ask` gets an engine
/// path (a container's or exec's description) and returns the engine's status and body.
pub fn explain(
    config: &Config,
    policy: &Policy,
    id: &ClientIdentity,
    q: &Question,
    ask: &mut Ask<'_>,
) -> Explanation {
    let (raw_path, query) = match q.target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (q.target.as_str(), None),
    };
    let decoded = match path::canonical(raw_path) {
        Ok(p) => p,
        Err(e) => {
            let mut x = Explanation::new(Outcome::Invalid, Some(400));
            x.access = policy.access_for(id);
            x.message = Some(e.to_string());
            return x;
        }
    };
    let has_body = q.body.as_ref().is_some_and(|b| !b.is_empty());
    let view = RequestView {
        method: &q.method,
        path: &decoded,
        query,
        upgrade: q.upgrade,
        has_body,
    };
    if decoded == whoami::PATH && q.method == Method::GET {
        let mut x = Explanation::new(Outcome::Allow, None);
        x.access = policy.access_for(id);
        x.message = Some("every verified client may ask who it is".into());
        return x;
    }
    let verdict = policy.judge(id, &view);
    let mut x = Explanation::new(Outcome::Allow, None);
    x.access = verdict.decision.access().cloned();
    x.route = verdict.route_text();
    x.entry = verdict.entry.clone();
    match (&verdict.decision, &verdict.denial) {
        (Decision::UnknownClient, _) => {
            x.outcome = Outcome::Deny;
            x.status = Some(403);
            x.message = Some("no [[allow]] entry matches this client".into());
            return x;
        }
        (Decision::Forbidden(_), d) => {
            x.outcome = Outcome::Deny;
            x.status = Some(403);
            if let Some(d) = d {
                note(&mut x, d);
            }
            return x;
        }
        (Decision::Allow(_), Some(d)) => {
            x.outcome = Outcome::WouldDeny;
            note(&mut x, d);
        }
        (Decision::Allow(_), None) => {}
    }
    let mut targets: Vec<Target> = verdict.target.clone().into_iter().collect();
    let Some(access) = x.access.clone() else {
        return x;
    };
    if let Some(kind) = verdict.inspect {
        match inspect_body(&mut x, config, policy, &access, kind, q) {
            Some(volumes) => targets.extend(volumes),
            None => return x,
        }
    }
    let named = verdict.target.is_some();
    check_targets(&mut x, policy, &access, targets, named, ask);
    x
}

/// The body stage of [`explain`]: `None` when it ends the request, else the named volumes a
/// passing body mounts.
fn inspect_body(
    x: &mut Explanation,
    config: &Config,
    policy: &Policy,
    access: &Access,
    kind: BodyKind,
    q: &Question,
) -> Option<Vec<Target>> {
    let body = q.body.as_deref().unwrap_or_default();
    let limit = config.limits.max_inspected_body;
    if body.len() > limit {
        x.outcome = Outcome::Deny;
        x.status = Some(413);
        x.message = Some(format!(
            "the body is larger than limits.max_inspected_body ({limit} bytes)"
        ));
        return None;
    }
    x.inspected = Some(body.len());
    match policy.body_outcome(access, kind, body) {
        BodyOutcome::Pass(volumes) => Some(volumes),
        BodyOutcome::WouldDeny(d) => {
            x.outcome = Outcome::WouldDeny;
            note(x, &d);
            Some(Vec::new())
        }
        BodyOutcome::Deny(d) => {
            x.outcome = Outcome::Deny;
            x.status = Some(if d.unreadable { 400 } else { 403 });
            note(x, &d);
            None
        }
    }
}

/// The target stage of [`explain`]: the engine describes each container, exec or volume the
/// request acts on, and policy judges it, as `serve` does. `named`: the first target is what
/// the path names; one the engine cannot describe (unknown, ambiguous) gets the engine's own
/// answer, and the request goes no further.
fn check_targets(
    x: &mut Explanation,
    policy: &Policy,
    access: &Access,
    targets: Vec<Target>,
    named: bool,
    ask: &mut Ask<'_>,
) {
    let mut queue = targets;
    queue.reverse();
    let mut first = named;
    while let Some(t) = queue.pop() {
        let (status, body) = match ask(&t.inspect_path()) {
            Ok(answer) => answer,
            Err(e) => {
                x.outcome = Outcome::Deny;
                x.status = Some(502);
                x.message = Some(format!("the Docker Engine is unreachable: {e}"));
                return;
            }
        };
        let (kind, name) = match &t {
            Target::Container(n) => ("container", n),
            Target::Exec(n) => ("exec", n),
            Target::Volume(n) => ("volume", n),
            Target::ReadOnlyVolume(n) => ("volume (read-only)", n),
            Target::VolumesFrom(n) => ("volumes-from container", n),
        };
        if std::mem::take(&mut first) && crate::policy::target::unresolved(status) {
            x.targets.push(format!(
                "{kind} \"{name}\": the engine cannot describe it and answers {status} itself"
            ));
            x.status = Some(status);
            return;
        }
        x.targets.push(match status {
            404 => format!("{kind} \"{name}\": the engine has none yet"),
            _ => format!("{kind} \"{name}\": its own settings checked (engine status {status})"),
        });
        match policy.target_step(access, &t, status, &body) {
            TargetStep::Pass => {}
            TargetStep::Next(more) => queue.extend(more.into_iter().rev()),
            TargetStep::WouldDeny(d) => {
                x.outcome = Outcome::WouldDeny;
                if x.rule.is_none() {
                    note(x, &d);
                }
            }
            TargetStep::Deny(d) => {
                x.outcome = Outcome::Deny;
                x.status = Some(403);
                note(x, &d);
                return;
            }
        }
    }
}

/// Records the rule, field and message of `d`.
fn note(x: &mut Explanation, d: &crate::policy::Denial) {
    x.rule = Some(d.rule.clone());
    x.field = d.field.clone();
    x.message = Some(d.message.clone());
}

/// `GET path` on the engine's unix socket, blocking, for `explain`: the status and body.
pub fn ask_engine(
    socket: &std::path::Path,
    path: &str,
    timeout: std::time::Duration,
) -> Result<(u16, Vec<u8>), String> {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(socket)
        .map_err(|e| format!("cannot connect to {}: {e}", socket.display()))?;
    let io = |e: std::io::Error| format!("{}: {e}", socket.display());
    s.set_read_timeout(Some(timeout)).map_err(io)?;
    s.set_write_timeout(Some(timeout)).map_err(io)?;
    // HTTP/1.0: the engine answers with the whole body and closes, no chunking.
    write!(s, "GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n").map_err(io)?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).map_err(io)?;
    let end = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the engine's answer has no end of head")?;
    let head = String::from_utf8_lossy(&out[..end]);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or("the engine's answer has no status")?;
    Ok((status, out[end + 4..].to_vec()))
}

/// What one client did, per route, from an audit log.
#[derive(Debug, Default)]
pub struct Usage {
    /// Requests per route, of those that went through (`allow`, `would_deny`).
    pub routes: BTreeMap<String, u64>,
    /// Requests refused (not part of the suggestion).
    pub denied: u64,
    /// Requests that reached no engine route.
    pub unrouted: u64,
}

/// Reads the `end` events of `cn` from an audit log in either format (`log.format = "json"` or
/// `"text"`).
pub fn usage(log: &str, cn: &str) -> Usage {
    let mut u = Usage::default();
    for line in log.lines() {
        let Some(ev) = audit_event(line) else {
            continue;
        };
        if ev.event != "end" || ev.client_cn != cn {
            continue;
        }
        match ev.decision.as_str() {
            "allow" | "would_deny" => *u.routes.entry(ev.route).or_default() += 1,
            _ => u.denied += 1,
        }
    }
    // Only the engine's own routes (looked up once each, not once a line): a line cannot bring
    // in anything else, and requests that reached no route have none.
    u.routes.retain(|route, n| {
        let known = routes::by_text(route).is_some();
        if !known {
            u.unrouted += *n;
        }
        known
    });
    u
}

struct AuditEvent {
    event: String,
    client_cn: String,
    decision: String,
    route: String,
}

fn audit_event(line: &str) -> Option<AuditEvent> {
    let line = line.trim();
    if line.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        if v.get("target")?.as_str()? != crate::audit::TARGET {
            return None;
        }
        let s = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_str())
                .unwrap_or_default()
                .to_string()
        };
        return Some(AuditEvent {
            event: s("event"),
            client_cn: s("client_cn"),
            decision: s("decision"),
            route: s("route"),
        });
    }
    // Text: `TIMESTAMP  INFO dockgate::audit: request event="end" client_cn=alice …
    // route="GET /_ping" rule= …`. Values a client chose are quoted when they hold a space, `=`
    // or a quote (`audit::line`), so the pairs split without doubt.
    let mut words = line.split_whitespace();
    let (_time, _level) = (words.next()?, words.next()?);
    let head = format!("{}: request ", crate::audit::TARGET);
    if words.next()? != head.split(' ').next()? || words.next()? != "request" {
        return None;
    }
    let fields = pairs(&line[line.find(&head)? + head.len()..])?;
    let get = |k: &str| {
        fields
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    Some(AuditEvent {
        event: get("event"),
        client_cn: get("client_cn"),
        decision: get("decision"),
        route: get("route"),
    })
}

/// `key=value key="quoted \" value" key= …` as the text format writes it; `None` when a line
/// does not split that way.
fn pairs(mut s: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    loop {
        s = s.trim_start_matches(' ');
        if s.is_empty() {
            return Some(out);
        }
        let eq = s.find('=')?;
        let key = &s[..eq];
        if key.is_empty() || key.contains([' ', '"']) {
            return None;
        }
        s = &s[eq + 1..];
        let value = if let Some(quoted) = s.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let end = loop {
                match chars.next()? {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        't' => value.push('\t'),
                        'r' => value.push('\r'),
                        '0' => value.push('\0'),
                        'u' => {
                            // `\u{1f}`
                            let rest = &quoted[chars.next()?.0..];
                            let close = rest.find('}')?;
                            let code = u32::from_str_radix(&rest[1..close], 16).ok()?;
                            value.push(char::from_u32(code)?);
                            for _ in 0..close {
                                chars.next();
                            }
                        }
                        c => value.push(c),
                    },
                    (_, c) => value.push(c),
                }
            };
            s = &quoted[end + 1..];
            value
        } else {
            let end = s.find(' ').unwrap_or(s.len());
            let value = s[..end].to_string();
            s = &s[end..];
            value
        };
        out.push((key.to_string(), value));
    }
}

/// Routes that need `hijack = true`, by their text.
fn hijacks(route: &str) -> bool {
    routes::by_text(route).is_some_and(profile::is_hijack)
}

/// Routes whose bodies `[profiles.NAME.containers]` governs, by their text.
fn inspected(route: &str) -> bool {
    routes::by_text(route).is_some_and(|r| BodyKind::for_route(r.name).is_some())
}

/// `s` as a TOML string.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A `[profiles.NAME]` table that allows exactly the routes in `u`, ready to paste.
pub fn suggest(u: &Usage, name: &str, cn: &str, source: &str) -> String {
    let key = if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        name.to_string()
    } else {
        toml_str(name)
    };
    let total: u64 = u.routes.values().sum();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# What client \"{cn}\" did in {source}: {total} requests on {} routes.",
        u.routes.len()
    );
    if u.denied > 0 {
        let _ = writeln!(out, "# {} refused requests are not included.", u.denied);
    }
    if u.unrouted > 0 {
        let _ = writeln!(
            out,
            "# {} requests reached no engine route (the engine answered 404) and are not included.",
            u.unrouted
        );
    }
    let _ = writeln!(
        out,
        "[[allow]]\ncn = {}\naccess = {}\n",
        toml_str(cn),
        toml_str(name)
    );
    let _ = writeln!(out, "[profiles.{key}]");
    let _ = writeln!(out, "allow = [");
    let width = u.routes.keys().map(|r| r.len()).max().unwrap_or(0) + 3;
    for (route, n) in &u.routes {
        let quoted = format!("\"{route}\",");
        let _ = writeln!(out, "  {quoted:<width$} # {n} requests");
    }
    let _ = writeln!(out, "]");
    if u.routes.keys().any(|r| hijacks(r)) {
        let _ = writeln!(
            out,
            "hijack = true                # attach / exec start were used"
        );
    }
    let _ = writeln!(
        out,
        "mode = \"report\"              # check the audit log for would_deny, then \"enforce\""
    );
    if u.routes.keys().any(|r| inspected(r)) {
        let _ = writeln!(
            out,
            "\n# Bodies of container create/update, exec and volume create are held to these rules;\n\
             # everything is refused unless allowed here. Loosen only what the client needs.\n\
             [profiles.{key}.containers]\n\
             privileged = false\n\
             host_namespaces = false\n\
             cap_add = []\n\
             devices = false\n\
             bind_mounts = []\n\
             security_opt_unconfined = false"
        );
    }
    out
}
