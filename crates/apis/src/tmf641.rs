//! TMF641 Service Ordering v4: service orders and their cancellation.

use switchboard_engine::{ApiDecl, Reference};

use crate::ordering::{parents, queues, Order, Parent};

pub const CODE: &str = "TMF641";

pub const ORDER: Order = Order {
    api: CODE,
    collection: "serviceOrder",
    resource_type: "ServiceOrder",
    items: "serviceOrderItem",
    start: Some(queues::SERVICE_FULFIL),
    resume: Some(queues::SERVICE_RESUME),
    parent: Some(Parent {
        queue: queues::PRODUCT_RESUME,
        id: parents::product_order_of,
    }),
};

pub fn api() -> ApiDecl {
    ApiDecl {
        code: CODE,
        name: "Service Ordering Management",
        base_path: "/tmf-api/serviceOrdering/v4",
        schema: include_str!("../../../schemas/TMF641.json"),
        observers: Vec::new(),
        resources: vec![
            ORDER.decl(),
            ORDER.cancel_decl(
                "cancelServiceOrder",
                "CancelServiceOrder",
                const { &[Reference::to("serviceOrder", CODE, "serviceOrder")] },
            ),
        ],
    }
}
