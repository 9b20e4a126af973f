//! `POST /containers/{id}/exec`: an exec may ask to be privileged (`docker exec --privileged`),
//! which gives the process every capability and device of the host whatever the container has.

use super::{object, Fields, Refusal, Violation};
use crate::config::ContainerRules;

/// Judges an exec create body (`types.ExecConfig`).
pub fn check(body: &[u8], rules: &ContainerRules) -> Result<(), Refusal> {
    let top = object(body)?;
    let f = Fields::new(&top, "");
    if f.bool("Privileged")? && !rules.privileged {
        return Err(Violation::new(
            "privileged",
            "Privileged",
            "privileged exec sessions are not allowed for this client",
        )
        .into());
    }
    Ok(())
}
