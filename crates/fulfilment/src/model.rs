//! The chain's typed view of the orders it works on: what it reads of a product,
//! service or resource order and of their items, deserialized once when a step reads
//! its order. Writes go through the engine's update paths, changing only the
//! attributes they own, so the chain never writes a document back from this view.
//!
//! Reading goes straight from the stored text into these types: an order's attributes
//! that the chain does not read are skipped unparsed (no `Value` is built for them).
//! Stored orders and tasks are validated against their schemas on every write, so their
//! strings are strings and their references objects; what stays forgiving is what the
//! chain cannot rule out: an attribute missing or `null` reads as empty (`""`, `None`,
//! no items), and a state or action this code does not know reads as `None`.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
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
/// parent needs). Read by `read_order`, which names its attributes on the wire.
#[derive(Debug, Clone, Default)]
pub struct OrderHead {
    pub id: String,
    /// `href`, as stored.
    pub href: Option<Value>,
    pub state: Option<OrderState>,
    /// `relatedParty`, as stored (an array of party refs), copied onto what the order
    /// makes.
    pub related_party: Option<Value>,
    /// `externalReference`: how an order the chain made names its parent
    /// (`ordering::parents`).
    pub external_reference: Option<Value>,
    /// `cancellationDate`, as stored.
    pub cancellation_date: Option<Value>,
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
    /// The task in `doc` (a stored task), naming its order under `order_attribute`; read
    /// in place (no copy of the document), any part of another shape as empty.
    pub fn from_value(doc: &Value, order_attribute: &str) -> Self {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Rest {
            #[serde(default, deserialize_with = "named")]
            state: Option<TaskState>,
            #[serde(default, deserialize_with = "present")]
            cancellation_reason: Option<Value>,
        }
        let order = doc
            .get(order_attribute)
            .and_then(|order| Ref::deserialize(order).ok())
            .unwrap_or_default();
        let rest = Rest::deserialize(doc).ok();
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
    #[serde(default, deserialize_with = "text")]
    pub text: String,
}

/// A reference to another resource, by id.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Ref {
    #[serde(default, deserialize_with = "text")]
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
    #[serde(default, deserialize_with = "text")]
    pub id: String,
    #[serde(default, deserialize_with = "named")]
    pub action: Option<ItemAction>,
    #[serde(default, deserialize_with = "named")]
    pub state: Option<OrderState>,
    #[serde(default)]
    pub product: Option<ProductRef>,
    #[serde(default)]
    pub product_offering: Option<Ref>,
}

/// The product a product order item is about.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductRef {
    #[serde(default, deserialize_with = "text")]
    pub id: String,
    #[serde(default)]
    pub product_specification: Option<Ref>,
    /// `[{name, value}…]` as given (`plan::from_list` reads it).
    #[serde(default)]
    pub product_characteristic: Option<Value>,
}

/// A service order item (TMF641).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceItem {
    #[serde(default, deserialize_with = "text")]
    pub id: String,
    #[serde(default, deserialize_with = "named")]
    pub action: Option<ItemAction>,
    #[serde(default, deserialize_with = "named")]
    pub state: Option<OrderState>,
    #[serde(default)]
    pub service: Option<ServiceRef>,
}

/// The service a service order item is about.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRef {
    #[serde(default, deserialize_with = "text")]
    pub id: String,
    #[serde(default, deserialize_with = "text")]
    pub name: String,
    #[serde(default)]
    pub service_specification: Option<Ref>,
    #[serde(default)]
    pub service_characteristic: Option<Value>,
}

/// A resource order item (TMF652).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceItem {
    #[serde(default, deserialize_with = "text")]
    pub id: String,
    #[serde(default, deserialize_with = "named")]
    pub action: Option<ItemAction>,
    #[serde(default, deserialize_with = "named")]
    pub state: Option<OrderState>,
    #[serde(default)]
    pub resource_specification: Option<Ref>,
    #[serde(default)]
    pub resource: Option<ResourceRef>,
}

/// The resource a resource order item is about.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRef {
    #[serde(default, deserialize_with = "text")]
    pub id: String,
    #[serde(default, deserialize_with = "text")]
    pub name: String,
    #[serde(default)]
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
    /// The order in `doc` (an order the step holds as a `Value` already), read in place.
    pub fn from_value(doc: &Value) -> switchboard_engine::Result<Self> {
        Self::deserialize(doc).map_err(unreadable)
    }

    /// The order in `json` (a stored document's text).
    pub fn from_json(json: &str) -> switchboard_engine::Result<Self> {
        serde_json::from_str(json).map_err(unreadable)
    }

    /// The item with this id.
    pub fn item(&self, id: &str) -> Option<&I> {
        self.items.iter().find(|item| item.id() == id)
    }
}

