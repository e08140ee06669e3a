//! The physical shards of a sharded ("dbp") data source: a [`ShardPattern`] such as
//! `shop_{00..03}.orders_{00..15}` names the physical tables one logical table is split into, and
//! [`check`] compares it with the tables each instance really has.
//!
//! Syntax of each side (database, table), split at the one `.` outside braces:
//! - literal text: ASCII letters, digits, `_` and `$`;
//! - `{lo..hi}`: every decimal number from `lo` to `hi`, zero-padded to the width of `lo`
//!   (`{00..15}` is `00`..`15`, `{0..15}` is `0`..`15`); at most [`MAX_RANGE_VALUES`] values;
//! - `{a,b,c}`: one of the literal alternatives (no dots, no nested braces, no repeats);
//! - `*` and `?`: glob wildcards (any run of characters, any one character).
//!
//! Invariants: a parsed pattern is valid and, without wildcards, expands to at most
//! [`MAX_TABLES`] tables. [`ShardPattern::matches`], [`ShardPattern::expand`] and the glob forms
//! ([`ShardPattern::database_glob`], [`ShardPattern::table_glob`]) all describe the same set of
//! names; names are compared case-sensitively. Pure code: no IO.

use crate::model::TableName;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

/// The most values one `{lo..hi}` range may have.
pub const MAX_RANGE_VALUES: u64 = 10_000;
/// The most tables a pattern without wildcards may expand to.
pub const MAX_TABLES: u64 = 100_000;

/// Why a shard pattern was rejected. Every message names the pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardPatternError {
    /// No `.` outside braces, more than one, or an empty side.
    #[error("shard pattern {pattern:?} is not `database.table`: it needs exactly one '.' outside braces, with text on both sides")]
    NotQualified { pattern: String },
    /// A `}` without its `{`, a `{` never closed, or a `{` inside braces.
    #[error("shard pattern {pattern:?} has an unbalanced brace at column {column}")]
    UnbalancedBrace { pattern: String, column: usize },
    /// `{}`: braces with nothing inside.
    #[error("shard pattern {pattern:?} has empty braces `{{}}` at column {column}")]
    EmptyGroup { pattern: String, column: usize },
    /// A `{lo..hi}` whose bounds are not decimal numbers (or too long to be one).
    #[error("shard pattern {pattern:?} has a bad range `{{{group}}}`: {reason}")]
    BadRange { pattern: String, group: String, reason: String },
    /// A `{lo..hi}` with `lo > hi`.
    #[error("shard pattern {pattern:?} has a reversed range `{{{group}}}`: {lo} is greater than {hi}")]
    ReversedRange { pattern: String, group: String, lo: u64, hi: u64 },
    /// A `{lo..hi}` with more than [`MAX_RANGE_VALUES`] values.
    #[error("shard pattern {pattern:?} has a range `{{{group}}}` of {count} values, more than {max}")]
    TooManyValues { pattern: String, group: String, count: u64, max: u64 },
    /// A `{a,b}` list with an empty or repeated alternative.
    #[error("shard pattern {pattern:?} has a bad list `{{{group}}}`: {reason}")]
    BadList { pattern: String, group: String, reason: String },
    /// A character that is not allowed where it stands.
    #[error("shard pattern {pattern:?} has a bad character {ch:?} at column {column}: names use letters, digits, '_' and '$'")]
    BadCharacter { pattern: String, ch: char, column: usize },
    /// A pattern without wildcards naming more than [`MAX_TABLES`] tables.
    #[error("shard pattern {pattern:?} expands to {count} tables, more than {max}")]
    TooManyTables { pattern: String, count: u64, max: u64 },
}

/// A parsed shard pattern (see the module documentation for the syntax).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardPattern {
    text: String,
    database: Vec<Segment>,
    table: Vec<Segment>,
}

/// One piece of a side of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Range(Range),
    List(Vec<String>),
    /// `*`: any run of characters, possibly empty.
    Star,
    /// `?`: any one character.
    Question,
}

/// `{lo..hi}`, each value written with at least `width` digits (zero-padded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    lo: u64,
    hi: u64,
    width: usize,
}

impl Range {
    fn format(&self, value: u64) -> String {
        format!("{value:0width$}", width = self.width)
    }

