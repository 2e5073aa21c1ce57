//! The ids of what the chain makes, derived from (order, item, what): the same on every
//! run of a step, so a step run twice finds what the first run made instead of making
//! it again (ARCHITECTURE.md, invariants). The derivation is part of the stored data's
//! meaning: changing it while orders are in flight would let a re-run step make a
//! second copy.

pub use switchboard_apis::ids::derived_id;

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
