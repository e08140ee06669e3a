//! DataHub's names: a topic name is `[a-zA-Z][a-zA-Z0-9_]*`, 3 to 128 characters, and names
//! compare without case. Ferry's topic rules make names like `shop.orders`; each character
//! outside `[a-zA-Z0-9_]` becomes `_` (`shop.orders` -> `shop_orders`), a name not starting
//! with a letter gets `t_` in front, and one shorter than 3 is padded with `_`. Field names
//! follow the same rule (`[a-zA-Z_][a-zA-Z0-9_]*`, `_` in front of a leading digit).
//!
//! Pure functions; the sink refuses two different names that come out the same.

/// The longest topic or field name DataHub takes.
pub const MAX_LEN: usize = 128;

/// The DataHub topic for a topic Ferry's rules name `name`; an error when it is too long.
pub fn topic(name: &str) -> Result<String, String> {
    let mut out = plain(name);
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert_str(0, "t_");
    }
    while out.len() < 3 {
        out.push('_');
    }
    match out.len() <= MAX_LEN {
        true => Ok(out),
        false => Err(format!(
            "topic {name:?} is {} characters as a DataHub topic name ({out}); DataHub takes at most {MAX_LEN}",
            out.len()
        )),
    }
}

/// Whether `name` is a DataHub topic name as it stands.
pub fn is_topic(name: &str) -> bool {
    (3..=MAX_LEN).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The TUPLE field for column `name`; an error when it is too long.
pub fn field(name: &str) -> Result<String, String> {
    let mut out = plain(name);
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    match out.len() <= MAX_LEN {
        true => Ok(out),
        false => {
            Err(format!("column {name:?} is longer than the {MAX_LEN} characters of a DataHub field name"))
        }
    }
}

/// `name` with every character outside `[a-zA-Z0-9_]` replaced by `_`.
fn plain(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

/// Names compare without case in DataHub.
pub fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}
