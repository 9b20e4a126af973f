//! The open-file limit, raised to the hard limit at start: the idle measure holds thousands of
//! sockets, and the usual soft limit is 1,024.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Descriptors the process needs besides its connections.
pub const RESERVED: u64 = 32;

#[derive(Debug, Clone, Copy)]
pub struct Nofile {
    pub soft: u64,
    pub hard: u64,
}

/// Raises the soft limit to the hard one; on failure says so and keeps what there is.
pub fn raise() -> Nofile {
    let limit = getrlimit(Resource::Nofile);
    let hard = limit.maximum.unwrap_or(u64::MAX);
    let mut soft = limit.current.unwrap_or(u64::MAX);
    if soft < hard {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => soft = hard,
            Err(e) => {
                eprintln!("loadgen: cannot raise the open-file limit from {soft} to {hard}: {e}")
            }
        }
    }
    Nofile { soft, hard }
}
