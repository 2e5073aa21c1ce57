//! Translation of a regular expression, as the engine validates it (the `regex` crate's
//! syntax and meaning, which SQLite runs), into a PostgreSQL ARE that matches the same
//! strings. Parsed with `regex-syntax`, so flags, case folding and Unicode classes are
//! already resolved into plain character ranges: what reaches PostgreSQL leaves it no
//! syntax or class of its own to interpret differently (`\d`, `\b`, `.` and newlines,
//! inline flags, named groups and large counted repetitions all differ there).

use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// A class no PostgreSQL text can match: the only character outside it is NUL, which
/// PostgreSQL text cannot hold.
const NEVER: &str = r"[^\u0001-\U0010FFFF]";

/// PostgreSQL's largest counted repetition (DUPMAX).
const MAX_BOUND: u32 = 255;

/// The PostgreSQL form of `pattern`, or `None` when it has no faithful one (byte
/// classes beyond ASCII, which a text pattern cannot express).
pub(crate) fn translate(pattern: &str) -> Option<String> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .ok()?;
    hir_to_are(&hir)
}

fn escape(c: char) -> String {
    if c.is_ascii_alphanumeric() {
        c.to_string()
    } else if (c as u32) <= 0xFFFF {
        format!("\\u{:04X}", c as u32)
    } else {
        format!("\\U{:08X}", c as u32)
    }
}

fn class_of(ranges: &[(char, char)]) -> String {
    let mut out = String::from("[");
    let mut any = false;
    for &(start, end) in ranges {
        let start = if start == '\0' { '\u{1}' } else { start };
        if end == '\0' || start > end {
            continue;
        }
        any = true;
        out.push_str(&escape(start));
        if end != start {
            out.push('-');
            out.push_str(&escape(end));
        }
    }
    out.push(']');
    if any {
        out
    } else {
        NEVER.to_string()
    }
}

fn unicode_ranges(class: &regex_syntax::hir::ClassUnicode) -> Vec<(char, char)> {
    class
        .ranges()
        .iter()
        .map(|r| (r.start(), r.end()))
        .collect()
}

/// `\w` as the `regex` crate means it: ASCII, or every Unicode word character.
fn word_class(unicode: bool) -> String {
    const ASCII_WORD: &str = "[0-9A-Za-z_]";
    if !unicode {
        return ASCII_WORD.to_string();
    }
    match regex_syntax::Parser::new()
        .parse(r"\w")
        .map(|hir| hir.into_kind())
    {
        Ok(HirKind::Class(Class::Unicode(class))) => class_of(&unicode_ranges(&class)),
        _ => ASCII_WORD.to_string(),
    }
}

fn look(assertion: Look) -> String {
    use Look::*;
    let ascii = matches!(
        assertion,
        WordAscii
            | WordAsciiNegate
            | WordStartAscii
            | WordEndAscii
            | WordStartHalfAscii
            | WordEndHalfAscii
    );
    let w = || word_class(!ascii);
    match assertion {
        Start => "^".into(),
        End => "$".into(),
        StartLF => r"(?:^|(?<=\n))".into(),
        EndLF => r"(?:$|(?=\n))".into(),
        StartCRLF => r"(?:^|(?<=\n)|(?<=\r)(?!\n))".into(),
        EndCRLF => r"(?:$|(?=\r)|(?<!\r)(?=\n))".into(),
        WordAscii | WordUnicode => {
            let w = w();
            format!("(?:(?<={w})(?!{w})|(?<!{w})(?={w}))")
        }
        WordAsciiNegate | WordUnicodeNegate => {
            let w = w();
            format!("(?:(?<={w})(?={w})|(?<!{w})(?!{w}))")
        }
        WordStartAscii | WordStartUnicode => {
            let w = w();
            format!("(?<!{w})(?={w})")
        }
        WordEndAscii | WordEndUnicode => {
            let w = w();
            format!("(?<={w})(?!{w})")
        }
        WordStartHalfAscii | WordStartHalfUnicode => format!("(?<!{})", w()),
        WordEndHalfAscii | WordEndHalfUnicode => format!("(?!{})", w()),
    }
}