    fn values(&self) -> impl Iterator<Item = String> + '_ {
        (self.lo..=self.hi).map(|v| self.format(v))
    }

    fn len(&self) -> u64 {
        self.hi - self.lo + 1
    }

    /// `digits` (ASCII digits only) is one of the range's values, written at its width.
    fn contains_text(&self, digits: &str) -> bool {
        // A u64 has at most 20 digits; a value's text is longer only through padding.
        if digits.len() > self.width.max(20) {
            return false;
        }
        let Ok(value) = digits.parse::<u64>() else { return false };
        (self.lo..=self.hi).contains(&value) && self.format(value) == digits
    }
}

impl Segment {
    /// How many different texts the segment stands for (`None`: unbounded, a wildcard).
    fn count(&self) -> Option<u64> {
        match self {
            Segment::Literal(_) => Some(1),
            Segment::Range(range) => Some(range.len()),
            Segment::List(alternatives) => Some(alternatives.len() as u64),
            Segment::Star | Segment::Question => None,
        }
    }

    fn is_wildcard(&self) -> bool {
        matches!(self, Segment::Star | Segment::Question)
    }
}

impl ShardPattern {
    /// Parses `pattern` (`database.table`, see the module documentation).
    pub fn parse(pattern: &str) -> Result<Self, ShardPatternError> {
        let dot = split_point(pattern)?;
        let database = parse_side(pattern, 0, &pattern[..dot])?;
        let table = parse_side(pattern, pattern[..=dot].chars().count(), &pattern[dot + 1..])?;
        let parsed = Self { text: pattern.to_string(), database, table };
        if !parsed.has_wildcard() {
            let count = parsed
                .database
                .iter()
                .chain(&parsed.table)
                .filter_map(Segment::count)
                .fold(1u64, u64::saturating_mul);
            if count > MAX_TABLES {
                return Err(ShardPatternError::TooManyTables {
                    pattern: pattern.to_string(),
                    count,
                    max: MAX_TABLES,
                });
            }
        }
        Ok(parsed)
    }

    /// The original text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The pattern contains `*` or `?`.
    pub fn has_wildcard(&self) -> bool {
        self.database.iter().chain(&self.table).any(Segment::is_wildcard)
    }

    /// Every physical table, in order (databases outer, each side's segments left to right, values
    /// in their written order), each once, when there is no wildcard (`None` with a wildcard).
    pub fn expand(&self) -> Option<Vec<TableName>> {
        if self.has_wildcard() {
            return None;
        }
        let databases = expand_side(&self.database);
        let tables = expand_side(&self.table);
        let mut seen = HashSet::new();
        let mut names = Vec::with_capacity(databases.len() * tables.len());
        for database in &databases {
            for table in &tables {
                let name = TableName::new(database.as_str(), table.as_str());
                if seen.insert(name.clone()) {
                    names.push(name);
                }
            }
        }
        Some(names)
    }

    /// The database side in globset syntax: ranges become `{00,01,...}` alternations, lists
    /// `{a,b}`, wildcards stay.
    pub fn database_glob(&self) -> String {
        side_glob(&self.database)
    }

    /// The table side in globset syntax (see [`ShardPattern::database_glob`]).
    pub fn table_glob(&self) -> String {
        side_glob(&self.table)
    }

    /// `name` is one of the pattern's tables.
    pub fn matches(&self, name: &TableName) -> bool {
        match_segments(&self.database, &name.database, false)
            && match_segments(&self.table, &name.table, false)
    }

    /// `name` has the pattern's shape but is not one of its tables: ranges relaxed to any run of
    /// one or more ASCII digits, lists to any of their values (`orders_16` for
    /// `orders_{00..15}`, but not `orders_archive`). Always false for a name `matches` accepts.
    pub fn looks_like(&self, name: &TableName) -> bool {
        !self.matches(name)
            && match_segments(&self.database, &name.database, true)
            && match_segments(&self.table, &name.table, true)
    }
}

