//! RocketMQ's names: a topic or a producer group is `[%|a-zA-Z0-9_-]+`, a topic at most 127
//! characters, a group at most 120. Ferry's topic rules make names like `shop.orders`; each
//! character outside that set becomes `_` (`shop.orders` -> `shop_orders`).
//!
//! Pure functions; the sink refuses two different names that come out the same.

/// The longest topic RocketMQ takes.
pub const MAX_TOPIC: usize = 127;
/// The longest producer group RocketMQ takes.
pub const MAX_GROUP: usize = 120;

/// Whether `c` may be in a RocketMQ topic or group name.
fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '%' | '|')
}

/// The RocketMQ topic for a topic Ferry's rules name `name`; an error when it is too long.
pub fn topic(name: &str) -> Result<String, String> {
    let out: String = name.chars().map(|c| if allowed(c) { c } else { '_' }).collect();
    match (out.is_empty(), out.len() <= MAX_TOPIC) {
        (true, _) => Err("an empty topic name".into()),
        (false, true) => Ok(out),
        (false, false) => Err(format!(
            "topic {name:?} is {} characters as a RocketMQ topic ({out}); RocketMQ takes at most {MAX_TOPIC}",
            out.len()
        )),
    }
}

/// What is wrong with producer group `group`, if anything (it is used as given).
pub fn check_group(group: &str) -> Result<(), String> {
    if group.is_empty() || group.len() > MAX_GROUP || !group.chars().all(allowed) {
        return Err(format!(
            "producer_group {group:?} is not a RocketMQ group: 1-{MAX_GROUP} characters of A-Z a-z 0-9 _ - % |"
        ));
    }
    Ok(())
}
