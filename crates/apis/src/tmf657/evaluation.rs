//! The evaluation of one objective's window for one service (a job, due at the window's
//! end): the window's samples and those of the windows before it that tolerance and
//! grace look back over, read back from the measurement collection, make a verdict per
//! window; the last window's decides whether a breach opens (or stays open) or ends.
//! It keeps no state of its own: run twice, or after a restart, it reads the same
//! samples and the same problems and decides the same (see `breach`).

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use switchboard_engine::{Engine, JobFuture, JobHandler, Result};

use super::breach::{self, Breach};
use super::coverage::form_query;
use super::measurement::{Sample, WindowJob};
use super::objective::{decimal, format_ms, instant, windows_in, Objective};
use super::CODE;
use crate::steps::settle;

/// What one window's samples say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No sample.
    Empty,
    /// The aggregate meets the target.
    Conformant(Decimal),
    /// Off target, within tolerance.
    Tolerated(Decimal),
    /// Off target and tolerance (or not computable).
    Violated(Option<Decimal>),
}

/// What the last window decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A violation: why, and the window's value if it had one.
    Breach(String, Option<Decimal>),
    /// A full window back in conformance.
    Recovered,
    /// Neither (within tolerance or grace still).
    Undecided,
}

/// The verdict on one window's samples.
pub fn verdict(objective: &Objective, samples: &[(i64, Decimal)]) -> Verdict {
    if samples.is_empty() {
        return Verdict::Empty;
    }
    let Some(value) = objective.aggregation.apply(samples) else {
        return Verdict::Violated(None);
    };
    if objective.comparator.holds(value, objective.target) {
        return Verdict::Conformant(value);
    }
    match objective.tolerance {
        Some(tolerance) if objective.comparator.holds(value, tolerance) => {
            Verdict::Tolerated(value)
        }
        _ => Verdict::Violated(Some(value)),
    }
}

/// The decision on the last of `verdicts` (oldest first, one per window of `length`).
pub fn decide(objective: &Objective, verdicts: &[Verdict], length: i64) -> Decision {
    let Some(last) = verdicts.last() else {
        return Decision::Undecided;
    };
    let run = |wanted: fn(&Verdict) -> bool| {
        verdicts.iter().rev().take_while(|v| wanted(v)).count() as i64
    };
    match *last {
        Verdict::Conformant(_) => Decision::Recovered,
        Verdict::Violated(value) => Decision::Breach(
            match value {
                Some(value) => format!(
                    "{} was {value}, not {} {}",
                    objective.parameter,
                    symbol(objective),
                    objective.target
                ),
                None => format!("{} could not be computed", objective.parameter),
            },
            value,
        ),
        Verdict::Tolerated(value) => {
            let tolerated = run(|v| matches!(v, Verdict::Tolerated(_))).saturating_mul(length);
            match objective.tolerance_ms {
                Some(period) if tolerated >= period => Decision::Breach(
                    format!(
                        "{} stayed off target ({value} last) for {} s, longer than its \
                         tolerance period",
                        objective.parameter,
                        tolerated / 1000
                    ),
                    Some(value),
                ),
                _ => Decision::Undecided,
            }
        }
        Verdict::Empty => {
            let missing = run(|v| *v == Verdict::Empty);
            match objective.grace {
                Some(grace) if missing > grace => Decision::Breach(
                    format!(
                        "no measurement of {} for {missing} windows in a row (grace: {grace})",
                        objective.parameter
                    ),
                    None,
                ),
                _ => Decision::Undecided,
            }
        }
    }
}

fn symbol(objective: &Objective) -> &'static str {
    use super::objective::Comparator::*;
    match objective.comparator {
        Greater => ">",
        GreaterOrEqual => ">=",
        Less => "<",
        LessOrEqual => "<=",
        Equal => "==",
        NotEqual => "!=",
    }
}

/// How many windows, the evaluated one included, the decision looks at.
fn lookback(objective: &Objective, length: i64) -> i64 {
    let tolerance = objective
        .tolerance_ms
        .map_or(1, |period| windows_in(period, length));
    let grace = objective.grace.map_or(1, |grace| grace + 1);
    tolerance.max(grace).max(1)
}

/// Evaluates one window (the job of `measurement::EVALUATE_QUEUE`).
pub(super) struct Evaluate;

impl JobHandler for Evaluate {
    fn run<'a>(&'a self, engine: &'a Engine, payload: &'a Value) -> JobFuture<'a> {
        Box::pin(async move {
            let job: WindowJob = match serde_json::from_value(payload.clone()) {
                Ok(job) => job,
                Err(error) => return Err(format!("not a window evaluation: {error}")),
            };
            settle(evaluate(engine, &job).await)
        })
    }
}

