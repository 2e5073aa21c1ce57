//! A service level objective read once into typed terms (TMF657 `ServiceLevelObjective`):
//! the comparator, the targets as decimals, the windows of `conformancePeriod`, the
//! aggregation of `transformationAlgorithmOfKQI`, tolerance and grace. The same reading
//! refuses a bad objective at create and PATCH (400 naming the attribute) and gives the
//! evaluation what it decides with, so nothing is parsed twice or differently.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use switchboard_engine::{Error, Result};

/// A window when the objective names no `conformancePeriod`: 15 minutes, from the Unix
/// epoch (the usual granularity of performance data).
pub const DEFAULT_WINDOW_MS: i64 = 15 * 60 * 1000;
/// The shortest window: a sample stream of one per second still fills it.
pub const MIN_WINDOW_MS: i64 = 1000;
/// How many windows an evaluation may look back over (tolerance and grace): each
/// evaluation reads their samples.
pub const MAX_LOOKBACK_WINDOWS: i64 = 100;

/// `conformanceComparator`: the conformance test, `aggregate <comparator> target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
    Equal,
    NotEqual,
}

impl Comparator {
    const SPELLINGS: [(&'static str, Comparator); 6] = [
        (">", Comparator::Greater),
        (">=", Comparator::GreaterOrEqual),
        ("<", Comparator::Less),
        ("<=", Comparator::LessOrEqual),
        ("==", Comparator::Equal),
        ("!=", Comparator::NotEqual),
    ];

    fn parse(text: &str) -> Result<Comparator> {
        Self::SPELLINGS
            .iter()
            .find(|(spelling, _)| *spelling == text.trim())
            .map(|(_, comparator)| *comparator)
            .ok_or_else(|| {
                Error::invalid_body("'conformanceComparator' must be one of >, >=, <, <=, ==, !=")
            })
    }

    /// Whether `value <self> target` holds.
    pub fn holds(self, value: Decimal, target: Decimal) -> bool {
        match self {
            Comparator::Greater => value > target,
            Comparator::GreaterOrEqual => value >= target,
            Comparator::Less => value < target,
            Comparator::LessOrEqual => value <= target,
            Comparator::Equal => value == target,
            Comparator::NotEqual => value != target,
        }
    }
}

/// `transformationAlgorithmOfKQI`: how a window's samples become one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    Average,
    Minimum,
    Maximum,
    Sum,
    Count,
    Last,
    /// Nearest-rank percentile, 1 to 99.
    Percentile(u8),
}

impl Aggregation {
    fn parse(text: Option<&str>) -> Result<Aggregation> {
        let Some(text) = text else {
            return Ok(Aggregation::Average);
        };
        let lower = text.trim().to_ascii_lowercase();
        let aggregation = match lower.as_str() {
            "avg" | "average" | "mean" => Aggregation::Average,
            "min" | "minimum" => Aggregation::Minimum,
            "max" | "maximum" => Aggregation::Maximum,
            "sum" => Aggregation::Sum,
            "count" => Aggregation::Count,
            "last" => Aggregation::Last,
            "median" => Aggregation::Percentile(50),
            other => match other.strip_prefix('p').map(u8::from_str) {
                Some(Ok(rank @ 1..=99)) => Aggregation::Percentile(rank),
                _ => {
                    return Err(Error::invalid_body(
                        "'serviceLevelObjectiveParameter.transformationAlgorithmOfKQI' must \
                         be one of avg, min, max, sum, count, last, median or p1 to p99",
                    ))
                }
            },
        };
        Ok(aggregation)
    }

    /// The window's value from its samples (none: no value). `None` too when the
    /// arithmetic overflows a decimal.
    pub fn apply(self, samples: &[(i64, Decimal)]) -> Option<Decimal> {
        if samples.is_empty() {
            return None;
        }
        let values = || samples.iter().map(|(_, value)| *value);
        match self {
            Aggregation::Average => {
                let sum = values().try_fold(Decimal::ZERO, Decimal::checked_add)?;
                sum.checked_div(Decimal::from(samples.len()))
            }
            Aggregation::Minimum => values().min(),
            Aggregation::Maximum => values().max(),
            Aggregation::Sum => values().try_fold(Decimal::ZERO, Decimal::checked_add),
            Aggregation::Count => Some(Decimal::from(samples.len())),
            Aggregation::Last => samples
                .iter()
                .max_by_key(|(at, _)| *at)
                .map(|(_, value)| *value),
            Aggregation::Percentile(rank) => {
                let mut sorted: Vec<Decimal> = values().collect();
                sorted.sort_unstable();
                // Nearest rank: the smallest value with at least rank% of them at or below.
                let position = (usize::from(rank) * sorted.len()).div_ceil(100);
                sorted.get(position.saturating_sub(1)).copied()
            }
        }
    }
}

/// The repeating windows of `conformancePeriod`: window `k` is
/// `[start + k·length, start + (k+1)·length)`, in ms since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    pub start: i64,
    pub length: i64,
}