impl OrderHead {
    /// The head of the order in `json` (a stored document's text).
    pub fn from_json(json: &str) -> switchboard_engine::Result<Self> {
        serde_json::from_str(json).map_err(unreadable)
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

/// A stored order that does not read as one is a fault of ours.
fn unreadable(error: impl fmt::Display) -> switchboard_engine::Error {
    switchboard_engine::Error::internal(format!("stored order unreadable: {error}"))
}

impl<'de, I: Item> Deserialize<'de> for Order<I> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(OrderVisitor {
            items: Some(I::ATTRIBUTE),
            item: PhantomData::<I>,
        })
    }
}

impl<'de> Deserialize<'de> for OrderHead {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let visitor = OrderVisitor {
            items: None,
            item: PhantomData::<IgnoredAny>,
        };
        Ok(deserializer.deserialize_map(visitor)?.head)
    }
}

/// Reads an order's head and, when `items` names their attribute, its items; every
/// other attribute is skipped unread.
struct OrderVisitor<I> {
    items: Option<&'static str>,
    item: PhantomData<I>,
}

impl<'de, I: Deserialize<'de>> Visitor<'de> for OrderVisitor<I> {
    type Value = Order<I>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an order")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Order<I>, A::Error> {
        let mut head = OrderHead::default();
        let mut items = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed(self.items))? {
            match key {
                Key::Id => head.id = map.next_value::<Option<String>>()?.unwrap_or_default(),
                Key::Href => head.href = Some(map.next_value()?),
                Key::State => head.state = map.next_value::<Name<OrderState>>()?.0,
                Key::RelatedParty => head.related_party = Some(map.next_value()?),
                Key::ExternalReference => head.external_reference = Some(map.next_value()?),
                Key::CancellationDate => head.cancellation_date = Some(map.next_value()?),
                Key::Note => head.note = map.next_value::<Option<_>>()?.unwrap_or_default(),
                Key::Items => items = map.next_value::<Option<_>>()?.unwrap_or_default(),
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Order { head, items })
    }
}

/// An order's attribute, as `OrderVisitor` reads it.
enum Key {
    Id,
    Href,
    State,
    RelatedParty,
    ExternalReference,
    CancellationDate,
    Note,
    Items,
    Other,
}

/// Reads an attribute name into a `Key`, the items' (if any) given.
struct KeySeed(Option<&'static str>);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = Key;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an attribute name")
    }

    fn visit_str<E>(self, name: &str) -> Result<Key, E> {
        Ok(match name {
            "id" => Key::Id,
            "href" => Key::Href,
            "state" => Key::State,
            "relatedParty" => Key::RelatedParty,
            "externalReference" => Key::ExternalReference,
            "cancellationDate" => Key::CancellationDate,
            "note" => Key::Note,
            _ if Some(name) == self.0 => Key::Items,
            _ => Key::Other,
        })
    }
}

/// What is named on the wire by one of a few strings (a state, an action).
trait Named: Sized {
    fn named(name: &str) -> Option<Self>;
}

impl Named for OrderState {
    fn named(name: &str) -> Option<Self> {
        OrderState::parse(name)
    }
}

impl Named for ItemAction {
    fn named(name: &str) -> Option<Self> {
        ItemAction::parse(name)
    }
}

impl Named for TaskState {
    fn named(name: &str) -> Option<Self> {
        TaskState::parse(name)
    }
}

/// A name read as text and then looked up: `null` and a name this code does not know
/// read as `None`.
struct Name<T>(Option<T>);

impl<'de, T: Named> Deserialize<'de> for Name<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_option(NameVisitor(PhantomData))
    }
}

struct NameVisitor<T>(PhantomData<T>);

impl<'de, T: Named> Visitor<'de> for NameVisitor<T> {
    type Value = Name<T>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a name")
    }

    fn visit_none<E>(self) -> Result<Name<T>, E> {
        Ok(Name(None))
    }

    fn visit_unit<E>(self) -> Result<Name<T>, E> {
        Ok(Name(None))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Name<T>, D::Error> {
        deserializer.deserialize_str(self)
    }

    fn visit_str<E>(self, name: &str) -> Result<Name<T>, E> {
        Ok(Name(T::named(name)))
    }
}

