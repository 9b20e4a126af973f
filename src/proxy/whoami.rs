//! `GET /_dockgate/whoami`: the client's identity and access level as the gateway sees them, for
//! `dockgate doctor` and for people wondering why they are refused. Answered by the gateway
//! itself (never forwarded) to any verified client, including one that no `[[allow]]` entry
//! matches: it only tells a client about its own certificate.

use bytes::Bytes;
use http::{header, HeaderValue, Response};

use super::body::ResponseBody;
use crate::audit::AuditRecord;
use crate::config::Access;
use crate::tls::ClientIdentity;

pub const PATH: &str = "/_dockgate/whoami";

pub fn response(
    id: &ClientIdentity,
    access: Option<Access>,
    record: AuditRecord,
) -> Response<ResponseBody> {
    record.counters.set_status(200);
    let body = serde_json::json!({
        "cn": id.cn,
        "ou": id.ous,
        "dns": id.dns,
        "uri": id.uris,
        "email": id.emails,
        "fingerprint": id.fingerprint,
        "serial": id.serial,
        "access": access.as_ref().map(Access::as_str),
    });
    let mut text = body.to_string();
    text.push('\n');
    let mut resp = Response::new(ResponseBody::full(Bytes::from(text), Some(record)));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
