//! Ids derived from what a server-made document is for (an order's item and step, a
//! problem and a customer): the same on every run, so a job run twice finds what the
//! first run made instead of making it again (ARCHITECTURE.md, invariants). The
//! derivation is part of the stored data's meaning: changing it while work is in flight
//! would let a re-run make a second copy.

/// The id of `what` made for `parent`'s `item` (an order's item, a problem's customer):
/// the same on every run.
///
/// A UUIDv8 (RFC 9562): the first 48 bits are the parent id's (for a server-made one,
/// a UUIDv7, its creation time), the rest a name-based hash of (parent, item, what). So
/// what one parent makes sorts beside it and beside what recent parents made: the
/// store's id indexes take new entries at their end instead of at random leaves (a write
/// group rewrites one page per index, not one per new document).
pub fn derived_id(parent: &str, item: &str, what: &str) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5a1f_c4b0_a7d2_4e11_9c3b_7e8f_2d6a_0b15);
    let mut bytes = *uuid::Uuid::new_v5(
        &NAMESPACE,
        format!("{parent}\u{1f}{item}\u{1f}{what}").as_bytes(),
    )
    .as_bytes();
    if let Ok(parent) = uuid::Uuid::parse_str(parent) {
        bytes[..6].copy_from_slice(&parent.as_bytes()[..6]);
    }
    uuid::Uuid::new_v8(bytes).to_string()
}
