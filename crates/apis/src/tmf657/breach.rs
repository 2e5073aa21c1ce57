//! What a window's decision does to TMF656: a violation opens one service problem per
//! objective and service (or marks the open one with the later window), a window back
//! in conformance resolves it. Tickets are not ours: the assurance correlation opens
//! them for a problem naming `affectedService`, and resolves them with it.
//!
//! Idempotent without state of its own: the problem carries the last window that
//! violated (and, once resolved, the window that conformed) as characteristics, so a
//! decision for a window already decided, or older than one decided, changes nothing;
//! a new problem's id is derived from (objective, service, breach sequence), the
//! sequence being how many problems the pair had, so two runs of one breach make one.

use rust_decimal::Decimal;
use serde_json::{json, Value};
use switchboard_engine::{Engine, Error, ErrorKind, ResourceRef, Result};

use super::coverage::form_query;
use super::objective::{format_ms, instant, Objective};
use crate::ids::derived_id;

/// The party that originates the problems of breached objectives: Switchboard itself.
pub const SYSTEM_PARTY: &str = "switchboard";
/// The problem's characteristics that record the windows decided.
pub const VIOLATED_WINDOW: &str = "sloViolatedWindowEnd";
pub const CONFORMANT_WINDOW: &str = "sloConformantWindowEnd";
pub const MEASURED_VALUE: &str = "sloMeasuredValue";
/// Problems made of one breach run at most this many sequence numbers past the count
/// (some deleted by an operator meanwhile).
const SEQUENCE_TRIES: usize = 16;
/// The priority of a breach's problem (TMF656: 1 most urgent to 10).
const PRIORITY: i64 = 3;

/// A violation of `objective` by `service` over `window` (`[start, end)`, ms).
pub struct Breach<'a> {
    pub objective: &'a Objective,
    pub service: &'a str,
    pub window: (i64, i64),
    pub why: String,
    pub value: Option<Decimal>,
}

fn problems_at(engine: &Engine) -> Result<ResourceRef> {
    engine.served("TMF656", "serviceProblem")
}

/// The problems ever opened for `objective`'s breaches by `service`.
async fn problems_of(engine: &Engine, objective: &str, service: &str) -> Result<Vec<Value>> {
    let query = form_query(&[
        ("firstAlert.id", objective),
        ("firstAlert.@referredType", "ServiceLevelObjective"),
        ("affectedService.id", service),
    ]);
    let listed = engine
        .list(problems_at(engine)?, &format!("{query}&limit=1000"))
        .await?;
    serde_json::from_str(&listed.json)
        .map_err(|error| Error::internal(format!("problems of an objective: {error}")))
}

fn is_open(problem: &Value) -> bool {
    crate::tmf656::is_open(problem.get("status").and_then(Value::as_str))
}

/// The window end a problem's characteristic `name` records (ms).
fn mark(problem: &Value, name: &str) -> Option<i64> {
    problem
        .get("characteristic")?
        .as_array()?
        .iter()
        .find(|entry| entry.get("name").and_then(Value::as_str) == Some(name))
        .and_then(|entry| entry.get("value")?.as_str().map(str::to_string))
        .and_then(|text| instant(name, Some(&text)).ok().flatten())
}

/// Sets characteristic `name` to `value`, replacing one of that name.
fn set_mark(problem: &mut Value, name: &str, value: Value) {
    let entry = json!({"name": name, "value": value});
    match problem.get_mut("characteristic") {
        Some(Value::Array(entries)) => {
            entries.retain(|entry| entry.get("name").and_then(Value::as_str) != Some(name));
            entries.push(entry);
        }
        _ => problem["characteristic"] = json!([entry]),
    }
}

fn measured(value: Option<Decimal>) -> Value {
    value.map_or(Value::Null, |value| json!(value.to_string()))
}

/// The new problem of a breach.
fn problem_body(breach: &Breach) -> Value {
    let objective = breach.objective;
    let (start, end) = breach.window;
    let mut body = json!({
        "name": format!("Service level breach: {}", objective.name),
        "category": "system.originated",
        "priority": PRIORITY,
        "reason": format!("Service level objective '{}' violated", objective.name),
        "description": format!(
            "Service {} breached service level objective '{}' in the window from {} to {}: {}.",
            breach.service, objective.name, format_ms(start), format_ms(end), breach.why
        ),
        "originatorParty": {
            "id": SYSTEM_PARTY,
            "name": "Switchboard",
            "role": "originator",
            "@referredType": "Organization",
        },
        "originatingSystem": "Switchboard",
        "affectedService": [{"id": breach.service, "@referredType": "Service"}],
        "firstAlert": {
            "id": objective.id,
            "name": objective.name,
            "role": "thresholdCrossing",
            "@referredType": "ServiceLevelObjective",
        },
    });
    set_mark(&mut body, VIOLATED_WINDOW, json!(format_ms(end)));
    set_mark(&mut body, MEASURED_VALUE, measured(breach.value));
    body
}

