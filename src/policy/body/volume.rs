//! `POST /volumes/create`: a local volume whose driver options mount a host path or device
//! (`docker volume create -o type=none -o o=bind -o device=/`) is a bind mount by another name,
//! held to `bind_mounts` like one; other local types and plugin options as in [`mounts`].

use super::mounts;
use super::{object, Fields, Refusal, Violation};
use crate::config::ContainerRules;

/// Judges a volume create body (`volume.CreateOptions`).
pub fn check(body: &[u8], rules: &ContainerRules) -> Result<(), Refusal> {
    let top = object(body)?;
    let f = Fields::new(&top, "");
    let driver = f.string("Driver")?;
    f.string("Name")?;
    let opts = f.string_map("DriverOpts")?;
    let Err(problem) = mounts::judge_volume(&driver, opts.as_ref(), false, rules) else {
        return Ok(());
    };
    let (field, message) = match &problem {
        mounts::VolumeProblem::Outside(dev) => (
            "DriverOpts.device",
            format!("a volume that mounts the host path \"{dev}\" is not allowed for this client"),
        ),
        mounts::VolumeProblem::Writable(dev) => (
            "DriverOpts.o",
            format!("a volume that mounts the host path \"{dev}\" writable is not allowed for this client (add o=ro)"),
        ),
        mounts::VolumeProblem::Refused(what) => {
            ("DriverOpts", format!("{what} is not allowed for this client"))
        }
    };
    Err(Violation::new(problem.rule(), field, message).into())
}
