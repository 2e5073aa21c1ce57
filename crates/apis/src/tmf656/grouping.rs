//! `problemGroup` and `problemUngroup` (TMF656 v4 task resources): a parent problem
//! and its children, linked both ways (`underlyingProblem[]`, `parentProblem[]`), the
//! parent's impact and cause the union of its own and its children's. All of it is
//! written in the task's own transaction.
//!
//! What each child brought to its parent's unions is kept as internal state of the API
//! (`unions`), so that ungrouping takes away exactly what only the ungrouped children
//! brought: the parent keeps its own entries and those of the children still grouped.
//! The parent's write flows on up to its ancestors (`unions::flow_up`, its own hook).

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_engine::{Error, HookFuture, Hooks, Result, Scope, WriteKind};

use super::refs::{
    distinct, problem_ref, problem_refs, read_problem, task_body, ProblemRef, PROBLEM,
};
use super::status::{is_final, status};
use super::unions::{
    add_entry, count_of, delete_brought, entries, key, listed_services, push, read_brought, remove,
    set_unions, write_brought, COUNT, MAX_LEVELS, UNIONS,
};
use super::CODE;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Task {
    parent_problem: ProblemRef,
    child_problem: Vec<ProblemRef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Grouping {
    Group,
    Ungroup,
}

pub(super) struct GroupingHooks(pub(super) Grouping);

impl Hooks for GroupingHooks {
    fn transactional(&self) -> bool {
        true
    }

    fn within<'a>(
        &'a self,
        scope: &'a mut Scope,
        kind: WriteKind,
        doc: &'a mut Value,
        _previous: Option<&'a Value>,
    ) -> HookFuture<'a> {
        Box::pin(async move {
            if kind != WriteKind::Create {
                return Ok(());
            }
            let task: Task = task_body(doc)?;
            // Tasks on one parent take turns in this process (versions decide across
            // processes): they rewrite the same parent and its grouping state.
            scope
                .serialize_on(&format!("{CODE}:group:{}", task.parent_problem.id))
                .await;
            match self.0 {
                Grouping::Group => group(scope, &task).await,
                Grouping::Ungroup => ungroup(scope, &task).await,
            }
        })
    }
}

/// Refuses to group a problem that can move no more (409).
fn refuse_final(problem: &Value, attribute: &str) -> Result<()> {
    if is_final(status(problem)) {
        return Err(Error::conflict(format!(
            "'{attribute}' names serviceProblem '{}', which is {}: it cannot be grouped",
            problem
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            status(problem).unwrap_or_default()
        )));
    }
    Ok(())
}

/// `id` and the problems above it, following `parentProblem` up.
async fn ancestors(scope: &mut Scope, id: &str, problem: &Value) -> Result<BTreeSet<String>> {
    let mut seen = BTreeSet::from([id.to_string()]);
    let mut next = problem_refs(problem, "parentProblem");
    while let Some(current) = next.pop() {
        if !seen.insert(current.clone()) {
            continue;
        }
        if let Some(above) = scope.document(CODE, PROBLEM, &current).await? {
            next.extend(problem_refs(&above, "parentProblem"));
        }
    }
    Ok(seen)
}

/// The levels below `problem` (0 for one with no children), counted no further than
/// `limit` + 1 (enough to tell a group too deep).
async fn height(scope: &mut Scope, problem: &Value, limit: usize) -> Result<usize> {
    let mut level = problem_refs(problem, "underlyingProblem");
    let mut seen = BTreeSet::new();
    let mut height = 0;
    while !level.is_empty() && height <= limit {
        height += 1;
        let mut next = Vec::new();
        for id in level {
            if !seen.insert(id.clone()) {
                continue;
            }
            if let Some(below) = scope.document(CODE, PROBLEM, &id).await? {
                next.extend(problem_refs(&below, "underlyingProblem"));
            }
        }
        level = next;
    }
    Ok(height)
}

