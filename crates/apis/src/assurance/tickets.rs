//! A problem's impact and its customers' tickets (TMF656 `affected*`,
//! `impactImportanceFactor`, `troubleTicket`; TMF621 TroubleTicket), and the resolution
//! of the tickets it opened once it is resolved.
//!
//! The impact is the inventory walk (`crate::impact::walk`) from the resources and
//! services the problem names. Each affected customer (a product party in a customer
//! role, `Settings::assurance`) gets one ticket under an id derived from (problem,
//! party), so a job run again, after a restart or by a second process, opens none
//! twice. Tickets are written `TICKETS_PER_COMMIT` to a transaction; the problem, with
//! its impact and every ticket linked, last (a crash before leaves the tickets for the
//! re-run to find and link).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde_json::{json, Value};
use switchboard_engine::{Engine, JobFuture, JobHandler, Result};

use super::faults::place_ref;
use super::model::{is_open, reference_to, Problem, Ticket, SYSTEM_CHANNEL};
use super::score;
use super::work::{failed, payload_id, read, retrying, Shared};
use crate::ids::derived_id;
use crate::impact::{walk, Node};
use crate::{tmf621, tmf638, tmf639, tmf656};

/// Tickets written per transaction.
const TICKETS_PER_COMMIT: usize = 500;

pub struct Impacts(pub Arc<Shared>);

impl JobHandler for Impacts {
    fn run<'a>(&'a self, engine: &'a Engine, payload: &'a Value) -> JobFuture<'a> {
        Box::pin(async move {
            let id = payload_id(payload, "problem")?;
            impact(engine, &self.0, id).await.map_err(failed)
        })
    }
}

pub struct Resolutions;

impl JobHandler for Resolutions {
    fn run<'a>(&'a self, engine: &'a Engine, payload: &'a Value) -> JobFuture<'a> {
        Box::pin(async move {
            let id = payload_id(payload, "problem")?;
            resolve_tickets(engine, id).await.map_err(failed)
        })
    }
}

/// One affected customer: their party entry and the affected products they hold.
struct Customer {
    party: Value,
    products: Vec<String>,
}

