//! The ids of what the chain makes, derived from (order, item, what): the same on every
//! run of a step, so a step run twice finds what the first run made instead of making
//! it again (ARCHITECTURE.md, invariants). The derivation is part of the stored data's
//! meaning: changing it while orders are in flight would let a re-run step make a
//! second copy.

/// The id of what step `what` of `order`'s `item` creates: the same on every run.
///
/// A UUIDv8 (RFC 9562): the first 48 bits are the order id's (for a server-made order,
/// a UUIDv7, its creation time), the rest a name-based hash of (order, item, what). So
/// what one order makes sorts beside the order and beside what recent orders made: the
/// store's id indexes take new entries at their end instead of at random leaves (a write
/// group rewrites one page per index, not one per new document).
pub fn derived_id(order: &str, item: &str, what: &str) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5a1f_c4b0_a7d2_4e11_9c3b_7e8f_2d6a_0b15);
    let mut bytes = *uuid::Uuid::new_v5(
        &NAMESPACE,
        format!("{order}\u{1f}{item}\u{1f}{what}").as_bytes(),
    )
    .as_bytes();
    if let Ok(parent) = uuid::Uuid::parse_str(order) {
        bytes[..6].copy_from_slice(&parent.as_bytes()[..6]);
    }
    uuid::Uuid::new_v8(bytes).to_string()
}

/// The service order made for a product order item.
pub fn service_order_id(order: &str, item: &str) -> String {
    derived_id(order, item, "serviceOrder")
}

/// The product an `add` item of a product order creates.
pub fn product_id(order: &str, item: &str) -> String {
    derived_id(order, item, "product")
}

/// The resource order made for a service order.
pub fn resource_order_id(order: &str) -> String {
    derived_id(order, "", "resourceOrder")
}

/// The CFS service an `add` item of a service order creates.
pub fn cfs_id(order: &str, item: &str) -> String {
    derived_id(order, item, "service")
}

/// The RFS service number `rfs` of an `add` item of a service order.
pub fn rfs_id(order: &str, item: &str, rfs: usize) -> String {
    derived_id(order, item, &format!("rfs.{rfs}"))
}

/// The resource order item for resource `resource` of RFS `rfs` of a service order item.
pub fn resource_item(item: &str, rfs: usize, resource: usize) -> String {
    format!("{item}.{rfs}.{resource}")
}

/// The resource an `add` item of a resource order creates.
pub fn resource_id(order: &str, item: &str) -> String {
    derived_id(order, item, "resource")
}

/// The reservation holding a resource's pool unit.
pub fn reservation_id(resource: &str) -> String {
    derived_id(resource, "", "reservation")
}

/// The cancel task the chain makes to cancel `order` (made for an order being
/// cancelled).
pub fn cancel_task_id(order: &str) -> String {
    derived_id(order, "", "cancel")
}
