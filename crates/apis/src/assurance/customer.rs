//! A customer's own ticket about a product (TMF621 `relatedEntity` naming a Product):
//! the inventory is walked down from the product (bundle members, `realizingService`,
//! `realizingResource`, `supportingService`, `supportingResource`: the links the
//! documents hold) and the ticket is linked to every open problem that names one of
//! those services or resources: the problem's `troubleTicket[]` and the ticket's
//! `relatedEntity` (role `serviceProblem`), in one transaction. The ticket is left open:
//! a clear resolves only the tickets correlation opened.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{json, Value};
use switchboard_engine::{Engine, JobFuture, JobHandler, Result};

use super::model::{Downward, Problem, Ticket};
use super::work::{failed, open_problems, payload_id, read, retrying, Shared};
use crate::{tmf621, tmf637, tmf638, tmf656};

/// Inventory entries a downward walk reads at most.
const MAX_DOWNWARD: usize = 10_000;

pub struct Links(pub Arc<Shared>);

impl JobHandler for Links {
    fn run<'a>(&'a self, engine: &'a Engine, payload: &'a Value) -> JobFuture<'a> {
        Box::pin(async move {
            let id = payload_id(payload, "ticket")?;
            link(engine, &self.0, id).await.map_err(failed)
        })
    }
}

async fn link(engine: &Engine, shared: &Shared, id: &str) -> Result<()> {
    let Some(doc) = engine.document(tmf621::CODE, "troubleTicket", id).await? else {
        return Ok(());
    };
    let ticket: Ticket = read(doc)?;
    // A ticket already ended (cancelled at once) is a record: nothing to link.
    if ticket.system_opened() || tmf621::is_final_status(ticket.status.as_deref()) {
        return Ok(());
    }
    let (services, resources) = below(engine, ticket.products()).await?;
    let mut problems: Vec<Problem> = Vec::new();
    for (attribute, ids) in [
        ("affectedService", &services),
        ("affectedResource", &resources),
        ("rootCauseResource", &resources),
    ] {
        if ids.is_empty() {
            continue;
        }
        for problem in open_problems(engine, attribute, ids).await? {
            if !problems.iter().any(|seen| seen.id == problem.id) {
                problems.push(problem);
            }
        }
    }
    let problem_at = engine.served(tmf656::CODE, "serviceProblem")?;
    let ticket_at = engine.served(tmf621::CODE, "troubleTicket")?;
    let ticket_ref = ticket.as_ref_value();
    for problem in problems {
        let _serial = shared.lock(&format!("problem {}", problem.id)).await;
        let entity = problem.as_related_entity();
        let (ticket_ref, entity, problem_id) = (&ticket_ref, &entity, problem.id.as_str());
        retrying(|read_first| async move {
            let mut together = engine.together(read_first).await?;
            together
                .update(problem_at, problem_id, |doc| {
                    add_once(doc, "troubleTicket", ticket_ref);
                    Ok(())
                })
                .await?;
            together
                .update(ticket_at, id, |doc| {
                    add_once(doc, "relatedEntity", entity);
                    Ok(())
                })
                .await?;
            together.commit().await
        })
        .await?;
    }
    Ok(())
}

/// The services and resources below `products`, following the documents' downward
/// links (ended entries too: a problem may name them).
async fn below(
    engine: &Engine,
    products: impl Iterator<Item = &str>,
) -> Result<(Vec<String>, Vec<String>)> {
    let mut product_queue: Vec<String> = products.map(str::to_string).collect();
    let mut seen_products: HashSet<String> = product_queue.iter().cloned().collect();
    let mut services: Vec<String> = Vec::new();
    let mut seen_services: HashSet<String> = HashSet::new();
    let mut resources: HashSet<String> = HashSet::new();
    let mut read_count = 0usize;
    while let Some(product) = product_queue.pop() {
        read_count += 1;
        if read_count > MAX_DOWNWARD {
            break;
        }
        let Some(doc) = engine.document(tmf637::CODE, "product", &product).await? else {
            continue;
        };
        let links: Downward = read(doc)?;
        for member in links.product {
            if seen_products.insert(member.id.clone()) {
                product_queue.push(member.id);
            }
        }
        for service in links.realizing_service {
            if seen_services.insert(service.id.clone()) {
                services.push(service.id);
            }
        }
        resources.extend(links.realizing_resource.into_iter().map(|r| r.id));
    }
    let mut next = 0;
    while next < services.len() && read_count <= MAX_DOWNWARD {
        let service = services[next].clone();
        next += 1;
        read_count += 1;
        let Some(doc) = engine.document(tmf638::CODE, "service", &service).await? else {
            continue;
        };
        let links: Downward = read(doc)?;
        for supporting in links.supporting_service {
            if seen_services.insert(supporting.id.clone()) {
                services.push(supporting.id);
            }
        }
        resources.extend(links.supporting_resource.into_iter().map(|r| r.id));
    }
    let mut resources: Vec<String> = resources.into_iter().collect();
    resources.sort();
    Ok((services, resources))
}

/// Adds `entry` to the list `key` of `doc` unless an entry with its `id` is there.
fn add_once(doc: &mut Value, key: &str, entry: &Value) {
    if !doc[key].is_array() {
        doc[key] = json!([]);
    }
    if let Some(list) = doc[key].as_array_mut() {
        if !list.iter().any(|existing| existing["id"] == entry["id"]) {
            list.push(entry.clone());
        }
    }
}
