//! The ledger of one pool: which of its units are out. Units are numbered 0..total in
//! the pool's order (`units.rs`). `next` is the first unit never handed out, `free` the
//! units handed out and returned since (lowest first), `extracted` those taken out by an
//! extract. So a unit is handed out again only after it came back, and the next free
//! unit is the lowest returned one, else `next`.

use serde_json::{json, Value};

#[derive(Debug, Clone, Default)]
pub(super) struct Ledger {
    next: u64,
    /// Returned units, ascending.
    free: Vec<u64>,
    pub(super) extracted: Vec<u64>,
}

impl Ledger {
    pub(super) fn from_value(value: &Value) -> Ledger {
        let list = |key: &str| -> Vec<u64> {
            value
                .get(key)
                .and_then(Value::as_array)
                .map(|items| items.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default()
        };
        Ledger {
            next: value.get("next").and_then(Value::as_u64).unwrap_or(0),
            free: list("free"),
            extracted: list("extracted"),
        }
    }

    pub(super) fn to_value(&self) -> Value {
        json!({"next": self.next, "free": self.free, "extracted": self.extracted})
    }

    pub(super) fn allocated(&self) -> u64 {
        self.next - self.free.len() as u64
    }

    pub(super) fn available(&self, total: u64) -> u64 {
        total.saturating_sub(self.allocated())
    }

    /// The next `count` free units, lowest first, without taking them.
    pub(super) fn peek(&self, total: u64, count: u64) -> Vec<u64> {
        let mut units: Vec<u64> = self.free.iter().copied().take(count as usize).collect();
        let mut next = self.next;
        while (units.len() as u64) < count && next < total {
            units.push(next);
            next += 1;
        }
        units
    }

    pub(super) fn take(&mut self, total: u64, count: u64) -> Option<Vec<u64>> {
        if self.available(total) < count {
            return None;
        }
        let units = self.peek(total, count);
        let from_free = units.iter().filter(|unit| **unit < self.next).count();
        self.free.drain(..from_free);
        self.next += (units.len() - from_free) as u64;
        Some(units)
    }

    /// Gives units back; a unit that is not out is left alone (a release runs once,
    /// but the ledger never counts a unit twice).
    pub(super) fn give_back(&mut self, units: &[u64]) {
        for unit in units {
            if *unit < self.next {
                if let Err(position) = self.free.binary_search(unit) {
                    self.free.insert(position, *unit);
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_ledger_reuses_the_lowest_returned_unit_and_never_overcommits() {
        let mut ledger = Ledger::default();
        assert_eq!(ledger.take(5, 3), Some(vec![0, 1, 2]));
        ledger.give_back(&[1, 0]);
        ledger.give_back(&[1]);
        assert_eq!(ledger.allocated(), 1);
        assert_eq!(ledger.take(5, 3), Some(vec![0, 1, 3]));
        assert_eq!(ledger.take(5, 2), None, "only unit 4 is left");
        assert_eq!(ledger.take(5, 1), Some(vec![4]));
        assert_eq!(ledger.available(5), 0);
    }
}
