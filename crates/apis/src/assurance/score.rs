//! How much a problem matters (docs/wire-choices.md, "Assurance correlation"): the
//! impact importance factor from what the walk found, the problem's priority and the
//! tickets' severity from that factor.

/// The impact importance factor, 0..=100: `20·log10(1 + services) + 20·log10(1 +
/// customers)`, rounded, capped at 100; a walk that was cut short scores 100. One
/// customer's CFS and RFS score 16; ten customers' (20 services) 47; a thousand
/// customers' services reach the cap.
pub fn importance(services: usize, customers: usize, truncated: bool) -> u8 {
    if truncated {
        return 100;
    }
    let log = |count: usize| 20.0 * (1.0 + count as f64).log10();
    let score = (log(services) + log(customers)).round();
    score.clamp(0.0, 100.0) as u8
}

/// The problem's priority, 1 (most urgent) ..= 10: `10 − factor / 10`, at least 1.
pub fn priority(importance: u8) -> u8 {
    10u8.saturating_sub(importance / 10).max(1)
}

/// The severity of the tickets a problem opens: `critical` from 60, `major` from 30,
/// else `minor` (the severities whose resolution targets the settings carry).
pub fn severity(importance: u8) -> &'static str {
    match importance {
        60.. => "critical",
        30.. => "major",
        _ => "minor",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_grow_with_what_is_affected() {
        assert_eq!(importance(0, 0, false), 0);
        assert_eq!(importance(1, 1, false), 12);
        assert_eq!(importance(2, 1, false), 16);
        assert_eq!(importance(20, 10, false), 47);
        assert_eq!(importance(4000, 2000, false), 100);
        assert_eq!(importance(1, 0, true), 100);
        assert_eq!(priority(0), 10);
        assert_eq!(priority(16), 9);
        assert_eq!(priority(100), 1);
        assert_eq!(severity(16), "minor");
        assert_eq!(severity(47), "major");
        assert_eq!(severity(100), "critical");
    }
}