impl fmt::Display for ShardPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What a logical table's shards look like across instances.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ShardCheck {
    /// Tables of the pattern no instance has (`db.table`), only when the pattern has no wildcard.
    pub missing: Vec<String>,
    /// Tables an instance has that look like shards but are not in the pattern: `instance:db.table`.
    pub extra: Vec<String>,
    /// Shards more than one instance has: `db.table` with the instances, `db.table (a, b)`.
    pub duplicated: Vec<String>,
    /// Each instance with the shards it holds (sorted), in the given instance order.
    pub placement: Vec<(String, Vec<TableName>)>,
}

impl ShardCheck {
    /// No shard is missing, extra or duplicated.
    pub fn is_ok(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.duplicated.is_empty()
    }
}

/// Checks `pattern` against the tables each instance has (`(instance name, every table it has)`).
/// `missing` follows the pattern's order, `extra` the instances' (tables sorted within each),
/// `duplicated` the shards' sorted order.
pub fn check(pattern: &ShardPattern, instances: &[(String, Vec<TableName>)]) -> ShardCheck {
    let mut result = ShardCheck::default();
    let mut holders: BTreeMap<&TableName, Vec<&str>> = BTreeMap::new();
    for (instance, tables) in instances {
        let tables: BTreeSet<&TableName> = tables.iter().collect();
        let mut held = Vec::new();
        for &name in &tables {
            if pattern.matches(name) {
                held.push(name.clone());
                holders.entry(name).or_default().push(instance);
            } else if pattern.looks_like(name) {
                result.extra.push(format!("{instance}:{name}"));
            }
        }
        result.placement.push((instance.clone(), held));
    }
    if let Some(expected) = pattern.expand() {
        result.missing =
            expected.iter().filter(|name| !holders.contains_key(name)).map(ToString::to_string).collect();
    }
    result.duplicated = holders
        .iter()
        .filter(|(_, instances)| instances.len() > 1)
        .map(|(name, instances)| format!("{name} ({})", instances.join(", ")))
        .collect();
    result
}

/// The byte index of the one `.` outside braces, after checking the braces balance.
fn split_point(pattern: &str) -> Result<usize, ShardPatternError> {
    let unbalanced = |column| ShardPatternError::UnbalancedBrace { pattern: pattern.to_string(), column };
    let mut open: Option<usize> = None;
    let mut dots = Vec::new();
    for (column, (at, ch)) in (1..).zip(pattern.char_indices()) {
        match ch {
            '{' if open.is_some() => return Err(unbalanced(column)),
            '{' => open = Some(column),
            '}' if open.is_none() => return Err(unbalanced(column)),
            '}' => open = None,
            '.' if open.is_none() => dots.push(at),
            _ => {}
        }
    }
    if let Some(column) = open {
        return Err(unbalanced(column));
    }
    match dots[..] {
        [dot] if dot > 0 && dot + 1 < pattern.len() => Ok(dot),
        _ => Err(ShardPatternError::NotQualified { pattern: pattern.to_string() }),
    }
}

fn is_name_char(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || ch == '_' || ch == '$'
}

/// Parses one side; `first_column` is the pattern column before the side's first character.
/// Braces are known to be balanced and not nested.
fn parse_side(pattern: &str, first_column: usize, side: &str) -> Result<Vec<Segment>, ShardPatternError> {
    let bad_char = |ch, column| ShardPatternError::BadCharacter { pattern: pattern.to_string(), ch, column };
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut chars = (first_column + 1..).zip(side.chars());
    while let Some((column, ch)) = chars.next() {
        if is_name_char(ch) {
            literal.push(ch);
            continue;
        }
        if !literal.is_empty() {
            segments.push(Segment::Literal(std::mem::take(&mut literal)));
        }
        match ch {
            '*' => segments.push(Segment::Star),
            '?' => segments.push(Segment::Question),
            '{' => {
                let mut group = Vec::new();
                for (inner_column, inner) in chars.by_ref() {
                    if inner == '}' {
                        break;
                    }
                    group.push((inner_column, inner));
                }
                segments.push(parse_group(pattern, column, &group)?);
            }
            _ => return Err(bad_char(ch, column)),
        }
    }
    if !literal.is_empty() {
        segments.push(Segment::Literal(literal));
    }
    Ok(segments)
}

