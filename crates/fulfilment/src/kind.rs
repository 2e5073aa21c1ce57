//! The three ordering APIs of the chain (`Kind`), what connects them (the orders made
//! for an order) and whether an order is being cancelled, which every step that writes
//! looks at after writing.

use switchboard_apis::ordering::states::OrderState;
use switchboard_apis::ordering::Order;
use switchboard_apis::{tmf622, tmf641, tmf652};
use switchboard_engine::{Engine, Result};

use crate::ids::{resource_order_id, service_order_id};
use crate::model::{self, Item, OrderHead, ProductOrder, ResourceOrder, ServiceOrder};

/// An order of any of the three kinds, read into its type.
pub enum AnyOrder {
    Product(ProductOrder),
    Service(ServiceOrder),
    Resource(ResourceOrder),
}

impl AnyOrder {
    pub fn head(&self) -> &OrderHead {
        match self {
            AnyOrder::Product(order) => &order.head,
            AnyOrder::Service(order) => &order.head,
            AnyOrder::Resource(order) => &order.head,
        }
    }

    /// The ids of the orders made for it (those that exist or may yet).
    pub fn children(&self) -> Vec<String> {
        match self {
            AnyOrder::Product(order) => order
                .items
                .iter()
                .map(|item| service_order_id(&order.id, item.id()))
                .collect(),
            AnyOrder::Service(order) => vec![resource_order_id(&order.id)],
            AnyOrder::Resource(_) => Vec::new(),
        }
    }
}

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

    /// An order of this kind in `json` (a stored document's text).
    pub fn parse(self, json: &str) -> Result<AnyOrder> {
        Ok(match self {
            Kind::Product => AnyOrder::Product(model::Order::from_json(json)?),
            Kind::Service => AnyOrder::Service(model::Order::from_json(json)?),
            Kind::Resource => AnyOrder::Resource(model::Order::from_json(json)?),
        })
    }

    /// What the chain reads of the stored order of this kind with this id, but its
    /// items.
    pub async fn head(self, engine: &Engine, id: &str) -> Result<Option<OrderHead>> {
        let order = self.order();
        engine.document_as(order.api, order.collection, id).await
    }

    /// The stored order of this kind with this id, read into its type.
    pub async fn read(self, engine: &Engine, id: &str) -> Result<Option<AnyOrder>> {
        let (api, collection) = (self.order().api, self.order().collection);
        Ok(match self {
            Kind::Product => engine
                .document_as::<ProductOrder>(api, collection, id)
                .await?
                .map(AnyOrder::Product),
            Kind::Service => engine
                .document_as::<ServiceOrder>(api, collection, id)
                .await?
                .map(AnyOrder::Service),
            Kind::Resource => engine
                .document_as::<ResourceOrder>(api, collection, id)
                .await?
                .map(AnyOrder::Resource),
        })
    }
}

/// Whether the order is being cancelled (a writer that meets this undoes its write).
pub async fn cancelling(engine: &Engine, kind: Kind, id: &str) -> Result<bool> {
    Ok(kind
        .head(engine, id)
        .await?
        .and_then(|order| order.state)
        .is_some_and(OrderState::is_cancelling))
}
