//! The chain's typed view of the orders it works on: what it reads of a product,
//! service or resource order and of their items, deserialized once when a step reads
//! its order. Writes go through the engine's update paths, changing only the
//! attributes they own, so the chain never writes a document back from this view.
//!
//! Reading is as forgiving as the JSON it replaces: an attribute missing or of another
//! type reads as empty (`""`, `None`, no items), never as an error.

use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::Deserialize;
use serde_json::{Map, Value};
use switchboard_apis::ordering::states::{ItemAction, OrderState, TaskState};

/// An order of one of the three kinds, with items of type `I`; its own attributes
/// (`OrderHead`) are read through it.
#[derive(Debug, Clone)]
pub struct Order<I> {
    pub head: OrderHead,
    pub items: Vec<I>,
}

impl<I> std::ops::Deref for Order<I> {
    type Target = OrderHead;
    fn deref(&self) -> &OrderHead {
        &self.head
    }
}

/// What the chain reads of an order besides its items (all a look at its state or its
/// parent needs).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderHead {
    #[serde(default, deserialize_with = "lenient")]
    pub id: String,
    #[serde(default, deserialize_with = "present")]
    pub href: Option<Value>,
    #[serde(default, deserialize_with = "lenient")]
    pub state: Option<OrderState>,
    /// As stored (an array of party refs), copied onto what the order makes.
    #[serde(default, deserialize_with = "present")]
    pub related_party: Option<Value>,
    /// How an order the chain made names its parent (`ordering::parents`).
    #[serde(default, deserialize_with = "present")]
    pub external_reference: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub cancellation_date: Option<Value>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub note: Vec<Note>,
}

pub type ProductOrder = Order<ProductItem>;
pub type ServiceOrder = Order<ServiceItem>;
pub type ResourceOrder = Order<ResourceItem>;

/// An order item: the attribute listing them, and what every kind of item has.
pub trait Item: DeserializeOwned {
    /// "productOrderItem", "serviceOrderItem", "orderItem".
    const ATTRIBUTE: &'static str;
    fn id(&self) -> &str;
    fn action(&self) -> Option<ItemAction>;
    fn state(&self) -> Option<OrderState>;
}

/// A cancel task (`cancelProductOrder`, …): what its job reads of it.
#[derive(Debug, Clone)]
pub struct CancelTask {
    pub state: Option<TaskState>,
    /// The order it cancels (under the order collection's name: `productOrder`, …).
    pub order: Ref,
    /// As given, copied onto the order.
    pub cancellation_reason: Option<Value>,
}

impl CancelTask {
    /// The task in `doc` (a stored task), naming its order under `order_attribute`.
    pub fn from_value(mut doc: Value, order_attribute: &str) -> Self {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Rest {
            #[serde(default, deserialize_with = "lenient")]
            state: Option<TaskState>,
            #[serde(default, deserialize_with = "present")]
            cancellation_reason: Option<Value>,
        }
        let order = doc
            .as_object_mut()
            .and_then(|fields| fields.remove(order_attribute))
            .and_then(|order| serde_json::from_value(order).ok())
            .unwrap_or_default();
        let rest: Option<Rest> = serde_json::from_value(doc).ok();
        let (state, cancellation_reason) = rest
            .map(|rest| (rest.state, rest.cancellation_reason))
            .unwrap_or_default();
        CancelTask {
            state,
            order,
            cancellation_reason,
        }
    }
}

/// An order note (only its text is read: the reasons an order gives).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Note {
    #[serde(default, deserialize_with = "lenient")]
    pub text: String,
}

/// A reference to another resource, by id.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Ref {
    #[serde(default, deserialize_with = "lenient")]
    pub id: String,
}

/// The id of an optional reference, empty when there is none.
pub fn id_of(reference: &Option<Ref>) -> String {
    reference
        .as_ref()
        .map(|reference| reference.id.clone())
        .unwrap_or_default()
}

/// A product order item (TMF622).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductItem {
    #[serde(default, deserialize_with = "lenient")]
    pub id: String,
    #[serde(default, deserialize_with = "lenient")]
    pub action: Option<ItemAction>,
    #[serde(default, deserialize_with = "lenient")]
    pub state: Option<OrderState>,
    #[serde(default, deserialize_with = "lenient")]
    pub product: Option<ProductRef>,
    #[serde(default, deserialize_with = "lenient")]
    pub product_offering: Option<Ref>,
}

/// The product a product order item is about.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductRef {
    #[serde(default, deserialize_with = "lenient")]
    pub id: String,
    #[serde(default, deserialize_with = "lenient")]
    pub product_specification: Option<Ref>,
    /// `[{name, value}…]` as given (`plan::from_list` reads it).
    #[serde(default)]
    pub product_characteristic: Option<Value>,
}

/// A service order item (TMF641).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceItem {
    #[serde(default, deserialize_with = "lenient")]
    pub id: String,
    #[serde(default, deserialize_with = "lenient")]
    pub action: Option<ItemAction>,
    #[serde(default, deserialize_with = "lenient")]
    pub state: Option<OrderState>,
    #[serde(default, deserialize_with = "lenient")]
    pub service: Option<ServiceRef>,
}