async fn evaluate(engine: &Engine, job: &WindowJob) -> Result<()> {
    let Some(doc) = engine
        .document(CODE, "serviceLevelObjective", &job.objective)
        .await?
    else {
        return Ok(());
    };
    // An objective changed since into one the rules cannot read is not evaluated
    // (the rules refuse such a change; this is a document stored before them).
    let objective = match Objective::read(&doc) {
        Ok(objective) => objective,
        Err(error) => {
            tracing::warn!(%error, objective = %job.objective, "not evaluated");
            return Ok(());
        }
    };
    let length = job.end - job.start;
    if length <= 0 {
        return Ok(());
    }
    let windows = lookback(&objective, length);
    let from = job
        .start
        .saturating_sub((windows - 1).saturating_mul(length));
    let samples = samples(engine, &objective, &job.service, from, job.end).await?;
    let mut buckets: Vec<Vec<(i64, Decimal)>> = vec![Vec::new(); windows as usize];
    for (at, value) in samples {
        if at < from || at >= job.end {
            continue;
        }
        let index = ((at - from) / length) as usize;
        if let Some(bucket) = buckets.get_mut(index) {
            bucket.push((at, value));
        }
    }
    let verdicts: Vec<Verdict> = buckets
        .iter()
        .map(|bucket| verdict(&objective, bucket))
        .collect();
    let window = (job.start, job.end);
    match decide(&objective, &verdicts, length) {
        Decision::Breach(why, value) => {
            let breach = Breach {
                objective: &objective,
                service: &job.service,
                window,
                why,
                value,
            };
            breach::open(engine, &breach).await
        }
        Decision::Recovered => breach::resolve(engine, &objective, &job.service, window).await,
        Decision::Undecided => Ok(()),
    }
}

/// The samples of `service`'s parameter observed in `[from, until)`, with their times.
async fn samples(
    engine: &Engine,
    objective: &Objective,
    service: &str,
    from: i64,
    until: i64,
) -> Result<Vec<(i64, Decimal)>> {
    let at = engine.served(CODE, "measurement")?;
    let filter = form_query(&[
        ("service.id", service),
        ("parameter", &objective.parameter),
        ("observationTime.gte", &format_ms(from)),
        ("observationTime.lt", &format_ms(until)),
    ]);
    let mut out = Vec::new();
    let mut offset = 0u64;
    loop {
        let page = engine
            .list(at, &format!("{filter}&sort=id&offset={offset}&limit=1000"))
            .await?;
        let docs: Vec<Value> = serde_json::from_str(&page.json).unwrap_or_default();
        for doc in &docs {
            let Ok(sample) = Sample::deserialize(doc) else {
                continue;
            };
            let at = instant("observationTime", Some(&sample.observation_time));
            let value = decimal("value", Some(&sample.value));
            if let (Ok(Some(at)), Ok(Some(value))) = (at, value) {
                out.push((at, value));
            }
        }
        offset += page.count;
        if page.count == 0 || offset >= page.total {
            return Ok(out);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn objective(extra: Value) -> Objective {
        let mut doc = json!({
            "id": "slo",
            "conformanceComparator": ">=",
            "conformanceTarget": "99",
            "toleranceTarget": "95",
            "serviceLevelObjectiveParameter": {"name": "availability"},
        });
        for (key, value) in extra.as_object().into_iter().flatten() {
            doc[key] = value.clone();
        }
        Objective::read(&doc).unwrap()
    }

    fn at(value: i64) -> Vec<(i64, Decimal)> {
        vec![(0, Decimal::from(value))]
    }

    #[test]
    fn a_window_is_met_tolerated_violated_or_empty() {
        let objective = objective(json!({}));
        assert_eq!(
            verdict(&objective, &at(99)),
            Verdict::Conformant(Decimal::from(99))
        );
        assert_eq!(
            verdict(&objective, &at(96)),
            Verdict::Tolerated(Decimal::from(96))
        );
        assert_eq!(
            verdict(&objective, &at(90)),
            Verdict::Violated(Some(Decimal::from(90)))
        );
        assert_eq!(verdict(&objective, &[]), Verdict::Empty);
    }

    #[test]
    fn tolerance_and_grace_run_out_in_windows() {
        let objective = objective(json!({
            "graceTimes": "1",
            "conformancePeriod": {"startDateTime": "2026-01-01T00:00:00Z",
                                  "endDateTime": "2026-01-01T00:01:00Z"},
            "tolerancePeriod": {"startDateTime": "2026-01-01T00:00:00Z",
                                "endDateTime": "2026-01-01T00:02:00Z"},
        }));
        let minute = 60_000;
        let tolerated = Verdict::Tolerated(Decimal::from(96));
        let met = Verdict::Conformant(Decimal::from(99));
        assert_eq!(lookback(&objective, minute), 2);
        assert_eq!(
            decide(&objective, &[met, tolerated], minute),
            Decision::Undecided
        );
        assert!(matches!(
            decide(&objective, &[tolerated, tolerated], minute),
            Decision::Breach(..)
        ));
        assert_eq!(
            decide(&objective, &[met, Verdict::Empty], minute),
            Decision::Undecided
        );
        assert!(matches!(
            decide(&objective, &[Verdict::Empty, Verdict::Empty], minute),
            Decision::Breach(..)
        ));
        assert_eq!(
            decide(&objective, &[Verdict::Empty, met], minute),
            Decision::Recovered
        );
    }
}