/// Groups the children under the parent: each child's `parentProblem` names the parent,
/// the parent's `underlyingProblem` lists them, and its unions take their entries.
/// Refused (409) for a final problem, a child already under another parent, a child
/// that is the parent or above it, and a tree that would be deeper than `MAX_LEVELS`.
async fn group(scope: &mut Scope, task: &Task) -> Result<()> {
    let parent_id = task.parent_problem.id.as_str();
    let parent = read_problem(scope, "parentProblem", parent_id).await?;
    refuse_final(&parent, "parentProblem")?;
    let above = ancestors(scope, parent_id, &parent).await?;
    let mut children = Vec::new();
    for child_id in distinct(&task.child_problem) {
        if above.contains(&child_id) {
            return Err(Error::conflict(format!(
                "grouping serviceProblem '{child_id}' under '{parent_id}' would close a \
                 cycle: it is that problem or one above it"
            )));
        }
        let child = read_problem(scope, "childProblem", &child_id).await?;
        refuse_final(&child, "childProblem")?;
        if let Some(other) = problem_refs(&child, "parentProblem")
            .into_iter()
            .find(|other| other != parent_id)
        {
            return Err(Error::conflict(format!(
                "serviceProblem '{child_id}' is grouped under '{other}'; ungroup it first"
            )));
        }
        let levels = above.len() + 1 + height(scope, &child, MAX_LEVELS - above.len()).await?;
        if levels > MAX_LEVELS {
            return Err(Error::conflict(format!(
                "grouping serviceProblem '{child_id}' under '{parent_id}' would make a group \
                 of {levels} levels; at most {MAX_LEVELS} are kept"
            )));
        }
        children.push((child_id, child));
    }
    let (read, mut brought) = read_brought(scope, parent_id).await?;
    if read.is_none() {
        brought.own_count = count_of(&parent);
    }
    let read_parent = parent.clone();
    let mut unions = parent.clone();
    for (child_id, child) in &children {
        for attribute in UNIONS {
            for entry in entries(child, attribute) {
                add_entry(&mut unions, &mut brought, attribute, entry, child_id);
            }
        }
    }
    let count = children
        .iter()
        .filter_map(|(_, child)| count_of(child))
        .chain(count_of(&parent))
        .chain(listed_services(&unions))
        .max();
    let parent_ref = problem_ref(scope, parent_id)?;
    let mut child_refs = Vec::new();
    for (child_id, _) in &children {
        scope
            .update(PROBLEM, child_id, |child| {
                child["parentProblem"] = json!([parent_ref]);
                Ok(())
            })
            .await?;
        child_refs.push((child_id.clone(), problem_ref(scope, child_id)?));
    }
    // The state first: the parent's own hook keeps what it says the children bring.
    write_brought(scope, parent_id, read.as_ref(), &brought).await?;
    scope
        .update(PROBLEM, parent_id, |parent| {
            unchanged_since_read(parent, &read_parent)?;
            let listed = problem_refs(parent, "underlyingProblem");
            for (child_id, child_ref) in &child_refs {
                if !listed.contains(child_id) {
                    push(parent, "underlyingProblem", child_ref.clone());
                }
            }
            for attribute in UNIONS {
                if let Some(union) = unions.get(attribute) {
                    parent[attribute] = union.clone();
                }
            }
            if let Some(count) = count {
                parent[COUNT] = json!(count);
            }
            Ok(())
        })
        .await
        .map(|_| ())
}

/// Ungroups the children from the parent: the links go both ways, and the parent's
/// unions lose what only those children brought. A child not grouped under that parent
/// is left as it is (the task is idempotent); problems in any status may be ungrouped.
async fn ungroup(scope: &mut Scope, task: &Task) -> Result<()> {
    let parent_id = task.parent_problem.id.as_str();
    let parent = read_problem(scope, "parentProblem", parent_id).await?;
    let listed = problem_refs(&parent, "underlyingProblem");
    let mut removed = Vec::new();
    for child_id in distinct(&task.child_problem) {
        let child = read_problem(scope, "childProblem", &child_id).await?;
        let linked = problem_refs(&child, "parentProblem")
            .iter()
            .any(|other| other == parent_id);
        if linked || listed.contains(&child_id) {
            removed.push(child_id);
        }
    }
    if removed.is_empty() {
        return Ok(());
    }
    for child_id in &removed {
        scope
            .update(PROBLEM, child_id, |child| {
                drop_refs(child, "parentProblem", &[parent_id.to_string()]);
                Ok(())
            })
            .await?;
    }
    let (read, mut brought) = read_brought(scope, parent_id).await?;
    let read_parent = parent.clone();
    let mut unions = parent.clone();
    for attribute in UNIONS {
        let Some(by_children) = brought.entries.get_mut(attribute) else {
            continue;
        };
        let mut gone = BTreeSet::new();
        by_children.retain(|key, children| {
            children.retain(|child| !removed.contains(child));
            if children.is_empty() {
                gone.insert(key.clone());
            }
            !children.is_empty()
        });
        if let Some(Value::Array(list)) = unions.get_mut(attribute) {
            list.retain(|entry| !gone.contains(&key(entry)));
        }
    }
    let remaining: Vec<String> = listed
        .into_iter()
        .filter(|child| !removed.contains(child))
        .collect();
    // Grouped by the server itself, with no record of it: the parent's count stays.
    let own = if read.is_some() {
        brought.own_count
    } else {
        count_of(&parent)
    };
    let mut counts = vec![own, listed_services(&unions)];
    for child_id in &remaining {
        if let Some(child) = scope.document(CODE, PROBLEM, child_id).await? {
            counts.push(count_of(&child));
        }
    }
    let count = counts.into_iter().flatten().max();
    // The state first: the parent's own hook keeps what it says the children bring.
    match (&read, remaining.is_empty()) {
        (Some(read), true) => delete_brought(scope, parent_id, read).await?,
        (None, true) => {}
        (_, false) => write_brought(scope, parent_id, read.as_ref(), &brought).await?,
    }
    scope
        .update(PROBLEM, parent_id, |parent| {
            unchanged_since_read(parent, &read_parent)?;
            drop_refs(parent, "underlyingProblem", &removed);
            set_unions(parent, &unions);
            match count {
                Some(count) => parent[COUNT] = json!(count),
                None => remove(parent, COUNT),
            }
            Ok(())
        })
        .await
        .map(|_| ())
}

/// The unions are computed from the parent as first read; should a write committed
/// since (the task before this one, which handed over the parent's key lock at submit)
/// have changed it, this write is run again on the new parent rather than overwrite it.
fn unchanged_since_read(parent: &Value, read: &Value) -> Result<()> {
    if parent == read {
        Ok(())
    } else {
        Err(switchboard_store::StoreError::VersionConflict.into())
    }
}

/// Removes the refs to `ids` from the array `attribute`, and the attribute once empty.
fn drop_refs(doc: &mut Value, attribute: &str, ids: &[String]) {
    if let Some(Value::Array(list)) = doc.get_mut(attribute) {
        list.retain(|entry| {
            !entry
                .get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| ids.iter().any(|gone| gone == id))
        });
        if list.is_empty() {
            remove(doc, attribute);
        }
    }
}