fn bound(min: u32, max: Option<u32>) -> String {
    match (min, max) {
        (0, None) => "*".to_string(),
        (1, None) => "+".to_string(),
        (0, Some(1)) => "?".to_string(),
        (min, None) => format!("{{{min},}}"),
        (min, Some(max)) if min == max => format!("{{{min}}}"),
        (min, Some(max)) => format!("{{{min},{max}}}"),
    }
}

/// `sub{min,max}`, with bounds above PostgreSQL's limit written as a chain of pieces.
fn repeat(sub: &str, mut min: u32, mut max: Option<u32>) -> String {
    let sub = format!("(?:{sub})");
    let mut out = String::new();
    while min > MAX_BOUND {
        out.push_str(&format!("{sub}{{{MAX_BOUND}}}"));
        min -= MAX_BOUND;
        max = max.map(|max| max - MAX_BOUND);
    }
    match max {
        None => out.push_str(&format!("{sub}{}", bound(min, None))),
        Some(max) if max <= MAX_BOUND => out.push_str(&format!("{sub}{}", bound(min, Some(max)))),
        Some(max) => {
            // x{min,max} = x{min} followed by x{0,max-min} in pieces of at most 255.
            if min > 0 {
                out.push_str(&format!("{sub}{}", bound(min, Some(min))));
            }
            let mut optional = max - min;
            while optional > 0 {
                let piece = optional.min(MAX_BOUND);
                out.push_str(&format!("{sub}{}", bound(0, Some(piece))));
                optional -= piece;
            }
        }
    }
    out
}

fn hir_to_are(hir: &Hir) -> Option<String> {
    Some(match hir.kind() {
        HirKind::Empty => "(?:)".into(),
        HirKind::Literal(literal) => std::str::from_utf8(&literal.0)
            .ok()?
            .chars()
            .map(|c| {
                if c == '\0' {
                    NEVER.to_string()
                } else {
                    escape(c)
                }
            })
            .collect(),
        HirKind::Class(Class::Unicode(class)) => class_of(&unicode_ranges(class)),
        HirKind::Class(Class::Bytes(class)) => {
            if class.ranges().iter().any(|range| range.end() > 0x7F) {
                return None;
            }
            let ranges: Vec<(char, char)> = class
                .ranges()
                .iter()
                .map(|range| (range.start() as char, range.end() as char))
                .collect();
            class_of(&ranges)
        }
        HirKind::Look(assertion) => look(*assertion),
        HirKind::Repetition(repetition) => repeat(
            &hir_to_are(&repetition.sub)?,
            repetition.min,
            repetition.max,
        ),
        HirKind::Capture(capture) => format!("(?:{})", hir_to_are(&capture.sub)?),
        HirKind::Concat(items) => items
            .iter()
            .map(hir_to_are)
            .collect::<Option<Vec<_>>>()?
            .join(""),
        HirKind::Alternation(items) => format!(
            "(?:{})",
            items
                .iter()
                .map(hir_to_are)
                .collect::<Option<Vec<_>>>()?
                .join("|")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn postgres_gets_plain_classes_and_chained_bounds() {
        // `\d` is Unicode digits in Rust, so it becomes an explicit class.
        let digits = translate(r"^\d+$").unwrap_or_default();
        assert!(
            digits.starts_with('^') && digits.contains("[0-9"),
            "{digits}"
        );
        // Inline flags are resolved: (?i) becomes both cases.
        let folded = translate("(?i)ab").unwrap_or_default();
        assert!(folded.contains('A') && folded.contains('a'), "{folded}");
        // Bounds above 255 are chained.
        let long = translate("a{300}").unwrap_or_default();
        assert!(long.contains("{255}") && long.contains("{45}"), "{long}");
        // Named groups (which PostgreSQL lacks) become plain groups.
        assert_eq!(translate("(?P<x>b)").as_deref(), Some("(?:b)"));
    }
}
