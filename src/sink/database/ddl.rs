//! DDL replay: a source table's ALTER TABLE, CREATE INDEX or DROP INDEX rewritten to run on its
//! target table (the route's name, renamed columns); and what a replayed statement did to the
//! target's columns, so rows of a shard that has not run it yet still land in the right ones.
//!
//! Pure: no IO, so every rewrite has a test. What is not replayed says why ([`Replay::Skip`]):
//! renaming the table (the target keeps the name its route gives), partitioning and tablespaces
//! (the target's own), the primary key of a target whose key includes the shard column. Clauses
//! about how the source ran the statement (`ALGORITHM`, `LOCK`, `FORCE`) or its storage
//! (`ENGINE`) are left out.

use super::sql;
use crate::model::TableName;
use crate::source::mysql::sql::{split_top_level, Token, Tokens};
use std::collections::BTreeMap;

/// What to do on the target for a source table's DDL statement.
#[derive(Debug, PartialEq)]
pub enum Replay {
    /// Run this statement on the target.
    Run(String),
    /// Nothing, for this reason.
    Skip(&'static str),
}

/// The statement to run on `target` for `statement` (run with `default_db` current) on one of
/// its source tables, whose columns the route renames by `columns`. `shard_key`: the target's
/// primary key includes a shard column.
pub fn replay(
    statement: &str,
    default_db: &str,
    target: &TableName,
    columns: &BTreeMap<String, String>,
    shard_key: bool,
) -> Replay {
    let mut t = Tokens::new(statement);
    match t.keyword().as_deref() {
        Some("ALTER") => alter(t, default_db, target, columns, shard_key),
        Some("CREATE" | "DROP") => index(statement, t, default_db, target, columns),
        _ => Replay::Skip("only ALTER TABLE, CREATE INDEX and DROP INDEX are replayed"),
    }
}

fn alter(
    mut t: Tokens,
    default_db: &str,
    target: &TableName,
    columns: &BTreeMap<String, String>,
    shard_key: bool,
) -> Replay {
    if !table_head(&mut t) || t.table_name(default_db).is_none() {
        return Replay::Skip("not an ALTER TABLE of a named table");
    }
    let mut specs = Vec::new();
    for spec in split_top_level(t.rest()) {
        let mut words = Tokens::new(spec);
        let first = words.keyword().unwrap_or_default();
        let second = words.keyword().unwrap_or_default();
        match (first.as_str(), second.as_str()) {
            ("ALGORITHM" | "LOCK" | "FORCE" | "ENGINE", _) => continue,
            ("RENAME", "COLUMN" | "INDEX" | "KEY") => {}
            ("RENAME", _) => {
                return Replay::Skip("it renames the table: the target keeps the name its route gives")
            }
            (
                "PARTITION" | "REMOVE" | "COALESCE" | "REORGANIZE" | "EXCHANGE" | "ANALYZE" | "CHECK"
                | "OPTIMIZE" | "REBUILD" | "REPAIR" | "DISCARD" | "IMPORT",
                _,
            )
            | ("ADD" | "DROP" | "TRUNCATE", "PARTITION") => {
                return Replay::Skip("partitioning and tablespaces are the target's own")
            }
            _ => {}
        }
        if shard_key && has_word(spec, "PRIMARY") {
            return Replay::Skip("the target's primary key includes the shard column");
        }
        specs.push(rename_columns(spec, columns));
    }
    if specs.is_empty() {
        return Replay::Skip("it changes nothing the target keeps (engine, algorithm)");
    }
    Replay::Run(format!("ALTER TABLE {} {}", sql::table(target), specs.join(", ")))
}

/// `CREATE [UNIQUE|FULLTEXT|SPATIAL] INDEX name ... ON table (...)`, `DROP INDEX name ON table`.
fn index(
    statement: &str,
    mut t: Tokens,
    default_db: &str,
    target: &TableName,
    columns: &BTreeMap<String, String>,
) -> Replay {
    loop {
        match t.keyword().as_deref() {
            Some("OR" | "REPLACE" | "UNIQUE" | "FULLTEXT" | "SPATIAL" | "ONLINE" | "OFFLINE") => continue,
            Some("INDEX" | "KEY") => break,
            _ => return Replay::Skip("only ALTER TABLE, CREATE INDEX and DROP INDEX are replayed"),
        }
    }
    loop {
        match t.token() {
            Some(Token::Word(w)) if w == "ON" => break,
            Some(_) => {}
            None => return Replay::Skip("an index statement without ON table"),
        }
    }
    t.rest();
    let start = t.offset_in(statement);
    if t.table_name(default_db).is_none() {
        return Replay::Skip("an index statement without ON table");
    }
    let end = t.offset_in(statement);
    Replay::Run(format!(
        "{}{}{}",
        &statement[..start],
        sql::table(target),
        rename_columns(&statement[end..], columns)
    ))
}

/// Past `ALTER [ONLINE|OFFLINE|IGNORE] TABLE [IF EXISTS]` (ALTER consumed): whether it is one.
fn table_head(t: &mut Tokens) -> bool {
    loop {
        match t.keyword().as_deref() {
            Some("ONLINE" | "OFFLINE" | "IGNORE") => continue,
            Some("TABLE") => break,
            _ => return false,
        }
    }
    t.skip_if_exists();
    true
}

fn has_word(text: &str, word: &str) -> bool {
    let mut t = Tokens::new(text);
    std::iter::from_fn(|| t.token()).any(|tok| matches!(tok, Token::Word(w) if w == word))
}

/// `text` with every identifier naming a renamed column replaced by its new name.
fn rename_columns(text: &str, columns: &BTreeMap<String, String>) -> String {
    if columns.is_empty() {
        return text.to_string();
    }
    let (mut out, mut copied) = (String::new(), 0);
    let mut t = Tokens::new(text);
    loop {
        t.rest();
        let start = t.offset_in(text);
        let Some(token) = t.token() else { break };
        let end = t.offset_in(text);
        let name = match &token {
            Token::Word(_) => &text[start..end],
            Token::Quoted(name) => name.as_str(),
            _ => continue,
        };
        if let Some(new) = columns.iter().find(|(old, _)| old.eq_ignore_ascii_case(name)).map(|(_, new)| new)
        {
            out.push_str(&text[copied..start]);
            out.push_str(&sql::ident(new));
            copied = end;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// What an ALTER TABLE did to a column.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnChange {
    Renamed(String, String),
    Dropped(String),
}

/// The column renames and drops of an ALTER TABLE statement, in its order.
pub fn column_changes(statement: &str) -> Vec<ColumnChange> {
    let mut t = Tokens::new(statement);
    if t.keyword().as_deref() != Some("ALTER") || !table_head(&mut t) || t.table_name("").is_none() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for spec in split_top_level(t.rest()) {
        let mut s = Tokens::new(spec);
        let word = s.keyword().unwrap_or_default();
        let mut probe = s.clone();
        let next = probe.keyword();
        match word.as_str() {
            // CHANGE [COLUMN] [IF EXISTS] old new definition
            "CHANGE" => {
                if next.as_deref() == Some("COLUMN") {
                    s = probe;
                }
                s.skip_if_exists();
                if let (Some(old), Some(new)) = (s.ident(), s.ident()) {
                    if !old.eq_ignore_ascii_case(&new) {
                        out.push(ColumnChange::Renamed(old, new));
                    }
                }
            }
            // RENAME COLUMN old TO new
            "RENAME" if next.as_deref() == Some("COLUMN") => {
                s = probe;
                if let (Some(old), Some(_to), Some(new)) = (s.ident(), s.keyword(), s.ident()) {
                    out.push(ColumnChange::Renamed(old, new));
                }
            }
            // DROP [COLUMN] [IF EXISTS] name; not an index, key or constraint
            "DROP" => {
                match next.as_deref() {
                    Some("COLUMN") => s = probe,
                    Some(
                        "INDEX" | "KEY" | "PRIMARY" | "FOREIGN" | "CHECK" | "CONSTRAINT" | "PARTITION"
                        | "PERIOD" | "SYSTEM",
                    ) => continue,
                    _ => {}
                }
                s.skip_if_exists();
                if let Some(name) = s.ident() {
                    out.push(ColumnChange::Dropped(name));
                }
            }
            _ => {}
        }
    }
    out
}

/// What became of column `name` through `changes`.
#[derive(Debug, PartialEq)]
pub enum Fate {
    /// No change names it.
    Kept,
    Renamed(String),
    Dropped,
}

pub fn follow(name: &str, changes: &[ColumnChange]) -> Fate {
    let mut current = name.to_string();
    for change in changes {
        match change {
            ColumnChange::Renamed(old, new) if old.eq_ignore_ascii_case(&current) => current = new.clone(),
            ColumnChange::Dropped(old) if old.eq_ignore_ascii_case(&current) => return Fate::Dropped,
            _ => {}
        }
    }
    match current == name {
        true => Fate::Kept,
        false => Fate::Renamed(current),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> TableName {
        TableName::new("shop", "orders")
    }

    fn run(statement: &str, columns: &[(&str, &str)], shard_key: bool) -> Replay {
        let columns = columns.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        replay(statement, "shop_01", &target(), &columns, shard_key)
    }

    fn ran(s: &str) -> Replay {
        Replay::Run(s.into())
    }

    #[test]
    fn alter_runs_on_the_target_with_renamed_columns_and_without_how_it_ran() {
        assert_eq!(
            run("ALTER TABLE orders_03 ADD COLUMN x INT AFTER v, ALGORITHM=INPLACE, LOCK=NONE", &[], false),
            ran("ALTER TABLE `shop`.`orders` ADD COLUMN x INT AFTER v")
        );
        assert_eq!(
            run(
                "alter online ignore table if exists `shop_01`.`orders_03` modify `note` varchar(40) default 'note', change note2 n3 int",
                &[("note", "remark")],
                false
            ),
            ran("ALTER TABLE `shop`.`orders` modify `remark` varchar(40) default 'note', change note2 n3 int")
        );
        assert_eq!(
            run("ALTER TABLE t ENGINE=InnoDB", &[], false),
            Replay::Skip("it changes nothing the target keeps (engine, algorithm)")
        );
        assert!(matches!(run("ALTER TABLE t RENAME TO u", &[], false), Replay::Skip(_)));
        assert!(matches!(run("ALTER TABLE t ADD x INT, RENAME AS u", &[], false), Replay::Skip(_)));
        assert_eq!(
            run("ALTER TABLE t RENAME COLUMN a TO b", &[], false),
            ran("ALTER TABLE `shop`.`orders` RENAME COLUMN a TO b")
        );
        assert!(matches!(
            run("ALTER TABLE t ADD PARTITION (PARTITION p3 VALUES LESS THAN (30))", &[], false),
            Replay::Skip(_)
        ));
        assert!(matches!(
            run("ALTER TABLE t PARTITION BY HASH(id) PARTITIONS 4", &[], false),
            Replay::Skip(_)
        ));
        assert!(matches!(
            run("ALTER TABLE t DROP PRIMARY KEY, ADD PRIMARY KEY (id, x)", &[], true),
            Replay::Skip(_)
        ));
        assert_eq!(
            run("ALTER TABLE t DROP PRIMARY KEY, ADD PRIMARY KEY (id, x)", &[], false),
            ran("ALTER TABLE `shop`.`orders` DROP PRIMARY KEY, ADD PRIMARY KEY (id, x)")
        );
    }

    #[test]
    fn index_statements_run_on_the_target() {
        assert_eq!(
            run("CREATE UNIQUE INDEX ix_a ON shop_01.orders_03 (a, `note`)", &[("note", "remark")], false),
            ran("CREATE UNIQUE INDEX ix_a ON `shop`.`orders` (a, `remark`)")
        );
        assert_eq!(
            run("DROP INDEX ix_a ON orders_03", &[], false),
            ran("DROP INDEX ix_a ON `shop`.`orders`")
        );
        assert!(matches!(run("CREATE TABLE t (id INT)", &[], false), Replay::Skip(_)));
        assert!(matches!(run("DROP TABLE t", &[], false), Replay::Skip(_)));
        assert!(matches!(run("TRUNCATE t", &[], false), Replay::Skip(_)));
    }

    #[test]
    fn renames_and_drops_are_followed_through_statements() {
        let changes = column_changes(
            "ALTER TABLE `shop`.`orders` CHANGE COLUMN a b INT, DROP c, DROP INDEX ix, RENAME COLUMN b TO `d`, \
             DROP COLUMN IF EXISTS `e`, CHANGE f f BIGINT, DROP PRIMARY KEY",
        );
        assert_eq!(
            changes,
            [
                ColumnChange::Renamed("a".into(), "b".into()),
                ColumnChange::Dropped("c".into()),
                ColumnChange::Renamed("b".into(), "d".into()),
                ColumnChange::Dropped("e".into()),
            ]
        );
        assert_eq!(follow("a", &changes), Fate::Renamed("d".into()));
        assert_eq!(follow("C", &changes), Fate::Dropped);
        assert_eq!(follow("f", &changes), Fate::Kept);
        assert!(column_changes("CREATE INDEX ix ON t (a)").is_empty());
    }
}
