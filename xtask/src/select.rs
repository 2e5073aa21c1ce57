//! Spec-file selection: which official Swagger file in SPEC_DIR is imported for each API.
//!
//! File names follow `TMFxxx-Name-v<version>[-suffix].swagger.json` (see the spec dir's INDEX.md).
//! For each API exactly one file is chosen:
//! - files with a suffix after the version (e.g. `-variant-logical-physical`) are ignored;
//! - among the remaining files with major version 4, the lowest version wins
//!   (4.0.0 over 4.1.0; TMF645 only has 4.0.1);
//! - an API with no v4 file uses its lowest-versioned file (TMF685 only has v1.0).
//!
//! OpenAPI 3 (`.oas.yaml`, v5) files are never considered.

use std::cmp::Ordering;
use std::fs;
use std::path::{Path, PathBuf};

use crate::Result;

/// One candidate spec file, parsed from its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecFile {
    /// "TMF620".
    pub api: String,
    /// Numeric version parsed from the file name, e.g. [4, 0, 0].
    pub version: Vec<u32>,
    /// Whether the name carries a suffix after the version (a variant file).
    pub variant: bool,
    pub path: PathBuf,
}

impl SpecFile {
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn api_number(&self) -> u32 {
        self.api
            .trim_start_matches("TMF")
            .parse()
            .unwrap_or(u32::MAX)
    }
}

/// Parses `TMF620-ProductCatalog-v4.0.0.swagger.json`; returns None for anything else.
pub fn parse_file_name(path: &Path) -> Option<SpecFile> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".swagger.json")?;
    let (api, rest) = stem.split_once('-')?;
    let digits = api.strip_prefix("TMF")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // The version is introduced by the last "-v<digit>" in the name.
    let rest = format!("-{rest}");
    let start = rest
        .match_indices("-v")
        .map(|(i, _)| i + 2)
        .filter(|&i| rest[i..].starts_with(|c: char| c.is_ascii_digit()))
        .last()?;
    let after = &rest[start..];
    let (version_text, suffix) = match after.find('-') {
        Some(i) => (&after[..i], &after[i..]),
        None => (after, ""),
    };
    let version = version_text
        .split('.')
        .map(|part| part.parse::<u32>().ok())
        .collect::<Option<Vec<u32>>>()?;
    Some(SpecFile {
        api: api.to_string(),
        version,
        variant: !suffix.is_empty(),
        path: path.to_path_buf(),
    })
}

/// Picks one file per API from `candidates`, following the module-level rules.
/// The result is ordered by API number.
pub fn choose(candidates: &[SpecFile]) -> Vec<SpecFile> {
    let mut apis: Vec<&str> = candidates.iter().map(|c| c.api.as_str()).collect();
    apis.sort();
    apis.dedup();
    let mut chosen: Vec<SpecFile> = apis
        .into_iter()
        .filter_map(|api| {
            let plain = candidates
                .iter()
                .filter(|c| c.api == api && !c.variant)
                .collect::<Vec<_>>();
            let v4 = plain
                .iter()
                .filter(|c| c.version.first() == Some(&4))
                .copied()
                .collect::<Vec<_>>();
            let pool = if v4.is_empty() { plain } else { v4 };
            pool.into_iter()
                .min_by(|a, b| compare_versions(&a.version, &b.version))
                .cloned()
        })
        .collect();
    chosen.sort_by_key(SpecFile::api_number);
    chosen
}

fn compare_versions(a: &[u32], b: &[u32]) -> Ordering {
    let len = a.len().max(b.len());
    let at = |v: &[u32], i: usize| v.get(i).copied().unwrap_or(0);
    (0..len)
        .map(|i| at(a, i).cmp(&at(b, i)))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// Lists SPEC_DIR and returns the chosen file for each API, ordered by API number.
pub fn select_spec_files(spec_dir: &Path) -> Result<Vec<SpecFile>> {
    let entries =
        fs::read_dir(spec_dir).map_err(|e| format!("cannot read {}: {e}", spec_dir.display()))?;
    let mut candidates = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if let Some(spec) = parse_file_name(&path) {
            candidates.push(spec);
        }
    }
    // Directory order is not stable; sort so that ties resolve deterministically.
    candidates.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(choose(&candidates))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(name: &str) -> SpecFile {
        parse_file_name(Path::new(name)).unwrap()
    }

    #[test]
    fn parses_names() {
        let s = parse("TMF639-ResourceInventory-v4.0.0-variant-logical-physical.swagger.json");
        assert_eq!(s.api, "TMF639");
        assert_eq!(s.version, vec![4, 0, 0]);
        assert!(s.variant);
        let s = parse("TMF685-ResourcePool-v1.0.swagger.json");
        assert_eq!(s.version, vec![1, 0]);
        assert!(!s.variant);
        assert!(parse_file_name(Path::new("TMF620-ProductCatalog-v5.0.0.oas.yaml")).is_none());
        assert!(parse_file_name(Path::new("INDEX.md")).is_none());
    }

    #[test]
    fn chooses_one_file_per_api() {
        let names = [
            "TMF620-ProductCatalog-v4.1.0.swagger.json",
            "TMF620-ProductCatalog-v4.0.0.swagger.json",
            "TMF639-ResourceInventory-v4.0.0-variant-logical-physical.swagger.json",
            "TMF639-ResourceInventory-v4.0.0.swagger.json",
            "TMF645-ServiceQualification-v4.0.1.swagger.json",
            "TMF685-ResourcePool-v1.0.swagger.json",
        ];
        let candidates: Vec<SpecFile> = names.iter().map(|n| parse(n)).collect();
        let chosen: Vec<String> = choose(&candidates)
            .iter()
            .map(SpecFile::file_name)
            .collect();
        assert_eq!(
            chosen,
            vec![
                "TMF620-ProductCatalog-v4.0.0.swagger.json",
                "TMF639-ResourceInventory-v4.0.0.swagger.json",
                "TMF645-ServiceQualification-v4.0.1.swagger.json",
                "TMF685-ResourcePool-v1.0.swagger.json",
            ]
        );
    }
}