impl Windows {
    /// The index of the window holding `at`; `None` before the first window.
    pub fn index(&self, at: i64) -> Option<i64> {
        (at >= self.start).then(|| (at - self.start) / self.length)
    }

    /// Window `k` as `[start, end)`.
    pub fn bounds(&self, k: i64) -> (i64, i64) {
        let start = self.start.saturating_add(k.saturating_mul(self.length));
        (start, start.saturating_add(self.length))
    }
}

/// A service level objective, as evaluation reads it.
#[derive(Debug, Clone)]
pub struct Objective {
    pub id: String,
    pub name: String,
    pub comparator: Comparator,
    pub target: Decimal,
    pub tolerance: Option<Decimal>,
    /// How long the aggregate may stay within tolerance (but off target) before it
    /// is a violation, in ms; `None`: for ever.
    pub tolerance_ms: Option<i64>,
    /// Windows without any sample allowed in a row; `None`: missing data never violates.
    pub grace: Option<i64>,
    pub windows: Windows,
    /// The measured parameter's name, as measurements name it.
    pub parameter: String,
    pub aggregation: Aggregation,
    /// Services the parameter's `relatedEntity` names.
    pub services: Vec<String>,
    /// `validFor`, in ms: samples outside it are not evaluated.
    pub valid_from: Option<i64>,
    pub valid_until: Option<i64>,
}

/// The stored or posted document, as far as the rules read it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stated {
    #[serde(default)]
    id: String,
    name: Option<String>,
    conformance_comparator: String,
    conformance_target: String,
    threshold_target: Option<String>,
    tolerance_target: Option<String>,
    conformance_period: Option<Period>,
    tolerance_period: Option<Period>,
    grace_times: Option<String>,
    service_level_objective_parameter: Parameter,
    valid_for: Option<Period>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Period {
    start_date_time: Option<String>,
    end_date_time: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Parameter {
    name: Option<String>,
    #[serde(rename = "transformationAlgorithmOfKQI")]
    transformation_algorithm_of_kqi: Option<String>,
    #[serde(default)]
    related_entity: Vec<Related>,
}

#[derive(Deserialize)]
struct Related {
    id: String,
    #[serde(rename = "@referredType")]
    referred_type: Option<String>,
}

impl Objective {
    /// Reads an objective (schema-valid: the mandatory attributes are there), refusing
    /// what cannot be evaluated with a 400 that names the attribute.
    pub fn read(doc: &Value) -> Result<Objective> {
        let stated = Stated::deserialize(doc).map_err(|error| {
            Error::invalid_body(format!("the service level objective is malformed: {error}"))
        })?;
        let target = decimal("conformanceTarget", Some(&stated.conformance_target))?
            .ok_or_else(|| Error::invalid_body("'conformanceTarget' is missing"))?;
        decimal("thresholdTarget", stated.threshold_target.as_deref())?;
        let tolerance = decimal("toleranceTarget", stated.tolerance_target.as_deref())?;
        let windows = match &stated.conformance_period {
            Some(period) => {
                let (start, end) = bounded("conformancePeriod", period)?;
                if end - start < MIN_WINDOW_MS {
                    return Err(Error::invalid_body(
                        "'conformancePeriod' must last at least one second",
                    ));
                }
                Windows {
                    start,
                    length: end - start,
                }
            }
            None => Windows {
                start: 0,
                length: DEFAULT_WINDOW_MS,
            },
        };
        let tolerance_ms = match &stated.tolerance_period {
            Some(period) => {
                let (start, end) = bounded("tolerancePeriod", period)?;
                Some(end - start)
            }
            None => None,
        };
        let grace = match stated.grace_times.as_deref() {
            Some(text) => Some(
                text.trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|grace| (0..MAX_LOOKBACK_WINDOWS).contains(grace))
                    .ok_or_else(|| {
                        Error::invalid_body(format!(
                            "'graceTimes' must be a whole number of windows from 0 to {}",
                            MAX_LOOKBACK_WINDOWS - 1
                        ))
                    })?,
            ),
            None => None,
        };
        if tolerance_ms.is_some_and(|ms| windows_in(ms, windows.length) > MAX_LOOKBACK_WINDOWS) {
            return Err(Error::invalid_body(format!(
                "'tolerancePeriod' may span at most {MAX_LOOKBACK_WINDOWS} conformance periods"
            )));
        }
        let parameter = stated.service_level_objective_parameter;
        let name = parameter
            .name
            .filter(|name| !name.trim().is_empty())
            .ok_or_else(|| {
                Error::invalid_body(
                    "'serviceLevelObjectiveParameter.name' is required: measurements name it",
                )
            })?;
        let (valid_from, valid_until) = match &stated.valid_for {
            Some(period) => (
                instant("validFor", period.start_date_time.as_deref())?,
                instant("validFor", period.end_date_time.as_deref())?,
            ),
            None => (None, None),
        };
        Ok(Objective {
            name: stated.name.unwrap_or_else(|| stated.id.clone()),
            id: stated.id,
            comparator: Comparator::parse(&stated.conformance_comparator)?,
            target,
            tolerance,
            tolerance_ms,
            grace,
            windows,
            parameter: name,
            aggregation: Aggregation::parse(parameter.transformation_algorithm_of_kqi.as_deref())?,
            services: parameter
                .related_entity
                .into_iter()
                .filter(|entity| {
                    entity
                        .referred_type
                        .as_deref()
                        .is_none_or(|kind| kind.eq_ignore_ascii_case("Service"))
                })
                .map(|entity| entity.id)
                .collect(),
            valid_from,
            valid_until,
        })
    }

    /// Whether a sample taken at `at` falls in the objective's `validFor`.
    pub fn valid_at(&self, at: i64) -> bool {
        self.valid_from.is_none_or(|from| at >= from)
            && self.valid_until.is_none_or(|until| at < until)
    }
}

