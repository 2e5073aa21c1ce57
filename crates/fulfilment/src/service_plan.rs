//! What a service order item becomes: for an `add`, the CFS's values from the catalog
//! and its RFSs with their resources (`add_plan`); for a `modify` or `delete`, the live
//! CFS as the inventory holds it, with its RFSs, their resources and the new values of
//! each (`live`).

use serde_json::Value;
use switchboard_apis::catalog_rules::Entity;
use switchboard_apis::{text, tmf638};
use switchboard_engine::{Engine, Result};

use crate::model::{id_of, ServiceItem};
use crate::orders::referred;
use crate::plan::{self, Catalog, Context, RfsPlan, Values};

/// What an `add` item becomes: the CFS's values and its RFSs with their resources.
pub struct AddPlan {
    pub cfs_spec: Value,
    pub values: Values,
    pub rfs: Vec<RfsPlan>,
}

pub async fn add_plan(
    engine: &Engine,
    item: &ServiceItem,
    context: &Context,
) -> Result<std::result::Result<AddPlan, String>> {
    let service = item.service.as_ref();
    let spec_id = service
        .map(|service| id_of(&service.service_specification))
        .unwrap_or_default();
    let catalog = Catalog::new(engine);
    let cfs_spec = match catalog.read(Entity::ServiceSpecification, &spec_id).await? {
        Ok(spec) => spec,
        Err(message) => return Ok(Err(message)),
    };
    let given = plan::from_list(service.and_then(|s| s.service_characteristic.as_ref()));
    let values = plan::values(Entity::ServiceSpecification, &cfs_spec, context, &given);
    let inner = context
        .clone()
        .with(Entity::ServiceSpecification, &spec_id, &values);
    let rfs = match catalog.rfs_of(&cfs_spec, &inner).await? {
        Ok(rfs) => rfs,
        Err(message) => return Ok(Err(message)),
    };
    Ok(Ok(AddPlan {
        cfs_spec,
        values,
        rfs,
    }))
}

/// A live CFS as the inventory holds it, with new values for it, its RFSs and their
/// resources (a `modify`), or the current ones (a `delete`).
pub struct Live {
    pub cfs: Value,
    pub values: Values,
    pub rfs: Vec<LiveRfs>,
}

/// A live RFS with its new values, and its resources with theirs.
pub type LiveRfs = (Value, Values, Vec<(Value, Values)>);

pub async fn live(
    engine: &Engine,
    item: &ServiceItem,
    context: &Context,
) -> Result<std::result::Result<Live, String>> {
    let service = item.service.as_ref();
    let target = service.map(|s| s.id.clone()).unwrap_or_default();
    let Some(cfs) = engine.document(tmf638::CODE, "service", &target).await? else {
        return Ok(Err(format!("service '{target}' is not in the inventory")));
    };
    let catalog = Catalog::new(engine);
    let given = plan::from_list(service.and_then(|s| s.service_characteristic.as_ref()));
    let (cfs_spec_id, values) =
        current_values(&catalog, &cfs, Entity::ServiceSpecification, given, context).await?;
    let cfs_context = context
        .clone()
        .with(Entity::ServiceSpecification, &cfs_spec_id, &values);
    let mut rfs = Vec::new();
    // An entry gone from the inventory is skipped: nothing to change or take down.
    for rfs_doc in referred(engine, &cfs, tmf638::SUPPORTING_SERVICE).await? {
        let (rfs_spec_id, rfs_values) = current_values(
            &catalog,
            &rfs_doc,
            Entity::ServiceSpecification,
            Values::new(),
            &cfs_context,
        )
        .await?;
        let rfs_context =
            cfs_context
                .clone()
                .with(Entity::ServiceSpecification, &rfs_spec_id, &rfs_values);
        let mut resources = Vec::new();
        for resource in referred(engine, &rfs_doc, tmf638::SUPPORTING_RESOURCE).await? {
            let (_, resource_values) = current_values(
                &catalog,
                &resource,
                Entity::ResourceSpecification,
                Values::new(),
                &rfs_context,
            )
            .await?;
            resources.push((resource, resource_values));
        }
        rfs.push((rfs_doc, rfs_values, resources));
    }
    Ok(Ok(Live { cfs, values, rfs }))
}

/// An inventory entry's values after a change: what it holds, then what its
/// specification derives from `context`, then `given`; and its specification's id.
async fn current_values(
    catalog: &Catalog<'_>,
    doc: &Value,
    entity: Entity,
    given: Values,
    context: &Context,
) -> Result<(String, Values)> {
    let (list, spec_key) = match entity {
        Entity::ResourceSpecification => ("resourceCharacteristic", "resourceSpecification"),
        _ => ("serviceCharacteristic", "serviceSpecification"),
    };
    let mut values = plan::from_list(doc.get(list));
    let spec_id = doc
        .get(spec_key)
        .map(|spec| text(spec, "id"))
        .unwrap_or_default();
    if let Ok(spec) = catalog.read(entity, &spec_id).await? {
        values.extend(plan::mapped(entity, &spec, context));
    }
    values.extend(given);
    Ok((spec_id, values))
}
