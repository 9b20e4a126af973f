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
    let refused = |field: &str, what: String| {
        let message = format!("{what} is not allowed for this client");
        Err(Violation::new("bind_mounts", field, message).into())
    };
    match mounts::volume_mount(&driver, opts.as_ref()) {
        mounts::VolumeMount::Contained => {}
        mounts::VolumeMount::HostPath(dev) => {
            if !mounts::allowed(dev, &rules.bind_mounts) {
                let what = format!("a volume that mounts the host path \"{dev}\"");
                return refused("DriverOpts.device", what);
            }
            let ro = opts.as_ref().is_some_and(mounts::options_read_only);
            if rules.read_only_binds && !ro {
                let message = format!(
                    "a volume that mounts the host path \"{dev}\" writable is not allowed for this client (add o=ro)"
                );
                return Err(Violation::new("read_only_binds", "DriverOpts.o", message).into());
            }
        }
        mounts::VolumeMount::Refused(what) => return refused("DriverOpts", what),
    }
    Ok(())
}
