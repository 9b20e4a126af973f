//! Asking the engine about the container or exec a request acts on, before the request goes on
//! (see `policy::target`): the same engine connections as requests, one `GET` per step.

use bytes::{Bytes, BytesMut};
use http::{header, Request};
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
    /// The engine does not know the container or exec the request names: its own 404 message.
    Missing(String),
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
            if own && status == 404 && !matches!(t, Target::Volume(_)) {
                return Ok(Checked::Missing(engine_message(&body, &t)));
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

    /// `GET path` on the engine: its status and body.
    async fn engine_get(&self, path: &str) -> Result<(u16, Bytes), ProxyError> {
        let req = Request::get(path)
            .header(header::HOST, "docker")
            .body(RequestBody::full(
                Bytes::new(),
                super::budget::BodyBudget::none(),
                Default::default(),
            ))
            .map_err(|_| ProxyError::BadTarget)?;
        let (resp, sender) = self.send(req).await?;
        let status = resp.status().as_u16();
        let mut body = resp.into_body();
        let mut out = BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| ProxyError::Upstream(self.upstream.request_error(e)))?;
            if let Some(data) = frame.data_ref() {
                if out.len() + data.len() > MAX_DESCRIPTION {
                    return Ok((502, Bytes::new()));
                }
                out.extend_from_slice(data);
            }
        }
        self.upstream.pool.put(sender);
        Ok((status, out.freeze()))
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
        Target::Volume(n) => format!("get {n}: no such volume"),
        Target::VolumesFrom(n) => format!("No such container: {n}"),
    })
}