/// A state or an action (`Name`).
fn named<'de, D: Deserializer<'de>, T: Named>(deserializer: D) -> Result<Option<T>, D::Error> {
    Ok(Name::deserialize(deserializer)?.0)
}

/// A string, empty when `null`.
fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

/// An attribute kept as stored, `null` included (`Option`'s own reads `null` as none).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service_order(doc: Value) -> ServiceOrder {
        let text = doc.to_string();
        let from_text = ServiceOrder::from_json(&text).unwrap();
        let from_value = ServiceOrder::from_value(&doc).unwrap();
        assert_eq!(format!("{from_text:?}"), format!("{from_value:?}"));
        from_text
    }

    #[test]
    fn an_unknown_state_or_action_reads_as_none() {
        let order = service_order(json!({
            "id": "o1",
            "state": "somewhereElse",
            "serviceOrderItem": [{"id": "1", "action": "teleport", "state": null}],
        }));
        assert_eq!(order.id, "o1");
        assert_eq!(order.state, None);
        assert_eq!(order.items.len(), 1);
        assert_eq!(order.items[0].action, None);
        assert_eq!(order.items[0].state, None);
        let head = OrderHead::from_json(r#"{"state": "wherever"}"#).unwrap();
        assert_eq!(head.state, None);
        let task = CancelTask::from_value(&json!({"state": "someday"}), "serviceOrder");
        assert_eq!(task.state, None);
    }

    #[test]
    fn a_missing_or_null_attribute_reads_as_empty() {
        let order = service_order(json!({"state": "inProgress", "note": null}));
        assert_eq!(order.state, Some(OrderState::InProgress));
        assert!(order.items.is_empty());
        assert_eq!(order.id, "");
        assert!(order.note.is_empty());
        assert_eq!(order.href, None);
        assert_eq!(order.parties(), json!([]));
        let order = service_order(json!({"serviceOrderItem": null, "id": null}));
        assert!(order.items.is_empty());
        assert_eq!(order.id, "");
    }

    #[test]
    fn unread_attributes_of_any_shape_are_skipped() {
        let order = service_order(json!({
            "category": "x",
            "priority": 4,
            "requestedCompletionDate": null,
            "orderRelationship": [{"id": "a", "deep": [[1, {"b": [true]}]]}],
            "@baseType": {"not": "a string", "nested": {"x": [null, 1.5]}},
            "productOrderItem": [{"id": "of another kind"}],
            "href": null,
            "id": "o2",
            "relatedParty": [{"id": "p", "role": "customer"}],
            "externalReference": [{"name": "parent"}],
            "note": [{"text": "a reason", "author": "me"}, {"date": "today"}],
            "serviceOrderItem": [{
                "id": "1",
                "action": "add",
                "state": "acknowledged",
                "appointment": {"id": "x"},
                "service": {
                    "id": "s",
                    "name": "n",
                    "serviceSpecification": {"id": "spec", "version": "1"},
                    "serviceCharacteristic": [{"name": "speed", "value": 10}],
                    "place": [{"id": "home"}],
                },
            }],
        }));
        assert_eq!(order.id, "o2");
        assert_eq!(order.href, Some(Value::Null));
        assert_eq!(order.href(), Value::Null);
        assert_eq!(order.parties(), json!([{"id": "p", "role": "customer"}]));
        assert_eq!(order.external_reference, Some(json!([{"name": "parent"}])));
        assert_eq!(order.reasons(), " (a reason)");
        let item = order.item("1").unwrap();
        assert_eq!(item.action, Some(ItemAction::Add));
        assert_eq!(item.state, Some(OrderState::Acknowledged));
        let service = item.service.as_ref().unwrap();
        assert_eq!((service.id.as_str(), service.name.as_str()), ("s", "n"));
        assert_eq!(id_of(&service.service_specification), "spec");
        assert_eq!(
            service.service_characteristic,
            Some(json!([{"name": "speed", "value": 10}]))
        );
    }

    #[test]
    fn a_cancel_task_names_its_order_under_the_collection() {
        let task = CancelTask::from_value(
            &json!({
                "state": "acknowledged",
                "serviceOrder": {"id": "o3", "href": "/x"},
                "cancellationReason": "changed my mind",
            }),
            "serviceOrder",
        );
        assert_eq!(task.state, Some(TaskState::Acknowledged));
        assert_eq!(task.order.id, "o3");
        assert_eq!(task.cancellation_reason, Some(json!("changed my mind")));
    }
}
