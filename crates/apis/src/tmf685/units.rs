//! The typed units of a pool (an IPv4 block, a VLAN range, a counted capacity, a set of
//! named resources): parsing them from the pool's `capacity` or `resourceCollection`,
//! and numbering them 0..total in the pool's order (the ledger counts in those numbers).

use std::net::Ipv4Addr;

use serde_json::Value;
use switchboard_engine::{Error, Result};

/// Units one request may take: a reservation lists every unit it holds.
pub(super) const MAX_UNITS_PER_REQUEST: u64 = 10_000;

/// The units a pool hands out, from its `capacity` (our extension) or its
/// `resourceCollection`.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Units {
    /// Host addresses of an IPv4 block: `{"type": "ipv4", "cidr": "10.0.0.0/24"}`.
    Ipv4 { first: u32, count: u64 },
    /// VLAN ids: `{"type": "vlan", "first": 100, "last": 199}`.
    Vlan { first: u64, last: u64 },
    /// A plain amount: `{"type": "count", "amount": 50}`, units "1".."50".
    Count { amount: u64 },
    /// The pool's `resourceCollection` entries (objectId, else name).
    Set(Vec<String>),
}

impl Units {
    pub(super) fn of(pool: &Value) -> Result<Units> {
        let Some(capacity) = pool.get("capacity") else {
            let entries: Vec<String> = pool
                .get("resourceCollection")
                .and_then(Value::as_array)
                .map(|entries| entries.iter().map(collection_entry).collect())
                .transpose()?
                .unwrap_or_default();
            let mut names: Vec<&String> = entries.iter().collect();
            names.sort();
            if let Some(twice) = names.windows(2).find(|pair| pair[0] == pair[1]) {
                return Err(Error::invalid_body(format!(
                    "'resourceCollection' names '{}' twice; each unit of a pool is one resource",
                    twice[0]
                )));
            }
            return Ok(Units::Set(entries));
        };
        let kind = capacity.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "ipv4" => {
                let cidr = capacity
                    .get("cidr")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        Error::invalid_body(
                            "'capacity.cidr' must be a string such as \"10.0.0.0/24\"",
                        )
                    })?;
                let (address, prefix) = parse_cidr(cidr)?;
                let size: u64 = 1 << (32 - prefix);
                let network = u32::from(address) & (u64::from(u32::MAX) << (32 - prefix)) as u32;
                let (first, count) = if prefix <= 30 {
                    // The network and broadcast addresses are not handed out.
                    (network + 1, size - 2)
                } else {
                    (network, size)
                };
                Ok(Units::Ipv4 { first, count })
            }
            "vlan" => {
                let bound = |key: &str| {
                    capacity
                        .get(key)
                        .and_then(Value::as_u64)
                        .filter(|id| (1..=4094).contains(id))
                        .ok_or_else(|| {
                            Error::invalid_body(format!(
                                "'capacity.{key}' must be a VLAN id from 1 to 4094"
                            ))
                        })
                };
                let (first, last) = (bound("first")?, bound("last")?);
                if first > last {
                    return Err(Error::invalid_body(
                        "'capacity.first' must not be above 'capacity.last'",
                    ));
                }
                Ok(Units::Vlan { first, last })
            }
            "count" => {
                let amount = capacity
                    .get("amount")
                    .and_then(Value::as_u64)
                    .filter(|amount| *amount <= u64::from(u32::MAX))
                    .ok_or_else(|| {
                        Error::invalid_body("'capacity.amount' must be a whole number of units")
                    })?;
                Ok(Units::Count { amount })
            }
            other => Err(Error::invalid_body(format!(
                "'capacity.type' '{other}' is not a pool type; known: ipv4, vlan, count"
            ))),
        }
    }

    pub(super) fn total(&self) -> u64 {
        match self {
            Units::Ipv4 { count, .. } => *count,
            Units::Vlan { first, last } => last - first + 1,
            Units::Count { amount } => *amount,
            Units::Set(entries) => entries.len() as u64,
        }
    }

    /// The name of unit `index` (< total).
    pub(super) fn name(&self, index: u64) -> String {
        match self {
            Units::Ipv4 { first, .. } => {
                Ipv4Addr::from(first.wrapping_add(index as u32)).to_string()
            }
            Units::Vlan { first, .. } => (first + index).to_string(),
            Units::Count { .. } => (index + 1).to_string(),
            Units::Set(entries) => entries.get(index as usize).cloned().unwrap_or_default(),
        }
    }

    /// The index of the unit called `name`, if the pool has one.
    pub(super) fn index(&self, name: &str) -> Option<u64> {
        let index = match self {
            Units::Ipv4 { first, .. } => {
                let address: Ipv4Addr = name.parse().ok()?;
                u64::from(u32::from(address).checked_sub(*first)?)
            }
            Units::Vlan { first, .. } => name.parse::<u64>().ok()?.checked_sub(*first)?,
            Units::Count { .. } => name.parse::<u64>().ok()?.checked_sub(1)?,
            Units::Set(entries) => entries.iter().position(|entry| entry == name)? as u64,
        };
        (index < self.total()).then_some(index)
    }

    pub(super) fn unit_type(&self) -> &'static str {
        match self {
            Units::Ipv4 { .. } => "IPv4Address",
            Units::Vlan { .. } => "VlanId",
            Units::Count { .. } => "CapacityUnit",
            Units::Set(_) => "Resource",
        }
    }
}

fn collection_entry(entry: &Value) -> Result<String> {
    entry
        .get("objectId")
        .or_else(|| entry.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            Error::invalid_body("each 'resourceCollection' entry needs an 'objectId' or a 'name'")
        })
}

fn parse_cidr(cidr: &str) -> Result<(Ipv4Addr, u32)> {
    let invalid = || {
        Error::invalid_body(format!(
            "'capacity.cidr' '{cidr}' is not an IPv4 block such as 10.0.0.0/24 (prefix 8 to 32)"
        ))
    };
    let (address, prefix) = cidr.split_once('/').ok_or_else(invalid)?;
    let address: Ipv4Addr = address.parse().map_err(|_| invalid())?;
    let prefix: u32 = prefix.parse().map_err(|_| invalid())?;
    if !(8..=32).contains(&prefix) {
        return Err(invalid());
    }
    Ok((address, prefix))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ipv4_blocks_hand_out_host_addresses_in_order() {
        let units =
            Units::of(&json!({"capacity": {"type": "ipv4", "cidr": "10.1.2.0/29"}})).unwrap();
        assert_eq!(units.total(), 6);
        assert_eq!(units.name(0), "10.1.2.1");
        assert_eq!(units.name(5), "10.1.2.6");
        assert_eq!(units.index("10.1.2.6"), Some(5));
        assert_eq!(units.index("10.1.2.7"), None, "broadcast");
        let host =
            Units::of(&json!({"capacity": {"type": "ipv4", "cidr": "192.0.2.9/32"}})).unwrap();
        assert_eq!((host.total(), host.name(0)), (1, "192.0.2.9".to_string()));
        assert!(Units::of(&json!({"capacity": {"type": "ipv4", "cidr": "10.0.0.0/33"}})).is_err());
    }
}