async fn impact(engine: &Engine, shared: &Shared, id: &str) -> Result<()> {
    let Some(doc) = engine.document(tmf656::CODE, "serviceProblem", id).await? else {
        return Ok(());
    };
    let problem: Problem = read(doc)?;
    if !problem.is_open() {
        return Ok(());
    }
    let mut starts: Vec<(Node, String)> = Vec::new();
    for reference in problem
        .affected_resource
        .iter()
        .chain(&problem.root_cause_resource)
    {
        starts.push((Node::Resource, reference.id.clone()));
    }
    for reference in &problem.affected_service {
        starts.push((Node::Service, reference.id.clone()));
    }
    starts.sort_by(|a, b| a.1.cmp(&b.1));
    starts.dedup();
    if starts.is_empty() {
        return Ok(());
    }
    let found = walk(engine, &starts).await?;

    // What the problem names and what relies on it.
    let mut services: Vec<Value> = Vec::new();
    let mut places: Vec<Value> = Vec::new();
    for (node, start) in &starts {
        let (api, collection) = match node {
            Node::Resource => (tmf639::CODE, "resource"),
            _ => (tmf638::CODE, "service"),
        };
        if let Some(doc) = engine.document(api, collection, start).await? {
            if *node == Node::Service {
                services.push(doc.clone());
            }
            places.extend(places_of(&doc));
        }
    }
    for reached in found.resources.iter() {
        places.extend(places_of(&reached.doc));
    }
    for reached in &found.services {
        places.extend(places_of(&reached.doc));
        services.push(reached.doc.clone());
    }
    let customers = customers(shared, &found.parties);
    let importance = score::importance(services.len(), customers.len(), found.truncated);
    let products: HashMap<&str, &Value> = found
        .products
        .iter()
        .map(|reached| (reached.id(), &reached.doc))
        .collect();

    // The tickets, a batch per transaction.
    let ticket_at = engine.served(tmf621::CODE, "troubleTicket")?;
    let mut links: Vec<Value> = Vec::with_capacity(customers.len());
    let bodies: Vec<(String, Value)> = customers
        .iter()
        .map(|customer| {
            let ticket_id = derived_id(id, &party_id(&customer.party), "troubleTicket");
            let body = ticket(&problem, customer, &products, score::severity(importance));
            (ticket_id, body)
        })
        .collect();
    for batch in bodies.chunks(TICKETS_PER_COMMIT) {
        retrying(|read_first| async move {
            let mut together = engine.together(read_first).await?;
            for (ticket_id, body) in batch {
                together.ensure(ticket_at, ticket_id, body.clone()).await?;
            }
            together.commit().await
        })
        .await?;
        for (ticket_id, _) in batch {
            links.push(json!({"id": ticket_id, "@referredType": "TroubleTicket"}));
        }
    }

    // The problem, with its impact and its tickets.
    let affected: Vec<Value> = services
        .iter()
        .map(|doc| reference_to(doc, "Service"))
        .collect();
    // A problem naming nothing this inventory holds is left as it was posted: no
    // impact is known, and nothing the server writes would say more.
    if affected.is_empty() && places.is_empty() && links.is_empty() && !found.truncated {
        return Ok(());
    }
    let raised_here = problem.raised_here();
    let _serial = shared.lock(&format!("problem {id}")).await;
    let at = engine.served(tmf656::CODE, "serviceProblem")?;
    let stored = engine
        .update_internal(at, id, |doc| {
            merge_by_id(doc, "affectedService", &affected);
            // Never fewer than the problem already counted (its own figure, or what
            // grouping took from its children).
            let listed = doc["affectedService"].as_array().map_or(0, Vec::len);
            let counted = doc["affectedNumberOfServices"].as_u64().unwrap_or(0);
            doc["affectedNumberOfServices"] = json!(counted.max(listed as u64));
            merge_by_id(doc, "affectedLocation", &places);
            doc["impactImportanceFactor"] = json!(importance.to_string());
            if raised_here {
                doc["priority"] = json!(score::priority(importance));
            }
            merge_by_id(doc, "troubleTicket", &links);
            Ok(())
        })
        .await?;
    drop(_serial);
    // Resolved while its tickets were being opened: the resolution found none linked.
    let now: Problem = serde_json::from_str(&stored.json)
        .map_err(|error| switchboard_engine::Error::internal(error.to_string()))?;
    if now.status.as_deref() == Some("resolved") {
        resolve_tickets(engine, id).await?;
    }
    Ok(())
}

/// The affected parties in a customer role, one per party id (a party holding several
/// products, or in several customer roles, gets one ticket).
fn customers(shared: &Shared, parties: &[crate::impact::AffectedParty]) -> Vec<Customer> {
    let mut by_id: BTreeMap<String, Customer> = BTreeMap::new();
    for affected in parties {
        if affected.id().is_empty() || !shared.settings.is_customer_role(affected.role()) {
            continue;
        }
        let entry = by_id
            .entry(affected.id().to_string())
            .or_insert_with(|| Customer {
                party: affected.party.clone(),
                products: Vec::new(),
            });
        for product in &affected.products {
            if !entry.products.contains(product) {
                entry.products.push(product.clone());
            }
        }
    }
    by_id.into_values().collect()
}

fn party_id(party: &Value) -> String {
    crate::doc::text(party, "id")
}