/// Parses the inside of `{...}` (with each character's column): a range or a list.
fn parse_group(pattern: &str, column: usize, group: &[(usize, char)]) -> Result<Segment, ShardPatternError> {
    let text: String = group.iter().map(|&(_, ch)| ch).collect();
    if text.is_empty() {
        return Err(ShardPatternError::EmptyGroup { pattern: pattern.to_string(), column });
    }
    if let Some((lo, hi)) = text.split_once("..") {
        return parse_range(pattern, &text, lo, hi).map(Segment::Range);
    }
    if let Some(&(column, ch)) = group.iter().find(|&&(_, ch)| ch != ',' && !is_name_char(ch)) {
        return Err(ShardPatternError::BadCharacter { pattern: pattern.to_string(), ch, column });
    }
    let bad_list = |reason: &str| ShardPatternError::BadList {
        pattern: pattern.to_string(),
        group: text.clone(),
        reason: reason.to_string(),
    };
    let mut alternatives: Vec<String> = Vec::new();
    for alternative in text.split(',') {
        if alternative.is_empty() {
            return Err(bad_list("an alternative is empty"));
        }
        if alternatives.iter().any(|a| a == alternative) {
            return Err(bad_list(&format!("{alternative:?} is repeated")));
        }
        alternatives.push(alternative.to_string());
    }
    Ok(Segment::List(alternatives))
}

fn parse_range(pattern: &str, group: &str, lo: &str, hi: &str) -> Result<Range, ShardPatternError> {
    let bad_range = |reason: &str| ShardPatternError::BadRange {
        pattern: pattern.to_string(),
        group: group.to_string(),
        reason: reason.to_string(),
    };
    let number = |text: &str| -> Result<u64, ShardPatternError> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad_range("the bounds must be decimal numbers, as in {00..15}"));
        }
        text.parse().map_err(|_| bad_range("a bound is too large"))
    };
    let (lo_value, hi_value) = (number(lo)?, number(hi)?);
    if lo_value > hi_value {
        return Err(ShardPatternError::ReversedRange {
            pattern: pattern.to_string(),
            group: group.to_string(),
            lo: lo_value,
            hi: hi_value,
        });
    }
    // Padding to the width of `lo` changes nothing unless `lo` has a leading zero (every value
    // is at least as long as `lo` otherwise), which is the documented rule.
    let range = Range { lo: lo_value, hi: hi_value, width: lo.len() };
    if range.len() > MAX_RANGE_VALUES {
        return Err(ShardPatternError::TooManyValues {
            pattern: pattern.to_string(),
            group: group.to_string(),
            count: range.len(),
            max: MAX_RANGE_VALUES,
        });
    }
    Ok(range)
}

/// Every text a side without wildcards stands for, in order.
fn expand_side(segments: &[Segment]) -> Vec<String> {
    let mut texts = vec![String::new()];
    for segment in segments {
        let values: Vec<String> = match segment {
            Segment::Literal(literal) => vec![literal.clone()],
            Segment::Range(range) => range.values().collect(),
            Segment::List(alternatives) => alternatives.clone(),
            Segment::Star | Segment::Question => unreachable!("expand_side on a side with a wildcard"),
        };
        texts = texts.iter().flat_map(|prefix| values.iter().map(move |v| format!("{prefix}{v}"))).collect();
    }
    texts
}

/// One side in globset syntax. Literals need no escaping: they hold only name characters.
fn side_glob(segments: &[Segment]) -> String {
    let alternation = |values: Vec<String>| match values.len() {
        1 => values.into_iter().next().unwrap_or_default(),
        _ => format!("{{{}}}", values.join(",")),
    };
    segments
        .iter()
        .map(|segment| match segment {
            Segment::Literal(literal) => literal.clone(),
            Segment::Range(range) => alternation(range.values().collect()),
            Segment::List(alternatives) => alternation(alternatives.clone()),
            Segment::Star => "*".to_string(),
            Segment::Question => "?".to_string(),
        })
        .collect()
}