/// A decimal attribute (a target, a measured value): `None` when absent, a 400 naming
/// it when it is not a plain decimal number.
pub fn decimal(attribute: &str, text: Option<&str>) -> Result<Option<Decimal>> {
    let Some(text) = text else {
        return Ok(None);
    };
    let trimmed = text.trim();
    Decimal::from_str(trimmed)
        .or_else(|_| Decimal::from_scientific(trimmed))
        .map(Some)
        .map_err(|_| {
            Error::invalid_body(format!(
                "'{attribute}' must be a decimal number, such as 99.95"
            ))
        })
}

/// An RFC 3339 date-time as ms since the epoch; a 400 naming `attribute` otherwise.
pub fn instant(attribute: &str, text: Option<&str>) -> Result<Option<i64>> {
    let Some(text) = text else {
        return Ok(None);
    };
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| Error::invalid_body(format!("'{attribute}' must be an RFC 3339 date-time")))?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000)
        .map(Some)
        .map_err(|_| Error::invalid_body(format!("'{attribute}' is out of range")))
}

/// How many windows of `length` it takes to cover `span` (both positive), at least one.
pub fn windows_in(span: i64, length: i64) -> i64 {
    (span.saturating_add(length - 1) / length.max(1)).max(1)
}

/// ms since the epoch as TMF dates are written (UTC, ms, `Z`).
pub fn format_ms(ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    switchboard_engine::format_instant(at)
}

/// A period with both ends, the end after the start, in ms.
fn bounded(attribute: &str, period: &Period) -> Result<(i64, i64)> {
    let start = instant(attribute, period.start_date_time.as_deref())?;
    let end = instant(attribute, period.end_date_time.as_deref())?;
    match (start, end) {
        (Some(start), Some(end)) if end > start => Ok((start, end)),
        _ => Err(Error::invalid_body(format!(
            "'{attribute}' needs a startDateTime and a later endDateTime: its length is \
             the window's"
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn samples(values: &[i64]) -> Vec<(i64, Decimal)> {
        values
            .iter()
            .enumerate()
            .map(|(at, value)| (at as i64, Decimal::from(*value)))
            .collect()
    }

    #[test]
    fn aggregations_read_the_window_as_named() {
        let window = samples(&[5, 1, 9, 3]);
        let apply = |text: &str| Aggregation::parse(Some(text)).unwrap().apply(&window);
        assert_eq!(apply("avg"), Some(Decimal::new(45, 1)));
        assert_eq!(apply("MAX"), Some(Decimal::from(9)));
        assert_eq!(apply("min"), Some(Decimal::from(1)));
        assert_eq!(apply("sum"), Some(Decimal::from(18)));
        assert_eq!(apply("count"), Some(Decimal::from(4)));
        assert_eq!(apply("last"), Some(Decimal::from(3)));
        assert_eq!(apply("p50"), Some(Decimal::from(3)));
        assert_eq!(apply("p95"), Some(Decimal::from(9)));
        assert_eq!(Aggregation::Average.apply(&[]), None);
        for bad in ["p0", "p100", "mode", "95th percentile"] {
            assert!(Aggregation::parse(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_repeat_from_the_period_start() {
        let windows = Windows {
            start: 1000,
            length: 500,
        };
        assert_eq!(windows.index(999), None);
        assert_eq!(windows.index(1000), Some(0));
        assert_eq!(windows.index(1499), Some(0));
        assert_eq!(windows.index(2100), Some(2));
        assert_eq!(windows.bounds(2), (2000, 2500));
    }

    #[test]
    fn targets_are_decimals() {
        assert_eq!(
            decimal("x", Some("99.95")).unwrap(),
            Some(Decimal::new(9995, 2))
        );
        assert_eq!(
            decimal("x", Some("1e3")).unwrap(),
            Some(Decimal::from(1000))
        );
        assert!(decimal("x", Some("high")).is_err());
        assert!(decimal("x", Some("")).is_err());
        assert!(Comparator::parse("greaterThan").is_err());
        assert!(Comparator::parse(">=")
            .unwrap()
            .holds(Decimal::from(2), Decimal::from(2)));
    }
}