/// The ticket opened for `customer` about `problem`.
fn ticket(
    problem: &Problem,
    customer: &Customer,
    products: &HashMap<&str, &Value>,
    severity: &str,
) -> Value {
    let mut party = json!({
        "id": party_id(&customer.party),
        "role": "customer",
        "@referredType": customer
            .party
            .get("@referredType")
            .and_then(Value::as_str)
            .unwrap_or("Individual"),
    });
    for key in ["href", "name"] {
        if let Some(value) = customer.party.get(key) {
            party[key] = value.clone();
        }
    }
    let mut entities: Vec<Value> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for product_id in &customer.products {
        let mut entity =
            json!({"id": product_id, "role": "affectedProduct", "@referredType": "Product"});
        if let Some(doc) = products.get(product_id.as_str()) {
            for key in ["href", "name"] {
                if let Some(value) = doc.get(key) {
                    entity[key] = value.clone();
                }
            }
            names.push(crate::doc::text(doc, "name"));
        }
        entities.push(entity);
    }
    entities.push(problem.as_related_entity());
    names.retain(|name| !name.is_empty());
    let what = if names.is_empty() {
        "your service".to_string()
    } else {
        names.join(", ")
    };
    json!({
        "name": format!("Service affected: {what}"),
        "description": format!(
            "A network fault affects {what}; it is being worked on under service problem {}.",
            problem.id
        ),
        "ticketType": "incident",
        "severity": severity,
        "channel": {"id": SYSTEM_CHANNEL, "name": "Switchboard assurance", "@referredType": "Channel"},
        "relatedParty": [party],
        "relatedEntity": entities,
    })
}

/// The places of an inventory entry: a resource's `place`, a service's `place[]`.
fn places_of(doc: &Value) -> Vec<Value> {
    match doc.get("place") {
        Some(Value::Array(list)) => list
            .iter()
            .filter(|p| p.get("id").is_some())
            .map(place_ref)
            .collect(),
        Some(place) if place.get("id").is_some() => vec![place_ref(place)],
        _ => Vec::new(),
    }
}

/// Adds to the list `key` of `doc` the entries of `add` whose `id` it lacks.
fn merge_by_id(doc: &mut Value, key: &str, add: &[Value]) {
    if add.is_empty() {
        return;
    }
    if !doc[key].is_array() {
        doc[key] = json!([]);
    }
    let Some(list) = doc[key].as_array_mut() else {
        return;
    };
    let mut ids: HashSet<String> = list
        .iter()
        .map(|entry| crate::doc::text(entry, "id"))
        .collect();
    for entry in add {
        if ids.insert(crate::doc::text(entry, "id")) {
            list.push(entry.clone());
        }
    }
}

/// Resolves, with a note, the open tickets a resolved problem opened; a customer's own
/// ticket linked to it is left to the people working it.
async fn resolve_tickets(engine: &Engine, id: &str) -> Result<()> {
    let Some(doc) = engine.document(tmf656::CODE, "serviceProblem", id).await? else {
        return Ok(());
    };
    let problem: Problem = read(doc)?;
    if problem.status.as_deref() != Some("resolved") {
        return Ok(());
    }
    let mut open: Vec<String> = Vec::new();
    for reference in &problem.trouble_ticket {
        let Some(doc) = engine
            .document(tmf621::CODE, "troubleTicket", &reference.id)
            .await?
        else {
            continue;
        };
        let ticket: Ticket = read(doc)?;
        if ticket.system_opened() && is_open(ticket.status.as_deref()) {
            open.push(ticket.id);
        }
    }
    let at = engine.served(tmf621::CODE, "troubleTicket")?;
    let note = format!("Resolved: service problem {id}, which opened this ticket, is resolved.");
    for batch in open.chunks(TICKETS_PER_COMMIT) {
        let note = &note;
        retrying(|read_first| async move {
            let mut together = engine.together(read_first).await?;
            for ticket_id in batch {
                together
                    .update(at, ticket_id, |doc| {
                        if !is_open(doc.get("status").and_then(Value::as_str)) {
                            return Ok(());
                        }
                        doc["status"] = json!("resolved");
                        doc["statusChangeReason"] = json!("service problem resolved");
                        if !doc["note"].is_array() {
                            doc["note"] = json!([]);
                        }
                        if let Some(notes) = doc["note"].as_array_mut() {
                            notes.push(json!({
                                "author": "Switchboard assurance",
                                "date": switchboard_engine::now_rfc3339(),
                                "text": note,
                            }));
                        }
                        Ok(())
                    })
                    .await?;
            }
            together.commit().await
        })
        .await?;
    }
    Ok(())
}
