//! TMF652 Resource Ordering v4: resource orders and their cancellation.

use switchboard_engine::{ApiDecl, Reference};

use crate::ordering::{parents, queues, Order, Parent};

pub const CODE: &str = "TMF652";

pub const ORDER: Order = Order {
    api: CODE,
    collection: "resourceOrder",
    resource_type: "ResourceOrder",
    items: "orderItem",
    start: Some(queues::RESOURCE_FULFIL),
    resume: None,
    parent: Some(Parent {
        queue: queues::SERVICE_RESUME,
        id: parents::service_order_of,
    }),
};

pub fn api() -> ApiDecl {
    ApiDecl {
        code: CODE,
        name: "Resource Ordering Management",
        base_path: "/tmf-api/resourceOrderingManagement/v4",
        schema: include_str!("../../../schemas/TMF652.json"),
        observers: Vec::new(),
        resources: vec![
            ORDER.decl(),
            ORDER.cancel_decl(
                "cancelResourceOrder",
                "CancelResourceOrder",
                const { &[Reference::to("resourceOrder", CODE, "resourceOrder")] },
            ),
        ],
    }
}
