//! The measurement ingest, Switchboard's extension of TMF657 (the specification leaves
//! breach detection to the implementation and has no measurement resource): one sample
//! of a service's parameter at a time, stored as a document of the `measurement`
//! collection. Each sample queues, in its own transaction, the evaluation of the window
//! it falls in for every objective in scope of its service (deduplicated by objective,
//! service and window, due just after the window's end; a late sample's per second it
//! came in), and of the window where missing data would run out of grace; the
//! evaluation reads the samples back.

use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_engine::{Error, HookFuture, Hooks, NewJob, Result, Scope, WriteKind};

use super::coverage::objectives_of;
use super::objective::{decimal, instant, Objective};

/// The job queue of window evaluations.
pub const EVALUATE_QUEUE: &str = "tmf657.evaluate";

/// The definitions the collection adds to the API's schema (ours, not the
/// specification's; see docs/wire-choices.md).
pub const DEFINITIONS: &str = r##"{
  "MeasuredServiceRef": {
    "type": "object",
    "required": ["id"],
    "properties": {
      "id": {"type": "string"},
      "href": {"type": "string"},
      "name": {"type": "string"},
      "@referredType": {"type": "string"}
    }
  },
  "Measurement": {
    "type": "object",
    "description": "One sample of a service's measured parameter, as the service quality rules evaluate it.",
    "properties": {
      "id": {"type": "string"},
      "href": {"type": "string"},
      "service": {"$ref": "#/definitions/MeasuredServiceRef"},
      "parameter": {"type": "string", "description": "The serviceLevelObjectiveParameter name it measures."},
      "observationTime": {"type": "string", "format": "date-time"},
      "value": {"type": "string", "description": "A decimal number, such as 99.95."},
      "@baseType": {"type": "string"},
      "@schemaLocation": {"type": "string", "format": "uri"},
      "@type": {"type": "string"}
    }
  },
  "Measurement_Create": {
    "type": "object",
    "required": ["service", "parameter", "observationTime", "value"],
    "properties": {
      "service": {"$ref": "#/definitions/MeasuredServiceRef"},
      "parameter": {"type": "string", "minLength": 1},
      "observationTime": {"type": "string", "format": "date-time"},
      "value": {"type": "string"},
      "@baseType": {"type": "string"},
      "@schemaLocation": {"type": "string", "format": "uri"},
      "@type": {"type": "string"}
    }
  }
}"##;

/// A sample as the rules read it (schema-valid).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    pub service: ServiceId,
    pub parameter: String,
    pub observation_time: String,
    pub value: String,
}

#[derive(Deserialize)]
pub struct ServiceId {
    pub id: String,
}

impl Sample {
    fn read(doc: &Value) -> Result<Sample> {
        Sample::deserialize(doc)
            .map_err(|error| Error::invalid_body(format!("the measurement is malformed: {error}")))
    }

    /// When it was observed, in ms since the epoch.
    fn at(&self) -> Result<i64> {
        instant("observationTime", Some(&self.observation_time))?
            .ok_or_else(|| Error::invalid_body("'observationTime' is missing"))
    }
}

/// How long after its window's end (or, for a window already over, after the second
/// its sample came in) an evaluation waits: a sample posted before then has committed,
/// so the evaluation reads it.
pub const SETTLE_MS: i64 = 1000;

/// What an evaluation job names: one objective's window for one service.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct WindowJob {
    pub objective: String,
    pub service: String,
    /// The window, `[start, end)` in ms since the epoch.
    pub start: i64,
    pub end: i64,
    /// The samples it reads are those posted before this (ms): the window's end, or
    /// the end of the second a late sample came in.
    pub due: i64,
}

impl WindowJob {
    /// Queued once per objective, service, window and due time (`SETTLE_MS` after it).
    /// One due time per window while it runs, so its samples make one evaluation; a
    /// window over already gets one per second of late samples, never one that may
    /// have read before they committed.
    pub fn queued(&self) -> NewJob {
        NewJob {
            queue: EVALUATE_QUEUE.to_string(),
            payload: json!(self),
            dedup_key: Some(format!(
                "{EVALUATE_QUEUE}:{}:{}:{}:{}",
                self.objective, self.service, self.start, self.due
            )),
            run_at: Some(self.due.saturating_add(SETTLE_MS)),
        }
    }
}

/// The evaluations one sample taken `at` and posted `now` starts: its own window's,
/// and (with `graceTimes`) that of the window where the objective would run out of
/// grace should no sample follow it.
pub fn evaluations(objective: &Objective, service: &str, at: i64, now: i64) -> Vec<WindowJob> {
    let Some(index) = objective.windows.index(at) else {
        return Vec::new();
    };
    let mut windows = vec![index];
    if let Some(grace) = objective.grace {
        windows.push(index.saturating_add(grace).saturating_add(1));
    }
    windows
        .into_iter()
        .map(|k| {
            let (start, end) = objective.windows.bounds(k);
            let this_second = now.saturating_add(999) / 1000 * 1000;
            WindowJob {
                objective: objective.id.clone(),
                service: service.to_string(),
                start,
                end,
                due: end.max(this_second),
            }
        })
        .collect()
}

pub(super) struct MeasurementHooks;

impl Hooks for MeasurementHooks {
    fn check(&self, kind: WriteKind, doc: &mut Value, _previous: Option<&Value>) -> Result<()> {
        if kind == WriteKind::Create {
            let sample = Sample::read(doc)?;
            decimal("value", Some(&sample.value))?;
            sample.at()?;
        }
        Ok(())
    }

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
            let sample = Sample::read(doc)?;
            let at = sample.at()?;
            let now = switchboard_store::now_millis();
            for objective in objectives_of(scope, &sample.service.id).await? {
                if objective.parameter != sample.parameter || !objective.valid_at(at) {
                    continue;
                }
                for window in evaluations(&objective, &sample.service.id, at, now) {
                    scope.enqueue(window.queued());
                }
            }
            Ok(())
        })
    }
}
