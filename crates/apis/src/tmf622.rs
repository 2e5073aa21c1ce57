//! TMF622 Product Ordering v4: product orders and their cancellation. A new order is
//! validated first (by the chain, crate `switchboard-fulfilment`), which may ask for
//! missing values (`ProductOrderInformationRequiredEvent`, the order `pending`) and tells
//! of each completed item (`ProductOrderMilestoneEvent`, v5's name).

use switchboard_engine::{ApiDecl, Events, Reference, ResourceDecl};

use crate::ordering::{queues, Order};

pub const CODE: &str = "TMF622";

pub const ORDER: Order = Order {
    api: CODE,
    collection: "productOrder",
    resource_type: "ProductOrder",
    items: "productOrderItem",
    start: Some(queues::PRODUCT_FULFIL),
    resume: Some(queues::PRODUCT_RESUME),
    parent: None,
};

/// The event asking the client for a value a pending order lacks (v4), with `fieldPath`.
pub const INFORMATION_REQUIRED_EVENT: &str = "InformationRequiredEvent";

/// The event telling of a milestone of an order, with `milestone` (v5's name; our
/// extension to v4).
pub const MILESTONE_EVENT: &str = "MilestoneEvent";

pub fn api() -> ApiDecl {
    ApiDecl {
        code: CODE,
        name: "Product Ordering Management",
        base_path: "/tmf-api/productOrderingManagement/v4",
        schema: include_str!("../../../schemas/TMF622.json"),
        observers: Vec::new(),
        resources: vec![
            ResourceDecl {
                events: Events {
                    domain: &[INFORMATION_REQUIRED_EVENT, MILESTONE_EVENT],
                    ..Events::STANDARD
                },
                ..ORDER.decl()
            },
            ORDER.cancel_decl(
                "cancelProductOrder",
                "CancelProductOrder",
                const { &[Reference::to("productOrder", CODE, "productOrder")] },
            ),
        ],
    }
}
