//! The three ordering APIs of the chain (`Kind`), what connects them (the orders made
//! for an order) and whether an order is being cancelled, which every step that writes
//! looks at after writing.

use serde_json::Value;
use switchboard_apis::ordering::states::OrderState;
use switchboard_apis::ordering::Order;
use switchboard_apis::{text, tmf622, tmf641, tmf652};
use switchboard_engine::{Engine, Result};

use crate::ids::{resource_order_id, service_order_id};

/// The three ordering APIs of the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Product,
    Service,
    Resource,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Product, Kind::Service, Kind::Resource];

    pub fn order(self) -> Order {
        match self {
            Kind::Product => tmf622::ORDER,
            Kind::Service => tmf641::ORDER,
            Kind::Resource => tmf652::ORDER,
        }
    }

    /// The kind of the orders of the API `code`, if it is one of the chain's.
    pub fn of_api(code: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.order().api == code)
    }

    /// The cancel task collection.
    pub fn cancel(self) -> &'static str {
        match self {
            Kind::Product => "cancelProductOrder",
            Kind::Service => "cancelServiceOrder",
            Kind::Resource => "cancelResourceOrder",
        }
    }

    /// The kind of the orders made for this one.
    pub fn below(self) -> Option<Kind> {
        match self {
            Kind::Product => Some(Kind::Service),
            Kind::Service => Some(Kind::Resource),
            Kind::Resource => None,
        }
    }

    /// The ids of the orders made for `order` (those that exist or may yet).
    pub fn children(self, order: &Value) -> Vec<String> {
        let id = text(order, "id");
        match self {
            Kind::Product => crate::orders::items(order, self.order().items)
                .iter()
                .map(|item| service_order_id(&id, &text(item, "id")))
                .collect(),
            Kind::Service => vec![resource_order_id(&id)],
            Kind::Resource => Vec::new(),
        }
    }
}

/// Whether the order is being cancelled (a writer that meets this undoes its write).
pub async fn cancelling(engine: &Engine, kind: Kind, id: &str) -> Result<bool> {
    /// All of the order this looks at.
    #[derive(serde::Deserialize)]
    struct State {
        state: Option<String>,
    }
    let order = kind.order();
    Ok(engine
        .document_as::<State>(order.api, order.collection, id)
        .await?
        .and_then(|order| order.state)
        .and_then(|state| OrderState::parse(&state))
        .is_some_and(OrderState::is_cancelling))
}
