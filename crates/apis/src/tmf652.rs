//! TMF652 Resource Ordering v4: resource orders and their cancellation.

use switchboard_engine::{ApiDecl, Reference};

use crate::ordering::Order;

pub const CODE: &str = "TMF652";

pub const ORDER: Order = Order {
    api: CODE,
    collection: "resourceOrder",
    resource_type: "ResourceOrder",
    items: "orderItem",
    start: Some(crate::fulfilment::resource::FULFIL),
    resume: None,
    parent: Some(crate::ordering::Parent {
        queue: crate::fulfilment::service::RESUME,
        id: crate::fulfilment::resource::parent_of,
    }),
};

pub fn api() -> ApiDecl {
    ApiDecl {
        code: CODE,
        base_path: "/tmf-api/resourceOrderingManagement/v4",
        schema: include_str!("../../../schemas/TMF652.json"),
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