/// `text` is one of the texts `segments` stand for, by backtracking. `relaxed`: a range accepts
/// any run of one or more ASCII digits.
fn match_segments(segments: &[Segment], text: &str, relaxed: bool) -> bool {
    let Some((first, rest)) = segments.split_first() else { return text.is_empty() };
    let then = |remainder: &str| match_segments(rest, remainder, relaxed);
    match first {
        Segment::Literal(literal) => text.strip_prefix(literal.as_str()).is_some_and(then),
        Segment::List(alternatives) => {
            alternatives.iter().any(|a| text.strip_prefix(a.as_str()).is_some_and(then))
        }
        Segment::Range(range) => {
            let run = text.bytes().take_while(u8::is_ascii_digit).count();
            (1..=run).any(|len| {
                let (digits, remainder) = text.split_at(len);
                (relaxed || range.contains_text(digits)) && then(remainder)
            })
        }
        Segment::Star => {
            text.char_indices().map(|(at, _)| at).chain([text.len()]).any(|at| then(&text[at..]))
        }
        Segment::Question => text.chars().next().is_some_and(|ch| then(&text[ch.len_utf8()..])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use globset::Glob;

    fn parse(pattern: &str) -> ShardPattern {
        ShardPattern::parse(pattern).unwrap_or_else(|e| panic!("{e}"))
    }

    fn name(qualified: &str) -> TableName {
        let (database, table) = qualified.split_once('.').expect("db.table");
        TableName::new(database, table)
    }

    fn names(qualified: &[&str]) -> Vec<TableName> {
        qualified.iter().map(|q| name(q)).collect()
    }

    fn expanded(pattern: &str) -> Vec<String> {
        parse(pattern).expand().expect("no wildcard").iter().map(ToString::to_string).collect()
    }

    #[test]
    fn parses_and_expands_the_example() {
        let pattern = parse("shop_{00..03}.orders_{00..15}");
        assert_eq!(pattern.as_str(), "shop_{00..03}.orders_{00..15}");
        assert_eq!(pattern.to_string(), "shop_{00..03}.orders_{00..15}");
        assert!(!pattern.has_wildcard());
        let tables = pattern.expand().unwrap();
        assert_eq!(tables.len(), 64);
        assert_eq!(tables[0], name("shop_00.orders_00"));
        assert_eq!(tables[1], name("shop_00.orders_01"));
        assert_eq!(tables[16], name("shop_01.orders_00"));
        assert_eq!(tables[63], name("shop_03.orders_15"));
        assert!(pattern.matches(&name("shop_02.orders_07")));
        assert!(!pattern.matches(&name("shop_02.orders_7")));
        assert!(!pattern.matches(&name("shop_04.orders_07")));
        assert!(!pattern.matches(&name("Shop_02.orders_07")), "case-sensitive");
    }

    #[test]
    fn a_plain_name_is_one_table() {
        assert_eq!(expanded("shop.orders"), ["shop.orders"]);
        assert_eq!(expanded("a$1.T_x"), ["a$1.T_x"]);
    }

    #[test]
    fn ranges_are_padded_to_the_width_of_lo() {
        assert_eq!(expanded("db.t_{00..03}"), ["db.t_00", "db.t_01", "db.t_02", "db.t_03"]);
        assert_eq!(expanded("db.t_{1..3}"), ["db.t_1", "db.t_2", "db.t_3"]);
        assert_eq!(expanded("db.t_{8..10}"), ["db.t_8", "db.t_9", "db.t_10"]);
        assert_eq!(expanded("db.t_{10..12}"), ["db.t_10", "db.t_11", "db.t_12"]);
        assert_eq!(expanded("db.t_{001..3}"), ["db.t_001", "db.t_002", "db.t_003"]);
        assert_eq!(expanded("db.t_{098..100}"), ["db.t_098", "db.t_099", "db.t_100"]);
        assert_eq!(expanded("db.t{5..5}"), ["db.t5"]);
        let unpadded = expanded("db.t_{0..15}");
        assert_eq!(unpadded.len(), 16);
        assert_eq!(unpadded[..3], ["db.t_0", "db.t_1", "db.t_2"]);
        assert_eq!(unpadded[15], "db.t_15");

        let pattern = parse("db.t_{0..15}");
        assert!(pattern.matches(&name("db.t_5")));
        assert!(!pattern.matches(&name("db.t_05")), "width is honoured");
        assert!(parse("db.t_{00..15}").matches(&name("db.t_05")));
        assert!(!parse("db.t_{00..15}").matches(&name("db.t_5")));
    }

    #[test]
    fn lists_and_ranges_combine() {
        assert_eq!(expanded("db.t_{a,b,c}"), ["db.t_a", "db.t_b", "db.t_c"]);
        assert_eq!(
            expanded("{us,eu}_shop.orders_{0..1}"),
            ["us_shop.orders_0", "us_shop.orders_1", "eu_shop.orders_0", "eu_shop.orders_1"]
        );
        assert_eq!(expanded("db.{x}"), ["db.x"]);
        // Two segments can spell the same table: it is listed once.
        assert_eq!(expanded("db.t{1,11}{1,11}"), ["db.t11", "db.t111", "db.t1111"]);
        let pattern = parse("db.{a,ab}{1..2}c");
        assert!(pattern.matches(&name("db.ab2c")));
        assert!(pattern.matches(&name("db.a1c")));
        assert!(!pattern.matches(&name("db.ab3c")));
        assert!(!pattern.matches(&name("db.b1c")));
    }

    #[test]
    fn wildcards_match_but_do_not_expand() {
        let pattern = parse("shop_*.orders_?");
        assert!(pattern.has_wildcard());
        assert_eq!(pattern.expand(), None);
        assert!(pattern.matches(&name("shop_.orders_1")));
        assert!(pattern.matches(&name("shop_eu_2.orders_x")));
        assert!(!pattern.matches(&name("shop_eu.orders_12")));
        assert!(!pattern.matches(&name("shop_eu.orders_")));
        assert!(!pattern.matches(&name("shopx.orders_1")));
        let pattern = parse("db.*_{00..03}_*");
        assert!(pattern.matches(&name("db.a_01_b_02_c")));
        assert!(pattern.matches(&name("db._03_")));
        assert!(!pattern.matches(&name("db.a_04_b")));
        // Wide wildcard patterns are fine: they do not expand.
        assert!(ShardPattern::parse("db_{0..9999}.t_{0..9999}_*").is_ok());
    }

    #[test]
    fn rejects_what_is_not_database_dot_table() {
        for bad in ["orders", "a.b.c", ".orders", "shop.", "{a.b}", "."] {
            let err = ShardPattern::parse(bad).unwrap_err();
            assert!(matches!(err, ShardPatternError::NotQualified { .. }), "{bad}: {err:?}");
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
        // The dots of a range are inside braces.
        assert!(ShardPattern::parse("shop.t_{0..3}").is_ok());
    }

    #[test]
    fn rejects_unbalanced_braces() {
        for (bad, column) in [("db.t_{0..3", 6), ("db.t_0..3}", 10), ("db.t_{a,{b}}", 9), ("db}.t", 3)] {
            let err = ShardPattern::parse(bad).unwrap_err();
            assert_eq!(err, ShardPatternError::UnbalancedBrace { pattern: bad.into(), column }, "{bad}");
        }
        assert_eq!(
            ShardPattern::parse("db.t_{0..3").unwrap_err().to_string(),
            "shard pattern \"db.t_{0..3\" has an unbalanced brace at column 6"
        );
    }

    #[test]
    fn rejects_empty_and_bad_ranges() {
        assert_eq!(
            ShardPattern::parse("db.t_{}").unwrap_err(),
            ShardPatternError::EmptyGroup { pattern: "db.t_{}".into(), column: 6 }
        );
        for bad in ["db.t_{..}", "db.t_{1..}", "db.t_{..3}", "db.t_{a..b}", "db.t_{1...3}", "db.t_{1..3,5}"] {
            let err = ShardPattern::parse(bad).unwrap_err();
            assert!(matches!(err, ShardPatternError::BadRange { .. }), "{bad}: {err:?}");
        }
        let err = ShardPattern::parse("db.t_{0..99999999999999999999999}").unwrap_err();
        assert!(err.to_string().contains("too large"), "{err}");
        let err = ShardPattern::parse("db.t_{a..b}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "shard pattern \"db.t_{a..b}\" has a bad range `{a..b}`: the bounds must be decimal numbers, as in {00..15}"
        );
    }

    #[test]
    fn rejects_a_reversed_range() {
        let err = ShardPattern::parse("db.t_{15..00}").unwrap_err();
        assert_eq!(
            err,
            ShardPatternError::ReversedRange {
                pattern: "db.t_{15..00}".into(),
                group: "15..00".into(),
                lo: 15,
                hi: 0
            }
        );
        assert!(err.to_string().contains("15 is greater than 0"), "{err}");
    }

    #[test]
    fn rejects_too_many_values_in_a_range() {
        assert!(ShardPattern::parse("db.t_{0..9999}").is_ok());
        let err = ShardPattern::parse("db.t_{0..10000}").unwrap_err();
        assert!(
            matches!(err, ShardPatternError::TooManyValues { count: 10_001, max: 10_000, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn rejects_bad_lists() {
        for bad in ["db.t_{a,,b}", "db.t_{a,}", "db.t_{,a}", "db.t_{a,b,a}"] {
            let err = ShardPattern::parse(bad).unwrap_err();
            assert!(matches!(err, ShardPatternError::BadList { .. }), "{bad}: {err:?}");
        }
    }

    #[test]
    fn rejects_bad_characters() {
        for (bad, ch, column) in [
            ("db.t-1", '-', 5),
            ("db .t", ' ', 3),
            ("db.t_{a b}", ' ', 8),
            ("db.t_{a*}", '*', 8),
            ("db.t[0]", '[', 5),
            ("dé.t", 'é', 2),
        ] {
            let err = ShardPattern::parse(bad).unwrap_err();
            assert_eq!(err, ShardPatternError::BadCharacter { pattern: bad.into(), ch, column }, "{bad}");
        }
    }

    #[test]
    fn rejects_too_many_tables() {
        assert!(ShardPattern::parse("db_{0..9}.t_{0..9999}").is_ok());
        let err = ShardPattern::parse("db_{0..99}.t_{0..9999}").unwrap_err();
        assert_eq!(
            err,
            ShardPatternError::TooManyTables {
                pattern: "db_{0..99}.t_{0..9999}".into(),
                count: 1_000_000,
                max: 100_000
            }
        );
    }

    #[test]
    fn globs_compile_and_agree_with_matches() {
        let candidates = names(&[
            "shop_00.orders_00",
            "shop_03.orders_15",
            "shop_03.orders_16",
            "shop_3.orders_1",
            "shop_04.orders_01",
            "shop_01.orders_archive",
            "eu_shop.orders_1",
            "us_shop.orders_01",
            "xx_shop.orders_1",
            "shop_01.orders_x",
            "shop_01.orders_",
            "shop_.orders_12",
            "shop_a_b.orders_07",
            "db.t_a",
            "db.t_b",
            "db.t_ab",
            "db.t5",
            "db.a1c",
            "db.ab2c",
            "db.b1c",
        ]);
        for text in [
            "shop_{00..03}.orders_{00..15}",
            "shop_{0..3}.orders_{0..15}",
            "{us,eu}_shop.orders_{0..1}",
            "shop_*.orders_?",
            "shop_*.orders_{00..15}",
            "db.t_{a,b,c}",
            "db.t{5..5}",
            "db.{a,ab}{1..2}c",
            "*.*",
        ] {
            let pattern = parse(text);
            let database = Glob::new(&pattern.database_glob()).unwrap().compile_matcher();
            let table = Glob::new(&pattern.table_glob()).unwrap().compile_matcher();
            for candidate in &candidates {
                let by_glob = database.is_match(&candidate.database) && table.is_match(&candidate.table);
                assert_eq!(by_glob, pattern.matches(candidate), "{text} vs {candidate}");
            }
            if let Some(tables) = pattern.expand() {
                for t in &tables {
                    assert!(pattern.matches(t), "{text}: {t}");
                    assert!(database.is_match(&t.database) && table.is_match(&t.table), "{text}: {t}");
                }
            }
        }
        let pattern = parse("{us,eu}_shop_{0..2}.orders_{00..02}");
        assert_eq!(pattern.database_glob(), "{us,eu}_shop_{0,1,2}");
        assert_eq!(pattern.table_glob(), "orders_{00,01,02}");
        assert_eq!(parse("shop_*.t?{7..7}").table_glob(), "t?7");
    }

    #[test]
    fn looks_like_relaxes_ranges_only() {
        let pattern = parse("shop_{00..03}.orders_{00..15}");
        assert!(pattern.looks_like(&name("shop_00.orders_16")));
        assert!(pattern.looks_like(&name("shop_00.orders_7")));
        assert!(pattern.looks_like(&name("shop_04.orders_00")));
        assert!(pattern.looks_like(&name("shop_123.orders_0001")));
        assert!(!pattern.looks_like(&name("shop_00.orders_00")), "a shard is not merely alike");
        assert!(!pattern.looks_like(&name("shop_00.orders_archive")));
        assert!(!pattern.looks_like(&name("shop_00.orders_")));
        assert!(!pattern.looks_like(&name("shop_00.orders_16_bak")));
        assert!(!pattern.looks_like(&name("shop.orders_01")));

        let pattern = parse("{us,eu}_shop.orders_{0..1}");
        assert!(pattern.looks_like(&name("eu_shop.orders_2")));
        assert!(!pattern.looks_like(&name("cn_shop.orders_2")), "lists are not relaxed");
        assert!(!parse("db.t_{a,b}").looks_like(&name("db.t_c")));
        assert!(parse("db.t_*_{0..3}").looks_like(&name("db.t_x_9")));
    }

    fn instance(name: &str, tables: &[&str]) -> (String, Vec<TableName>) {
        (name.to_string(), names(tables))
    }

    #[test]
    fn check_all_present_across_two_instances() {
        let pattern = parse("shop_{0..1}.orders_{0..1}");
        let instances = [
            instance("a", &["shop_0.orders_1", "shop_0.orders_0", "shop_0.users", "mysql.user"]),
            instance("b", &["shop_1.orders_1", "shop_1.orders_0", "shop_1.orders_archive"]),
        ];
        let result = check(&pattern, &instances);
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(
            result.placement,
            vec![
                ("a".to_string(), names(&["shop_0.orders_0", "shop_0.orders_1"])),
                ("b".to_string(), names(&["shop_1.orders_0", "shop_1.orders_1"])),
            ]
        );
    }

    #[test]
    fn check_reports_missing_extra_and_duplicated() {
        let pattern = parse("shop_{0..1}.orders_{00..15}");
        let all: Vec<String> = pattern.expand().unwrap().iter().map(ToString::to_string).collect();
        let refs = |range: std::ops::Range<usize>| all[range].iter().map(String::as_str).collect::<Vec<_>>();

        // One missing: shop_1.orders_15.
        let instances = [instance("a", &refs(0..16)), instance("b", &refs(16..31))];
        let result = check(&pattern, &instances);
        assert!(!result.is_ok());
        assert_eq!(result.missing, ["shop_1.orders_15"]);
        assert!(result.extra.is_empty() && result.duplicated.is_empty(), "{result:?}");

        // One extra: orders_16 on b.
        let mut b = refs(16..32);
        b.push("shop_1.orders_16");
        let instances = [instance("a", &refs(0..16)), instance("b", &b)];
        let result = check(&pattern, &instances);
        assert_eq!(result.extra, ["b:shop_1.orders_16"]);
        assert!(result.missing.is_empty() && result.duplicated.is_empty(), "{result:?}");
        assert_eq!(result.placement[1].1.len(), 16, "an extra table is not placed");

        // One duplicated: shop_0.orders_03 on both.
        let mut b = refs(16..32);
        b.push("shop_0.orders_03");
        let instances = [instance("a", &refs(0..16)), instance("b", &b)];
        let result = check(&pattern, &instances);
        assert_eq!(result.duplicated, ["shop_0.orders_03 (a, b)"]);
        assert!(result.missing.is_empty() && result.extra.is_empty(), "{result:?}");
        assert!(result.placement[1].1.contains(&name("shop_0.orders_03")));
    }

    #[test]
    fn check_with_a_wildcard_reports_nothing_missing() {
        let pattern = parse("shop_*.orders_{0..1}");
        let result = check(&pattern, &[instance("a", &["shop_x.orders_0", "shop_x.orders_2"])]);
        assert!(result.missing.is_empty());
        assert_eq!(result.extra, ["a:shop_x.orders_2"]);
        assert_eq!(result.placement, vec![("a".to_string(), names(&["shop_x.orders_0"]))]);
        let json = serde_json::to_value(&result).unwrap();
        assert_eq!(json["extra"][0], "a:shop_x.orders_2");
    }
}