/// A violation: opens the pair's problem, or marks the open one with this window.
pub async fn open(engine: &Engine, breach: &Breach<'_>) -> Result<()> {
    let objective = &breach.objective.id;
    let end = breach.window.1;
    let problems = problems_of(engine, objective, breach.service).await?;
    // Decided already by a later window, or found conformant by this one or a later
    // one (a late sample). This window again (more samples) updates the value.
    let decided = problems.iter().any(|problem| {
        mark(problem, VIOLATED_WINDOW).is_some_and(|at| at > end)
            || mark(problem, CONFORMANT_WINDOW).is_some_and(|at| at >= end)
    });
    if decided {
        return Ok(());
    }
    if let Some(id) = problems
        .iter()
        .find(|p| is_open(p))
        .and_then(|p| p.get("id"))
    {
        return record(engine, id.as_str().unwrap_or_default(), breach).await;
    }
    let at = problems_at(engine)?;
    for sequence in problems.len()..problems.len() + SEQUENCE_TRIES {
        let id = derived_id(objective, breach.service, &format!("breach {sequence}"));
        let (problem, created) = engine.ensure(at, &id, problem_body(breach)).await?;
        if created {
            return Ok(());
        }
        // Made by another run of this breach: the same problem.
        if is_open(&problem) {
            return record(engine, &id, breach).await;
        }
    }
    Err(Error::internal(format!(
        "no free breach sequence for objective {objective} and service {}",
        breach.service
    )))
}

/// Marks the open problem with a later violated window (or this window's value, now
/// that more samples came in).
async fn record(engine: &Engine, id: &str, breach: &Breach<'_>) -> Result<()> {
    let end = breach.window.1;
    let outcome = engine
        .update_internal(problems_at(engine)?, id, |problem| {
            if mark(problem, VIOLATED_WINDOW).is_some_and(|at| at > end) {
                return Ok(());
            }
            set_mark(problem, VIOLATED_WINDOW, json!(format_ms(end)));
            set_mark(problem, MEASURED_VALUE, measured(breach.value));
            Ok(())
        })
        .await;
    settled(outcome.map(|_| ()), id)
}

/// A window back in conformance: resolves the pair's open problems that no later
/// window violated.
pub async fn resolve(
    engine: &Engine,
    objective: &Objective,
    service: &str,
    window: (i64, i64),
) -> Result<()> {
    let end = window.1;
    let at = problems_at(engine)?;
    for problem in problems_of(engine, &objective.id, service).await? {
        let later = mark(&problem, VIOLATED_WINDOW).is_some_and(|at| at >= end);
        let Some(id) = problem.get("id").and_then(Value::as_str) else {
            continue;
        };
        if !is_open(&problem) || later {
            continue;
        }
        let reason = format!(
            "Service level objective '{}' met again in the window from {} to {}",
            objective.name,
            format_ms(window.0),
            format_ms(end)
        );
        let outcome = engine
            .update_internal(at, id, |problem| {
                let later = mark(problem, VIOLATED_WINDOW).is_some_and(|at| at >= end);
                if !is_open(problem) || later {
                    return Ok(());
                }
                problem["status"] = json!("resolved");
                problem["statusChangeReason"] = json!(reason);
                set_mark(problem, CONFORMANT_WINDOW, json!(format_ms(end)));
                Ok(())
            })
            .await;
        settled(outcome.map(|_| ()), id)?;
    }
    Ok(())
}

/// A problem changed by someone else into what ours cannot follow (deleted, or moved
/// where its status machine allows no step) is left as it is: retrying would not help.
fn settled(outcome: Result<()>, id: &str) -> Result<()> {
    match outcome {
        Err(error)
            if !error.concurrent
                && matches!(
                    error.kind,
                    ErrorKind::NotFound | ErrorKind::Conflict | ErrorKind::BadRequest
                ) =>
        {
            tracing::warn!(%error, problem = id, "service level breach not recorded");
            Ok(())
        }
        outcome => outcome,
    }
}
