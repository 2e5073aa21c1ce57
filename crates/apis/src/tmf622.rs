//! TMF622 Product Ordering v4: product orders and their cancellation. A new order is
//! validated first (by the chain, crate `switchboard-fulfilment`).

use switchboard_engine::{ApiDecl, Reference};

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

pub fn api() -> ApiDecl {
    ApiDecl {
        code: CODE,
        base_path: "/tmf-api/productOrderingManagement/v4",
        schema: include_str!("../../../schemas/TMF622.json"),
        resources: vec![
            ORDER.decl(),
            ORDER.cancel_decl(
                "cancelProductOrder",
                "CancelProductOrder",
                const { &[Reference::to("productOrder", CODE, "productOrder")] },
            ),
        ],
    }
}