/// The service a service order item is about.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRef {
    #[serde(default, deserialize_with = "lenient")]
    pub id: String,
    #[serde(default, deserialize_with = "lenient")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient")]
    pub service_specification: Option<Ref>,
    #[serde(default)]
    pub service_characteristic: Option<Value>,
}

/// A resource order item (TMF652).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceItem {
    #[serde(default, deserialize_with = "lenient")]
    pub id: String,
    #[serde(default, deserialize_with = "lenient")]
    pub action: Option<ItemAction>,
    #[serde(default, deserialize_with = "lenient")]
    pub state: Option<OrderState>,
    #[serde(default, deserialize_with = "lenient")]
    pub resource_specification: Option<Ref>,
    #[serde(default, deserialize_with = "lenient")]
    pub resource: Option<ResourceRef>,
}

/// The resource a resource order item is about.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRef {
    #[serde(default, deserialize_with = "lenient")]
    pub id: String,
    #[serde(default, deserialize_with = "lenient")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient")]
    pub resource_specification: Option<Ref>,
    #[serde(default)]
    pub resource_characteristic: Option<Value>,
}

impl ResourceItem {
    /// The resource specification it names (its own, else its resource's).
    pub fn specification(&self) -> String {
        let of_resource = self
            .resource
            .as_ref()
            .and_then(|resource| resource.resource_specification.as_ref());
        self.resource_specification
            .as_ref()
            .or(of_resource)
            .map(|spec| spec.id.clone())
            .unwrap_or_default()
    }

    /// The inventory resource it names.
    pub fn target(&self) -> String {
        self.resource
            .as_ref()
            .map(|resource| resource.id.clone())
            .unwrap_or_default()
    }
}

macro_rules! item {
    ($type:ty, $attribute:literal) => {
        impl Item for $type {
            const ATTRIBUTE: &'static str = $attribute;
            fn id(&self) -> &str {
                &self.id
            }
            fn action(&self) -> Option<ItemAction> {
                self.action
            }
            fn state(&self) -> Option<OrderState> {
                self.state
            }
        }
    };
}

item!(ProductItem, "productOrderItem");
item!(ServiceItem, "serviceOrderItem");
item!(ResourceItem, "orderItem");

impl<I: Item> Order<I> {
    /// The order in `doc` (a stored order, as the engine hands it back).
    pub fn from_value(doc: Value) -> switchboard_engine::Result<Self> {
        serde_json::from_value(doc).map_err(|error| {
            switchboard_engine::Error::internal(format!("stored order unreadable: {error}"))
        })
    }

    /// The order in `json` (a stored document's text).
    pub fn from_json(json: &str) -> switchboard_engine::Result<Self> {
        serde_json::from_str(json).map_err(|error| {
            switchboard_engine::Error::internal(format!("stored order unreadable: {error}"))
        })
    }

    /// The item with this id.
    pub fn item(&self, id: &str) -> Option<&I> {
        self.items.iter().find(|item| item.id() == id)
    }
}

impl OrderHead {
    /// The head of the order in `json` (a stored document's text).
    pub fn from_json(json: &str) -> switchboard_engine::Result<Self> {
        serde_json::from_str(json).map_err(|error| {
            switchboard_engine::Error::internal(format!("stored order unreadable: {error}"))
        })
    }

    /// Whether it has ended (is in a final state).
    pub fn ended(&self) -> bool {
        self.state.is_some_and(OrderState::is_final)
    }

    /// The parties, as stored (an empty list when it names none).
    pub fn parties(&self) -> Value {
        self.related_party
            .clone()
            .unwrap_or_else(|| Value::Array(Vec::new()))
    }

    /// Its `href`, `null` when it has none.
    pub fn href(&self) -> Value {
        self.href.clone().unwrap_or(Value::Null)
    }

    /// The reasons it gives in its notes, for the parent's note: ` (a; b)`, or empty.
    pub fn reasons(&self) -> String {
        let texts: Vec<&str> = self
            .note
            .iter()
            .map(|note| note.text.as_str())
            .filter(|text| !text.is_empty())
            .collect();
        if texts.is_empty() {
            String::new()
        } else {
            format!(" ({})", texts.join("; "))
        }
    }
}

impl<'de, I: Item> Deserialize<'de> for Order<I> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut doc = Map::<String, Value>::deserialize(deserializer)?;
        let items = doc.remove(I::ATTRIBUTE).map(list).unwrap_or_default();
        let head = serde_json::from_value(Value::Object(doc)).map_err(D::Error::custom)?;
        Ok(Order { head, items })
    }
}

/// A value of another shape than `T` reads as `T`'s default, as `text` reads one.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(
    deserializer: D,
) -> Result<T, D::Error> {
    Ok(serde_json::from_value(Value::deserialize(deserializer)?).unwrap_or_default())
}

/// A list whose entries read as `T` (others skipped); anything but a list, empty.
fn lenient_list<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    Ok(list(Value::deserialize(deserializer)?))
}

fn list<T: DeserializeOwned>(value: Value) -> Vec<T> {
    match value {
        Value::Array(entries) => entries
            .into_iter()
            .filter_map(|entry| serde_json::from_value(entry).ok())
            .collect(),
        _ => Vec::new(),
    }
}

/// An attribute kept as stored, `null` included (`Option`'s own reads `null` as none).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}
