//! The memory budget for request bodies held whole for inspection, shared by every connection and
//! kept across reloads, so that clients together cannot make the gateway hold more than
//! `limits.max_inspected_total` bytes of them at once.
//!
//! A body reserves its `Content-Length` before a byte of it is read (a chunked body reserves as
//! its buffer grows) and gives it back when it has been forwarded or refused. A reservation that
//! does not fit fails at once instead of waiting: waiting bodies holding part of the budget could
//! otherwise wait on each other for ever.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bytes of inspected bodies that may be held at once, over all connections.
#[derive(Debug, Clone)]
pub struct BodyBudget {
    permits: Arc<Semaphore>,
    total: usize,
}

/// Part of the budget, held until dropped.
#[derive(Debug)]
pub struct Held {
    permit: Option<OwnedSemaphorePermit>,
}

/// The budget has no room for the reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted;

impl BodyBudget {
    pub fn new(total: usize) -> BodyBudget {
        BodyBudget {
            permits: Arc::new(Semaphore::new(total.min(Semaphore::MAX_PERMITS))),
            total,
        }
    }

    /// The configured size, in bytes.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Bytes not reserved right now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// Nothing reserved yet.
    pub fn none() -> Held {
        Held { permit: None }
    }

    /// Makes `held` cover `bytes` in all, or fails without changing it.
    pub fn grow(&self, held: &mut Held, bytes: usize) -> Result<(), Exhausted> {
        let have = held.bytes();
        if bytes <= have {
            return Ok(());
        }
        let more = u32::try_from(bytes - have).map_err(|_| Exhausted)?;
        let extra = self
            .permits
            .clone()
            .try_acquire_many_owned(more)
            .map_err(|_| Exhausted)?;
        match &mut held.permit {
            Some(p) => p.merge(extra),
            None => held.permit = Some(extra),
        }
        Ok(())
    }
}

impl Held {
    /// Bytes this reservation covers.
    pub fn bytes(&self) -> usize {
        self.permit.as_ref().map_or(0, |p| p.num_permits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_fail_when_they_do_not_fit_and_come_back_when_dropped() {
        let budget = BodyBudget::new(100);
        let mut a = BodyBudget::none();
        budget.grow(&mut a, 60).unwrap();
        assert_eq!(budget.available(), 40);
        let mut b = BodyBudget::none();
        assert_eq!(budget.grow(&mut b, 50), Err(Exhausted));
        assert_eq!(b.bytes(), 0, "a failed reservation takes nothing");
        budget.grow(&mut b, 30).unwrap();
        budget.grow(&mut b, 40).unwrap();
        assert_eq!(b.bytes(), 40);
        assert_eq!(budget.available(), 0);
        assert_eq!(budget.grow(&mut b, 41), Err(Exhausted));
        budget.grow(&mut a, 10).unwrap();
        assert_eq!(
            a.bytes(),
            60,
            "growing to less than held keeps what is held"
        );
        drop(a);
        assert_eq!(budget.available(), 60);
        drop(b);
        assert_eq!(budget.available(), 100);
    }
}
