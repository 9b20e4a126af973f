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

/// The largest answer to a create read (it is a few dozen bytes).
const MAX_CREATED: usize = 64 << 10;

/// How long a description (or a removal) may take the engine.
const ENGINE_ANSWER_TIME: std::time::Duration = std::time::Duration::from_secs(30);

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
            if own && crate::policy::target::unresolved(status) {
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
        let checked = match self
            .check_target(access, Target::Container(id.clone()), false)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                // What cannot be checked does not stay (report mode never refuses).
                if !self.policy.reports(access) {
                    let _ = self.remove_container(&id).await;
                }
                return Err(e);
            }
        };
        let denial = match checked {
            Checked::Deny(d) => d,
            Checked::WouldDeny { .. } => return Ok(Some(checked)),
            _ => return Ok(None),
        };
        let status = self.remove_container(&id).await?;
        if !matches!(status, 204 | 404) {
            tracing::warn!(
                container = %id,
                status,
                "a container created against the profile's rules could not be removed"
            );
        }
        Ok(Some(Checked::Deny(denial)))
    }

    /// Reads the engine's answer to a create (`{"Id":…,"Warnings":[]}`): at most
    /// `MAX_CREATED` bytes, within `ENGINE_ANSWER_TIME`. `true`: it ended within both; otherwise
    /// what arrived of its start.
    pub(super) async fn read_created(
        &self,
        mut body: hyper::body::Incoming,
        sender: super::upstream::Sender,
    ) -> (Bytes, bool) {
        let mut out = BytesMut::new();
        let read = read_into(&mut body, &mut out, MAX_CREATED);
        let complete = matches!(
            tokio::time::timeout(ENGINE_ANSWER_TIME, read).await,
            Ok(Ending::Complete)
        );
        if complete {
            self.upstream.pool.put(sender);
        }
        (out.freeze(), complete)
    }

    /// After a create whose answer could not be read whole: the container named at its start
    /// (`"Id":"<64 hex>"`) is removed, unless the profile only reports.
    pub(super) async fn remove_unread(&self, access: &Access, partial: &[u8]) {
        if let Some(id) = id_in(partial) {
            if !self.policy.reports(access) {
                let _ = self.remove_container(&id).await;
            }
        }
    }

    /// Removes a container (with its anonymous volumes): the engine's status.
    async fn remove_container(&self, id: &str) -> Result<u16, ProxyError> {
        let path = format!("/containers/{id}?force=1&v=1");
        Ok(self.engine_call(Method::DELETE, &path).await?.0)
    }

    /// `GET path` on the engine: its status and body.
    async fn engine_get(&self, path: &str) -> Result<(u16, Bytes), ProxyError> {
        self.engine_call(Method::GET, path).await
    }

    /// `METHOD path` on the engine, without a body: its status and body, within
    /// `ENGINE_ANSWER_TIME` (an engine that does not answer is treated as unreachable).
    async fn engine_call(&self, method: Method, path: &str) -> Result<(u16, Bytes), ProxyError> {
        let call = self.engine_call_untimed(method, path);
        match tokio::time::timeout(ENGINE_ANSWER_TIME, call).await {
            Ok(answer) => answer,
            Err(_) => Err(ProxyError::Unverifiable(format!(
                "the Docker Engine did not answer {path} within {}s",
                ENGINE_ANSWER_TIME.as_secs()
            ))),
        }
    }

    async fn engine_call_untimed(
        &self,
        method: Method,
        path: &str,
    ) -> Result<(u16, Bytes), ProxyError> {
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
        let mut body = BytesMut::new();
        match read_into(&mut resp.into_body(), &mut body, MAX_DESCRIPTION).await {
            Ending::Complete => {
                self.upstream.pool.put(sender);
                Ok((status, body.freeze()))
            }
            Ending::TooLarge => Ok((502, Bytes::new())),
            Ending::Failed(e) => Err(ProxyError::Upstream(self.upstream.request_error(e))),
        }
    }
}

/// How reading an engine answer ended.
enum Ending {
    Complete,
    TooLarge,
    Failed(hyper::Error),
}

/// Reads an engine answer into `out`: whole if it ends within `limit` bytes, else its first
/// `limit` (what has arrived stays in `out` however the reading ends, a timeout included).
async fn read_into(body: &mut hyper::body::Incoming, out: &mut BytesMut, limit: usize) -> Ending {
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => return Ending::Failed(e),
        };
        if let Some(data) = frame.data_ref() {
            if out.len() + data.len() > limit {
                out.extend_from_slice(&data[..limit - out.len()]);
                return Ending::TooLarge;
            }
            out.extend_from_slice(data);
        }
    }
    Ending::Complete
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

/// The container ID at the start of a create's answer, when the rest could not be read.
fn id_in(partial: &[u8]) -> Option<String> {
    const KEY: &[u8] = br#""Id":""#;
    let at = partial.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let id = partial.get(at..at + 64)?;
    let hex = id
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
    hex.then(|| String::from_utf8_lossy(id).into_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_id_is_found_at_the_start_of_a_cut_answer() {
        let id = "4f0b6f3c8d1e2a5b7c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d";
        let cut = format!(r#"{{"Id":"{id}","Warnings":["aaaa"#);
        assert_eq!(super::id_in(cut.as_bytes()).as_deref(), Some(id));
        assert_eq!(super::id_in(br#"{"Id":"4f0b"#), None);
        assert_eq!(super::id_in(b"not json"), None);
        let upper = cut.to_uppercase().replace("\"ID\"", "\"Id\"");
        assert_eq!(super::id_in(upper.as_bytes()), None);
    }
}
