//! Asking the engine about the container or exec a request acts on, before the request goes on
//! (see `policy::target`): the same engine connections as requests, one `GET` per step.

use bytes::{Bytes, BytesMut};
use http::{header, Method, Request};
use http_body_util::BodyExt;

use super::{Proxy, ProxyError, RequestBody};
use crate::config::Access;
use crate::policy::target::Target;
use crate::policy::{Denial, TargetStep};

/// The largest description of a container read (an inspect is a few KiB; its environment and
/// labels can make it more).
const MAX_DESCRIPTION: usize = 16 << 20;

/// What the engine's descriptions decided.
pub enum Checked {
    /// `id`: the full ID of the container the request names, to pin the request to.
    Pass {
        id: Option<String>,
    },
    WouldDeny {
        denial: Denial,
        id: Option<String>,
    },
    Deny(Denial),
    /// The engine could not describe the container or exec the request names (it does not know
    /// it, or the name is ambiguous): its own status and message, which the request would get.
    Unresolved {
        status: u16,
        message: String,
    },
}

impl Proxy {
    /// Judges `target` and, for an exec, its container. `named`: the target is what the
    /// request's path names (not a volume its body mounts), so a 404 ends the request and a
    /// container's ID is returned for pinning.
    pub(super) async fn check_target(
        &self,
        access: &Access,
        target: Target,
        named: bool,
    ) -> Result<Checked, ProxyError> {
        // Judged in order: the target, then what it leads to (an exec's container, then a
        // container's volumes).
        let mut queue = std::collections::VecDeque::from([target]);
        let mut would = None;
        let mut id = None;
        let mut first = true;
        while let Some(t) = queue.pop_front() {
            let (status, body) = self.engine_get(&t.inspect_path()).await?;
            let own = std::mem::take(&mut first) && named;
            let unresolved = status >= 400 && status != 502;
            if own && unresolved {
                let message = engine_message(&body, &t);
                return Ok(Checked::Unresolved { status, message });
            }
            match self.policy.target_step(access, &t, status, &body) {
                TargetStep::Pass => {}
                TargetStep::Next(more) => queue.extend(more),
                TargetStep::WouldDeny(d) => would = would.or(Some(d)),
                TargetStep::Deny(d) => return Ok(Checked::Deny(d)),
            }
            if own && status == 200 && matches!(t, Target::Container(_)) {
                id = crate::policy::target::described_id(&body);
            }
        }
        Ok(match would {
            None => Checked::Pass { id },
            Some(denial) => Checked::WouldDeny { denial, id },
        })
    }

    /// After a create whose body takes volumes from other containers: the new container as the
    /// engine describes it (the mounts it was given, whatever those containers were by then) is
    /// judged like a target, by its ID. A refused one is removed again (in report mode it stays,
    /// and the denial is only returned).
    /// A `VolumesFrom` entry names its container by name, and the body goes on exactly as
    /// inspected, so this is what holds when another container took that name after the check.
    pub(super) async fn check_created(
        &self,
        access: &Access,
        created: &[u8],
    ) -> Result<Option<Checked>, ProxyError> {
        let Some(id) = crate::policy::target::described_id(created) else {
            return Err(ProxyError::Unverifiable(
                "the engine's answer to the create names no container ID".into(),
            ));
        };
        let remove = format!("/containers/{id}?force=1&v=1");
        let checked = match self
            .check_target(access, Target::Container(id.clone()), false)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                // What cannot be checked does not stay.
                let _ = self.engine_call(Method::DELETE, &remove).await;
                return Err(e);
            }
        };
        let denial = match checked {
            Checked::Deny(d) => d,
            Checked::WouldDeny { .. } => return Ok(Some(checked)),
            _ => return Ok(None),
        };
        let (status, _) = self.engine_call(Method::DELETE, &remove).await?;
        if !matches!(status, 204 | 404) {
            tracing::warn!(
                container = %id,
                status,
                "a container created against the profile's rules could not be removed"
            );
        }
        Ok(Some(Checked::Deny(denial)))
    }

    /// `GET path` on the engine: its status and body.
    async fn engine_get(&self, path: &str) -> Result<(u16, Bytes), ProxyError> {
        self.engine_call(Method::GET, path).await
    }

    /// `METHOD path` on the engine, without a body: its status and body.
    async fn engine_call(&self, method: Method, path: &str) -> Result<(u16, Bytes), ProxyError> {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "docker")
            .body(RequestBody::full(
                Bytes::new(),
                super::budget::BodyBudget::none(),
                Default::default(),
            ))
            .map_err(|_| ProxyError::BadTarget)?;
        let (resp, sender) = self.send(req).await?;
        let status = resp.status().as_u16();
        match self.read_answer(resp.into_body(), sender).await? {
            Some(body) => Ok((status, body)),
            None => Ok((502, Bytes::new())),
        }
    }

    /// Reads a short answer of the engine whole (at most `MAX_DESCRIPTION`; `None` past it)
    /// and gives its connection back to the pool.
    pub(super) async fn read_answer(
        &self,
        mut body: hyper::body::Incoming,
        sender: super::upstream::Sender,
    ) -> Result<Option<Bytes>, ProxyError> {
        let mut out = BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| ProxyError::Upstream(self.upstream.request_error(e)))?;
            if let Some(data) = frame.data_ref() {
                if out.len() + data.len() > MAX_DESCRIPTION {
                    return Ok(None);
                }
                out.extend_from_slice(data);
            }
        }
        self.upstream.pool.put(sender);
        Ok(Some(out.freeze()))
    }
}

/// The `message` of the engine's error body, or one worded like the engine's.
fn engine_message(body: &[u8], t: &Target) -> String {
    let said = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message")?.as_str().map(str::to_string));
    said.unwrap_or_else(|| match t {
        Target::Container(n) => format!("No such container: {n}"),
        Target::Exec(n) => format!("No such exec instance: {n}"),
        Target::Volume(n) | Target::ReadOnlyVolume(n) => format!("get {n}: no such volume"),
        Target::VolumesFrom(n) => format!("No such container: {n}"),
    })
}
