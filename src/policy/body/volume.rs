//! `POST /volumes/create`: a local volume whose driver options mount a host path or device
//! (`docker volume create -o type=none -o o=bind -o device=/`) is a bind mount by another name,
//! held to `bind_mounts` like one.

use super::mounts;
use super::{object, Fields, Refusal, Violation};
use crate::config::ContainerRules;

/// Judges a volume create body (`volume.CreateOptions`).
pub fn check(body: &[u8], rules: &ContainerRules) -> Result<(), Refusal> {
    let top = object(body)?;
    let f = Fields::new(&top, "");
    let driver = f.string("Driver")?;
    f.string("Name")?;
    let opts = f.string_map("DriverOpts")?.unwrap_or_default();
    let device = mounts::local_volume_device(&driver, |k| opts.get(k).map(String::as_str));
    if let Some(dev) = device {
        if !mounts::allowed(dev, &rules.bind_mounts) {
            return Err(Violation::new(
                "bind_mounts",
                "DriverOpts.device",
                format!(
                    "a volume that mounts the host path \"{dev}\" is not allowed for this client"
                ),
            )
            .into());
        }
    }
    Ok(())
}
