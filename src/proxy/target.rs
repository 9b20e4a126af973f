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
    Pass,
    WouldDeny(Denial),
    Deny(Denial),
}

impl Proxy {
    /// Judges `target` and, for an exec, its container.
    pub(super) async fn check_target(
        &self,
        access: &Access,
        target: Target,
    ) -> Result<Checked, ProxyError> {
        let mut next = Some(target);
        let mut would = None;
        while let Some(t) = next.take() {
            let (status, body) = self.engine_get(&t.inspect_path()).await?;
            match self.policy.target_step(access, &t, status, &body) {
                TargetStep::Pass => {}
                TargetStep::Next(t) => next = Some(t),
                TargetStep::WouldDeny(d) => would = would.or(Some(d)),
                TargetStep::Deny(d) => return Ok(Checked::Deny(d)),
            }
        }
        Ok(would.map_or(Checked::Pass, Checked::WouldDeny))
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
