//! DDL -> table definitions: CREATE, ALTER, RENAME and DROP TABLE applied to the definitions the
//! schema history keeps, so a row decodes with the columns of its table where the binlog has it,
//! not with today's `information_schema` (a server without `binlog_row_metadata=FULL` logs no
//! column names, labels or keys).
//!
//! Only what decoding needs is followed: columns (name, type, signedness, character set, ENUM/SET
//! labels, MariaDB JSON), their order, the primary key, the table's default character set.
//! Clauses that change none of these (indexes, engines, partitions, defaults, comments...) are
//! passed over; a clause that may change them and is not understood makes the table
//! [`Change::Unparsed`], quoting the clause.
//!
//! Written on the statement tokenizer of `sql.rs` rather than a general SQL parser: sqlparser
//! 0.64 (MySQL dialect) refuses `ALTER TABLE t ENGINE=InnoDB`, `CONVERT TO CHARACTER SET`,
//! `ADD COLUMN IF NOT EXISTS`, `ALTER ONLINE TABLE` and `CHARSET x` on a column, all routine
//! on MariaDB, and each refusal would stop a table.

use super::catalog::{charset_of_collation, json_valid_columns, ColumnDefinition, TableDefinition};
use super::sql::{split_top_level, Token, Tokens};
use crate::model::TableName;
use std::collections::HashMap;

/// What a DDL statement did to one table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Change {
    /// The table has this definition now (created, altered, or renamed to this name).
    Defined(TableName, TableDefinition),
    /// The table is gone (dropped, or renamed away).
    Dropped(TableName),
    /// The table exists with a definition the statement does not give (`CREATE ... SELECT`, an
    /// ALTER of a table Ferry has no definition of): the server's is the best there is.
    Unknown(TableName),
    /// The statement changes the table in a way Ferry cannot follow.
    Unparsed(TableName, String),
}

/// Applies `sql` (run with `default_db` current) to the definitions `current` gives. Changes come
/// in statement order: `RENAME TABLE a TO b, b TO c` is two renames, the second seeing the first.
pub(crate) fn apply(
    sql: &str,
    default_db: &str,
    current: &mut dyn FnMut(&TableName) -> Option<TableDefinition>,
) -> Vec<Change> {
    let mut ddl = Applier { default_db, current, overlay: HashMap::new(), changes: Vec::new() };
    ddl.statement(sql);
    ddl.changes
}

struct Applier<'a, 'c> {
    default_db: &'a str,
    current: &'c mut dyn FnMut(&TableName) -> Option<TableDefinition>,
    /// What this statement changed so far (`None`: dropped).
    overlay: HashMap<TableName, Option<TableDefinition>>,
    changes: Vec<Change>,
}

impl Applier<'_, '_> {
    fn get(&mut self, name: &TableName) -> Option<TableDefinition> {
        match self.overlay.get(name) {
            Some(d) => d.clone(),
            None => (self.current)(name),
        }
    }

    fn define(&mut self, name: TableName, def: TableDefinition) {
        self.overlay.insert(name.clone(), Some(def.clone()));
        self.changes.push(Change::Defined(name, def));
    }

    fn drop_table(&mut self, name: TableName) {
        self.overlay.insert(name.clone(), None);
        self.changes.push(Change::Dropped(name));
    }

    fn statement(&mut self, sql: &str) {
        let mut t = Tokens::new(sql);
        match t.keyword().as_deref() {
            Some("CREATE") => self.create(&mut t),
            Some("ALTER") => self.alter(&mut t),
            Some("RENAME") => self.rename(&mut t),
            Some("DROP") => self.drop(&mut t),
            _ => {}
        }
    }

    /// `CREATE [OR REPLACE] TABLE [IF NOT EXISTS] t {LIKE s | (LIKE s) | (defs) [options] [SELECT]}`.
    fn create(&mut self, t: &mut Tokens) {
        loop {
            match t.keyword().as_deref() {
                Some("OR" | "REPLACE") => continue,
                // Temporary tables are not logged as rows.
                Some("TABLE") => break,
                _ => return,
            }
        }
        let mut probe = t.clone();
        let if_not_exists = probe.keyword().as_deref() == Some("IF");
        t.skip_if_exists();
        let Some(name) = t.table_name(self.default_db) else { return };
        if if_not_exists && self.get(&name).is_some() {
            return;
        }
        let mut like = t.clone();
        if like.keyword().as_deref() == Some("LIKE") {
            return self.create_like(name, &mut like);
        }
        let Some(body) = t.parenthesized() else {
            // CREATE TABLE t SELECT ...
            self.changes.push(Change::Unknown(name));
            return;
        };
        let mut inner = Tokens::new(body);
        if inner.keyword().as_deref() == Some("LIKE") {
            return self.create_like(name, &mut inner);
        }
        let mut def = TableDefinition { columns: Vec::new(), primary_key: Vec::new(), charset: None };
        for item in split_top_level(body) {
            if let Err(reason) = create_item(&mut def, item) {
                self.changes.push(Change::Unparsed(name, reason));
                return;
            }
        }
        // Table options, then maybe `[AS] SELECT`: rows the definition alone does not give.
        while let Some(tok) = t.token() {
            match tok {
                Token::Word(w) if w == "SELECT" || w == "AS" => {
                    self.changes.push(Change::Unknown(name));
                    return;
                }
                Token::Word(w) => {
                    if let Some(cs) = charset_clause(&w, t) {
                        def.charset = Some(cs);
                    }
                }
                Token::Punct('(') => {
                    // PARTITION BY ... ( ... ): skip what is inside.
                    let _ = t.parenthesized_rest();
                }
                _ => {}
            }
        }
        self.define(name, def);
    }

    fn create_like(&mut self, name: TableName, t: &mut Tokens) {
        let Some(source) = t.table_name(self.default_db) else {
            self.changes.push(Change::Unknown(name));
            return;
        };
        match self.get(&source) {
            Some(def) => self.define(name, def),
            None => self.changes.push(Change::Unknown(name)),
        }
    }

    /// `ALTER [ONLINE] [IGNORE] TABLE [IF EXISTS] t [WAIT n | NOWAIT] spec [, spec ...]`.
    fn alter(&mut self, t: &mut Tokens) {
        loop {
            match t.keyword().as_deref() {
                Some("ONLINE" | "OFFLINE" | "IGNORE") => continue,
                Some("TABLE") => break,
                _ => return,
            }
        }
        t.skip_if_exists();
        let Some(name) = t.table_name(self.default_db) else { return };
        let mut probe = t.clone();
        match probe.keyword().as_deref() {
            Some("NOWAIT") => *t = probe,
            Some("WAIT") => {
                probe.keyword();
                *t = probe;
            }
            _ => {}
        }
        let Some(mut def) = self.get(&name) else {
            self.changes.push(Change::Unknown(name));
            return;
        };
        let mut new_name = None;
        for spec in split_top_level(t.rest()) {
            match alter_spec(&mut def, spec, self.default_db) {
                Ok(Some(renamed)) => new_name = Some(renamed),
                Ok(None) => {}
                Err(reason) => {
                    self.changes.push(Change::Unparsed(name, reason));
                    return;
                }
            }
        }
        match new_name {
            Some(to) if to != name => {
                self.drop_table(name);
                self.define(to, def);
            }
            _ => self.define(name, def),
        }
    }

    /// `RENAME TABLE a TO b [, c TO d ...]`.
    fn rename(&mut self, t: &mut Tokens) {
        if t.keyword().as_deref() != Some("TABLE") {
            return;
        }
        for pair in split_top_level(t.rest()) {
            let mut p = Tokens::new(pair);
            let Some(from) = p.table_name(self.default_db) else { continue };
            // MariaDB: RENAME TABLE [IF EXISTS] a [WAIT n | NOWAIT] TO b.
            let to = loop {
                match p.keyword().as_deref() {
                    Some("TO") => break p.table_name(self.default_db),
                    Some(_) => continue,
                    None => break None,
                }
            };
            let Some(to) = to else { continue };
            match self.get(&from) {
                Some(def) => {
                    self.drop_table(from);
                    self.define(to, def);
                }
                None => {
                    self.drop_table(from);
                    self.changes.push(Change::Unknown(to));
                }
            }
        }
    }

    /// `DROP [TEMPORARY] TABLE [IF EXISTS] a [, b ...]`.
    fn drop(&mut self, t: &mut Tokens) {
        if t.keyword().as_deref() != Some("TABLE") {
            return;
        }
        t.skip_if_exists();
        for item in split_top_level(t.rest()) {
            let mut p = Tokens::new(item);
            if let Some(name) = p.table_name(self.default_db) {
                self.drop_table(name);
            }
        }
    }
}

/// One item of a CREATE TABLE's parenthesized body: a column or a constraint.
fn create_item(def: &mut TableDefinition, item: &str) -> Result<(), String> {
    let mut t = Tokens::new(item);
    if key_or_constraint(def, &t).ok_or_else(|| format!("primary key {item:?}"))? {
        return Ok(());
    }
    let name = t.ident().ok_or_else(|| format!("column definition {item:?}"))?;
    let (col, attrs) = column_definition(name, &mut t, &def.columns)?;
    if attrs.primary_key {
        def.primary_key = vec![col.name.clone()];
    }
    def.columns.push(col);
    Ok(())
}

/// Where a column could also stand (a CREATE TABLE item, what ALTER TABLE ADDs): whether a key,
/// index, constraint or partition comes instead. A primary key becomes the table's; the rest
/// changes no column. `None`: a primary key whose columns cannot be read.
fn key_or_constraint(def: &mut TableDefinition, t: &Tokens) -> Option<bool> {
    if t.clone().rest().starts_with('`') {
        return Some(false);
    }
    let mut probe = t.clone();
    match probe.keyword().as_deref() {
        Some("PRIMARY") => def.primary_key = key_columns(&mut probe)?,
        Some("CONSTRAINT") => {
            if let Some(cols) = constraint_primary_key(&mut probe) {
                def.primary_key = cols;
            }
        }
        Some(
            "KEY" | "INDEX" | "UNIQUE" | "FULLTEXT" | "SPATIAL" | "FOREIGN" | "CHECK" | "PARTITION"
            | "PERIOD" | "SYSTEM" | "VECTOR",
        ) => {}
        _ => return Some(false),
    }
    Some(true)
}

/// `[CONSTRAINT [name]] PRIMARY KEY ...` after CONSTRAINT: the key's columns, `None` for other
/// constraints.
fn constraint_primary_key(t: &mut Tokens) -> Option<Vec<String>> {
    let mut probe = t.clone();
    match probe.keyword().as_deref() {
        Some("PRIMARY") => return key_columns(&mut probe),
        Some("UNIQUE" | "FOREIGN" | "CHECK") => return None,
        _ => {}
    }
    // A name first.
    t.ident()?;
    (t.keyword().as_deref() == Some("PRIMARY")).then(|| key_columns(t)).flatten()
}

/// After `PRIMARY`: `KEY [USING x] (a, b(10) ...)` -> `["a", "b"]`.
fn key_columns(t: &mut Tokens) -> Option<Vec<String>> {
    loop {
        let mut probe = t.clone();
        if probe.parenthesized().is_some() {
            break;
        }
        t.token()?;
    }
    let body = t.parenthesized()?;
    Some(split_top_level(body).into_iter().filter_map(|part| Tokens::new(part).ident()).collect())
}

/// Where ALTER puts a column.
#[derive(Debug, Default, PartialEq)]
enum Place {
    #[default]
    Unchanged,
    First,
    After(String),
}

/// What a column definition says besides the column.
#[derive(Debug, Default)]
struct Attributes {
    primary_key: bool,
    place: Place,
}

/// `type [(args)] [attributes]` after a column's name.
fn column_definition(
    name: String,
    t: &mut Tokens,
    columns: &[ColumnDefinition],
) -> Result<(ColumnDefinition, Attributes), String> {
    let mut ty = t.keyword().ok_or_else(|| format!("column {name}: no type"))?;
    // Two-word types.
    let mut probe = t.clone();
    let next = probe.keyword();
    match (ty.as_str(), next.as_deref()) {
        ("DOUBLE", Some("PRECISION"))
        | ("CHARACTER" | "CHAR", Some("VARYING"))
        | ("LONG", Some("VARCHAR" | "VARBINARY" | "CHAR"))
        | ("NATIONAL", Some("CHAR" | "CHARACTER" | "VARCHAR")) => {
            ty = format!("{ty} {}", next.unwrap_or_default());
            *t = probe;
        }
        _ => {}
    }
    if ty == "NATIONAL CHAR" || ty == "NATIONAL CHARACTER" {
        let mut probe = t.clone();
        if probe.keyword().as_deref() == Some("VARYING") {
            ty = "NATIONAL VARCHAR".into();
            *t = probe;
        }
    }
    let args = t.parenthesized();
    let mut spec = TypeSpec { ty, args, ..TypeSpec::default() };
    let mut attrs = Attributes::default();
    loop {
        let mut probe = t.clone();
        let Some(tok) = probe.token() else { break };
        match tok {
            Token::Word(w) => match w.as_str() {
                "UNSIGNED" | "ZEROFILL" => spec.unsigned = true,
                "SIGNED" => {}
                "CHARACTER" | "CHARSET" | "COLLATE" => {
                    if let Some(cs) = charset_clause(&w, &mut probe) {
                        spec.charset = Some(cs);
                    }
                }
                "BINARY" => {}
                "PRIMARY" => attrs.primary_key = true,
                "CHECK" => {
                    if let Some(body) = probe.parenthesized() {
                        if json_valid_columns(body).iter().any(|c| c.eq_ignore_ascii_case(&name)) {
                            spec.json = true;
                        }
                    }
                }
                "FIRST" => attrs.place = Place::First,
                "AFTER" => {
                    let after =
                        probe.ident().ok_or_else(|| format!("column {name}: AFTER without a column"))?;
                    if !columns.iter().any(|c| c.name.eq_ignore_ascii_case(&after)) {
                        return Err(format!("column {name}: AFTER {after}, which the table does not have"));
                    }
                    attrs.place = Place::After(after);
                }
                _ => {}
            },
            Token::Punct('(') => {
                // DEFAULT (expr), AS (expr), ON UPDATE f(): nothing to learn inside.
                let _ = probe.parenthesized_rest();
            }
            _ => {}
        }
        *t = probe;
    }
    let col = spec.definition(name)?;
    Ok((col, attrs))
}

/// After `CHARACTER`, `CHARSET` or `COLLATE` (any `DEFAULT` before it already read): `[SET]
/// [=] name` -> the character set.
fn charset_clause(word: &str, t: &mut Tokens) -> Option<String> {
    match word {
        "CHARACTER" => {
            let mut probe = t.clone();
            if probe.keyword().as_deref() != Some("SET") {
                return None;
            }
            *t = probe;
        }
        "CHARSET" | "COLLATE" => {}
        _ => return None,
    }
    t.eat('=');
    let name = t.ident()?.to_ascii_lowercase();
    Some(if word == "COLLATE" { charset_of_collation(&name) } else { name })
}

/// A column type as written.
#[derive(Debug, Default)]
struct TypeSpec<'a> {
    /// Uppercase, two-word types joined by a space.
    ty: String,
    args: Option<&'a str>,
    unsigned: bool,
    charset: Option<String>,
    json: bool,
}

impl TypeSpec<'_> {
    fn numbers(&self) -> Vec<u64> {
        self.args.map_or_else(Vec::new, |a| a.split(',').filter_map(|n| n.trim().parse().ok()).collect())
    }

    /// The column as `information_schema.COLUMNS` would show it.
    fn definition(self, name: String) -> Result<ColumnDefinition, String> {
        let n = self.numbers();
        let arg = |i: usize, default: u64| n.get(i).copied().unwrap_or(default);
        let mut col = ColumnDefinition::new(name, "", "");
        col.charset = self.charset.clone();
        col.json = self.json;
        let binary_charset = self.charset.as_deref() == Some("binary");
        let data_type = match self.ty.as_str() {
            "TINYINT" | "INT1" | "BOOL" | "BOOLEAN" => "tinyint",
            "SMALLINT" | "INT2" => "smallint",
            "MEDIUMINT" | "INT3" | "MIDDLEINT" => "mediumint",
            "INT" | "INTEGER" | "INT4" => "int",
            "BIGINT" | "INT8" => "bigint",
            "SERIAL" => {
                col.column_type = "bigint unsigned".into();
                "bigint"
            }
            "DECIMAL" | "DEC" | "NUMERIC" | "FIXED" => {
                col.numeric_precision = Some(arg(0, 10));
                col.numeric_scale = Some(arg(1, 0));
                "decimal"
            }
            "FLOAT" if n.len() == 1 && n[0] > 24 => "double",
            "FLOAT" | "FLOAT4" => "float",
            "DOUBLE" | "DOUBLE PRECISION" | "REAL" | "FLOAT8" => "double",
            "BIT" => {
                col.numeric_precision = Some(arg(0, 1));
                "bit"
            }
            "DATE" => "date",
            "TIME" | "DATETIME" | "TIMESTAMP" => {
                col.datetime_precision = Some(arg(0, 0));
                match self.ty.as_str() {
                    "TIME" => "time",
                    "DATETIME" => "datetime",
                    _ => "timestamp",
                }
            }
            "YEAR" => "year",
            "CHAR" | "CHARACTER" | "NCHAR" | "NATIONAL CHAR" | "NATIONAL CHARACTER" if binary_charset => {
                col.octet_len = Some(arg(0, 1));
                "binary"
            }
            "CHAR" | "CHARACTER" | "NCHAR" | "NATIONAL CHAR" | "NATIONAL CHARACTER" => {
                col.char_max_len = Some(arg(0, 1));
                "char"
            }
            "VARCHAR" | "NVARCHAR" | "VARCHARACTER" | "CHARACTER VARYING" | "CHAR VARYING"
            | "NATIONAL VARCHAR"
                if binary_charset =>
            {
                col.octet_len = Some(arg(0, 0));
                "varbinary"
            }
            "VARCHAR" | "NVARCHAR" | "VARCHARACTER" | "CHARACTER VARYING" | "CHAR VARYING"
            | "NATIONAL VARCHAR" => {
                col.char_max_len = Some(arg(0, 0));
                "varchar"
            }
            "BINARY" => {
                col.octet_len = Some(arg(0, 1));
                "binary"
            }
            "VARBINARY" | "LONG VARBINARY" => {
                col.octet_len = Some(arg(0, 0));
                "varbinary"
            }
            "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT" | "LONG" | "LONG VARCHAR" | "LONG CHAR"
                if binary_charset =>
            {
                "blob"
            }
            "TINYTEXT" => "tinytext",
            "TEXT" => "text",
            "MEDIUMTEXT" | "LONG" | "LONG VARCHAR" | "LONG CHAR" => "mediumtext",
            "LONGTEXT" => "longtext",
            "TINYBLOB" => "tinyblob",
            "BLOB" => "blob",
            "MEDIUMBLOB" => "mediumblob",
            "LONGBLOB" => "longblob",
            "ENUM" | "SET" => {
                col.column_type =
                    format!("{}({})", self.ty.to_ascii_lowercase(), self.args.unwrap_or_default());
                if self.ty == "ENUM" {
                    "enum"
                } else {
                    "set"
                }
            }
            "JSON" => {
                col.json = true;
                "json"
            }
            "GEOMETRY" | "POINT" | "LINESTRING" | "POLYGON" | "MULTIPOINT" | "MULTILINESTRING"
            | "MULTIPOLYGON" | "GEOMETRYCOLLECTION" | "UUID" | "INET4" | "INET6" => {
                col.data_type = self.ty.to_ascii_lowercase();
                col.column_type = col.data_type.clone();
                return Ok(col);
            }
            other => return Err(format!("column {}: type {other} is not known to Ferry", col.name)),
        };
        let national = matches!(self.ty.as_str(), "NCHAR" | "NVARCHAR") || self.ty.starts_with("NATIONAL");
        if national && col.charset.is_none() {
            col.charset = Some("utf8mb3".into());
        }
        col.data_type = data_type.to_string();
        if col.column_type.is_empty() {
            col.column_type = data_type.to_string();
            if self.unsigned {
                col.column_type.push_str(" unsigned");
            }
        }
        if !col.is_character() {
            col.charset = None;
        }
        Ok(col)
    }
}

/// One ALTER TABLE specification; `Some(name)` when it renames the table.
fn alter_spec(def: &mut TableDefinition, spec: &str, default_db: &str) -> Result<Option<TableName>, String> {
    let mut t = Tokens::new(spec);
    let Some(word) = t.keyword() else {
        return if t.at_end() { Ok(None) } else { Err(format!("clause {spec:?}")) };
    };
    let unparsed = || format!("clause {spec:?}");
    match word.as_str() {
        "ADD" => {
            let mut probe = t.clone();
            let column_word = probe.keyword().as_deref() == Some("COLUMN");
            if column_word {
                t = probe;
            } else if key_or_constraint(def, &t).ok_or_else(unparsed)? {
                return Ok(None);
            }
            let mut probe = t.clone();
            let if_not_exists = probe.keyword().as_deref() == Some("IF");
            t.skip_if_exists();
            if let Some(body) = t.parenthesized() {
                for item in split_top_level(body) {
                    add_column(def, &mut Tokens::new(item), if_not_exists)?;
                }
                return Ok(None);
            }
            add_column(def, &mut t, if_not_exists)?;
            Ok(None)
        }
        "DROP" => {
            let mut probe = t.clone();
            match probe.keyword().as_deref() {
                Some("COLUMN") => t = probe,
                Some("PRIMARY") => {
                    def.primary_key.clear();
                    return Ok(None);
                }
                Some(
                    "INDEX" | "KEY" | "FOREIGN" | "CHECK" | "CONSTRAINT" | "PARTITION" | "PERIOD" | "SYSTEM",
                ) if !t.rest().starts_with('`') => return Ok(None),
                _ => {}
            }
            let mut probe = t.clone();
            let if_exists = probe.keyword().as_deref() == Some("IF");
            t.skip_if_exists();
            let name = t.ident().ok_or_else(unparsed)?;
            match index_of(def, &name) {
                Some(i) => {
                    def.columns.remove(i);
                    def.primary_key.retain(|k| !k.eq_ignore_ascii_case(&name));
                }
                None if if_exists => {}
                None => return Err(format!("DROP COLUMN {name}, which the table does not have")),
            }
            Ok(None)
        }
        "CHANGE" | "MODIFY" => {
            let mut probe = t.clone();
            if probe.keyword().as_deref() == Some("COLUMN") {
                t = probe;
            }
            let mut probe = t.clone();
            let if_exists = probe.keyword().as_deref() == Some("IF");
            t.skip_if_exists();
            let old = t.ident().ok_or_else(unparsed)?;
            let new = if word == "CHANGE" { t.ident().ok_or_else(unparsed)? } else { old.clone() };
            let Some(i) = index_of(def, &old) else {
                return if if_exists {
                    Ok(None)
                } else {
                    Err(format!("{word} COLUMN {old}, which the table does not have"))
                };
            };
            let (col, attrs) = column_definition(new.clone(), &mut t, &def.columns)?;
            def.columns.remove(i);
            for k in &mut def.primary_key {
                if k.eq_ignore_ascii_case(&old) {
                    *k = new.clone();
                }
            }
            place(def, col, attrs.place, i)?;
            Ok(None)
        }
        "RENAME" => {
            let mut probe = t.clone();
            match probe.keyword().as_deref() {
                Some("COLUMN") => {
                    t = probe;
                    let old = t.ident().ok_or_else(unparsed)?;
                    if t.keyword().as_deref() != Some("TO") {
                        return Err(unparsed());
                    }
                    let new = t.ident().ok_or_else(unparsed)?;
                    let i = index_of(def, &old)
                        .ok_or_else(|| format!("RENAME COLUMN {old}, which the table does not have"))?;
                    def.columns[i].name = new.clone();
                    for k in &mut def.primary_key {
                        if k.eq_ignore_ascii_case(&old) {
                            *k = new.clone();
                        }
                    }
                    Ok(None)
                }
                Some("INDEX" | "KEY") => Ok(None),
                Some("TO" | "AS") => {
                    t = probe;
                    Ok(Some(t.table_name(default_db).ok_or_else(unparsed)?))
                }
                _ => {
                    t.eat('=');
                    Ok(Some(t.table_name(default_db).ok_or_else(unparsed)?))
                }
            }
        }
        "CONVERT" => {
            // CONVERT TO CHARACTER SET x [COLLATE y]
            if t.keyword().as_deref() != Some("TO") {
                return Err(unparsed());
            }
            let w = t.keyword().ok_or_else(unparsed)?;
            let cs = charset_clause(&w, &mut t).ok_or_else(unparsed)?;
            for c in def.columns.iter_mut().filter(|c| c.is_character()) {
                c.charset = Some(cs.clone());
            }
            def.charset = Some(cs);
            Ok(None)
        }
        "DEFAULT" | "CHARACTER" | "CHARSET" | "COLLATE" => {
            let w = if word == "DEFAULT" { t.keyword().ok_or_else(unparsed)? } else { word.clone() };
            if let Some(cs) = charset_clause(&w, &mut t) {
                def.charset = Some(cs);
            }
            Ok(None)
        }
        // ALTER COLUMN only sets or drops defaults and visibility; the rest changes no column.
        "ALTER"
        | "ENGINE"
        | "ALGORITHM"
        | "LOCK"
        | "FORCE"
        | "AUTO_INCREMENT"
        | "COMMENT"
        | "ROW_FORMAT"
        | "KEY_BLOCK_SIZE"
        | "ORDER"
        | "ENABLE"
        | "DISABLE"
        | "DISCARD"
        | "IMPORT"
        | "PARTITION"
        | "REMOVE"
        | "COALESCE"
        | "REORGANIZE"
        | "ANALYZE"
        | "CHECK"
        | "OPTIMIZE"
        | "REBUILD"
        | "REPAIR"
        | "TRUNCATE"
        | "EXCHANGE"
        | "STATS_AUTO_RECALC"
        | "STATS_PERSISTENT"
        | "STATS_SAMPLE_PAGES"
        | "PACK_KEYS"
        | "CHECKSUM"
        | "MIN_ROWS"
        | "MAX_ROWS"
        | "AVG_ROW_LENGTH"
        | "DELAY_KEY_WRITE"
        | "INSERT_METHOD"
        | "DATA"
        | "INDEX"
        | "ENCRYPTED"
        | "ENCRYPTION"
        | "ENCRYPTION_KEY_ID"
        | "PAGE_COMPRESSED"
        | "PAGE_COMPRESSION_LEVEL"
        | "TRANSACTIONAL"
        | "WITH"
        | "WITHOUT"
        | "UNION"
        | "TABLESPACE"
        | "CONNECTION"
        | "PASSWORD"
        | "COMPRESSION"
        | "SECONDARY_ENGINE"
        | "IETF_QUOTES"
        | "STORAGE"
        | "SEQUENCE"
        | "CONVERT_PARTITION" => Ok(None),
        _ => Err(unparsed()),
    }
}

fn add_column(def: &mut TableDefinition, t: &mut Tokens, if_not_exists: bool) -> Result<(), String> {
    let name = t.ident().ok_or("ADD without a column name")?;
    if index_of(def, &name).is_some() {
        return if if_not_exists {
            Ok(())
        } else {
            Err(format!("ADD COLUMN {name}, which the table already has"))
        };
    }
    let (col, attrs) = column_definition(name, t, &def.columns)?;
    if attrs.primary_key {
        def.primary_key = vec![col.name.clone()];
    }
    let end = def.columns.len();
    place(def, col, attrs.place, end)
}

/// Inserts `col` where `place` says (`Unchanged`: at `default`).
fn place(
    def: &mut TableDefinition,
    col: ColumnDefinition,
    place: Place,
    default: usize,
) -> Result<(), String> {
    let at = match place {
        Place::Unchanged => default.min(def.columns.len()),
        Place::First => 0,
        Place::After(after) => {
            index_of(def, &after).ok_or_else(|| format!("AFTER {after}, which the table does not have"))? + 1
        }
    };
    def.columns.insert(at, col);
    Ok(())
}

fn index_of(def: &TableDefinition, name: &str) -> Option<usize> {
    def.columns.iter().position(|c| c.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str) -> TableName {
        TableName::new("shop", name)
    }

    /// Applies statements in order to an empty catalog and returns it.
    fn run(statements: &[&str]) -> (HashMap<TableName, TableDefinition>, Vec<Change>) {
        let mut tables: HashMap<TableName, TableDefinition> = HashMap::new();
        let mut all = Vec::new();
        for sql in statements {
            let changes = apply(sql, "shop", &mut |n| tables.get(n).cloned());
            for c in &changes {
                match c {
                    Change::Defined(n, d) => {
                        tables.insert(n.clone(), d.clone());
                    }
                    Change::Dropped(n) => {
                        tables.remove(n);
                    }
                    _ => {}
                }
            }
            all.extend(changes);
        }
        (tables, all)
    }

    fn names(d: &TableDefinition) -> Vec<&str> {
        d.columns.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn create_table_gives_columns_types_key_and_charset() {
        let (tables, _) = run(&["CREATE TABLE `t` (\n  `id` int(11) unsigned NOT NULL AUTO_INCREMENT,\n  \
             `v` varchar(20) COLLATE utf8mb4_bin DEFAULT NULL COMMENT 'a, b',\n  \
             s enum('a','b''c') CHARSET latin1 NOT NULL DEFAULT 'a',\n  d decimal(12,3),\n  \
             ts timestamp(6) NOT NULL DEFAULT current_timestamp(6) ON UPDATE current_timestamp(6),\n  \
             j longtext CHECK (json_valid(`j`)),\n  b varbinary(16), c char(4) CHARACTER SET binary,\n  \
             PRIMARY KEY (`id`) USING BTREE,\n  KEY `k` (`v`(10))\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 \
             /*!50100 PARTITION BY HASH (id) PARTITIONS 4 */"]);
        let d = &tables[&t("t")];
        assert_eq!(names(d), ["id", "v", "s", "d", "ts", "j", "b", "c"]);
        assert_eq!(d.primary_key, ["id"]);
        assert_eq!(d.charset.as_deref(), Some("utf8mb4"));
        assert_eq!(d.columns[0].column_type, "int unsigned");
        assert_eq!((d.columns[1].data_type.as_str(), d.columns[1].char_max_len), ("varchar", Some(20)));
        assert_eq!(d.columns[1].charset.as_deref(), Some("utf8mb4"));
        assert_eq!(d.columns[2].column_type, "enum('a','b''c')");
        assert_eq!(d.columns[2].charset.as_deref(), Some("latin1"));
        assert_eq!((d.columns[3].numeric_precision, d.columns[3].numeric_scale), (Some(12), Some(3)));
        assert_eq!(d.columns[4].datetime_precision, Some(6));
        assert!(d.columns[5].json);
        assert_eq!((d.columns[6].data_type.as_str(), d.columns[6].octet_len), ("varbinary", Some(16)));
        assert_eq!(d.columns[7].data_type, "binary", "CHAR ... CHARACTER SET binary is BINARY");
    }

    #[test]
    fn alter_follows_renames_reorders_labels_adds_and_drops() {
        let (tables, changes) = run(&[
            "CREATE TABLE t (id int PRIMARY KEY, a int, b int, c enum('x','y'))",
            "ALTER TABLE t RENAME COLUMN a TO a2",
            "ALTER TABLE t CHANGE COLUMN b b INT AFTER id",
            "ALTER TABLE t MODIFY c enum('x','y','z') NOT NULL, ALGORITHM=INPLACE, LOCK=NONE",
            "ALTER TABLE t ADD COLUMN IF NOT EXISTS d varchar(5) FIRST, ADD e int, DROP COLUMN IF EXISTS nope",
            "ALTER ONLINE TABLE t DROP COLUMN e, ENGINE=InnoDB",
            "alter table t change id id2 bigint unsigned not null",
            "ALTER TABLE t ADD INDEX i (b), RENAME INDEX i TO j, ALTER COLUMN b SET DEFAULT 3, FORCE",
        ]);
        let d = &tables[&t("t")];
        assert_eq!(names(d), ["d", "id2", "b", "a2", "c"]);
        assert_eq!(d.primary_key, ["id2"]);
        assert_eq!(d.columns[1].column_type, "bigint unsigned");
        assert_eq!(d.columns[4].column_type, "enum('x','y','z')");
        assert!(!changes.iter().any(|c| matches!(c, Change::Unparsed(..))), "{changes:?}");
    }

    #[test]
    fn rename_like_drop_and_select() {
        let (tables, changes) = run(&[
            "CREATE TABLE a (id int, v text, PRIMARY KEY (id))",
            "CREATE TABLE b LIKE a",
            "RENAME TABLE a TO a_old, b TO a",
            "ALTER TABLE a_old RENAME TO shop.archive",
            "CREATE TABLE c AS SELECT * FROM a",
            "CREATE TABLE IF NOT EXISTS a (x int)",
            "DROP TABLE IF EXISTS archive, `c`",
        ]);
        let mut keys: Vec<_> = tables.keys().map(|k| k.table.as_str()).collect();
        keys.sort();
        assert_eq!(keys, ["a"]);
        assert_eq!(names(&tables[&t("a")]), ["id", "v"], "IF NOT EXISTS keeps the existing table");
        assert!(changes.contains(&Change::Unknown(t("c"))));
        assert!(changes.contains(&Change::Dropped(t("a_old"))));
    }

    #[test]
    fn charsets_and_conversions() {
        let (tables, _) = run(&[
            "CREATE TABLE t (id int, n nchar(3), v varchar(3)) DEFAULT CHARACTER SET = latin1",
            "ALTER TABLE t ADD w text",
            "ALTER TABLE t CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
            "ALTER TABLE t DEFAULT CHARSET = latin2, ADD x char(2)",
        ]);
        let d = &tables[&t("t")];
        assert_eq!(d.columns[1].charset.as_deref(), Some("utf8mb4"));
        assert_eq!(d.columns[3].charset.as_deref(), Some("utf8mb4"));
        assert_eq!(d.columns[4].charset, None, "a column added later takes the table's charset then");
        assert_eq!(d.charset.as_deref(), Some("latin2"));
        assert_eq!(d.columns[0].charset, None);
    }

    #[test]
    fn what_cannot_be_followed_is_unparsed_quoting_it() {
        let mut base = HashMap::new();
        base.insert(
            t("t"),
            TableDefinition {
                columns: vec![ColumnDefinition::new("id", "int", "int")],
                primary_key: vec![],
                charset: None,
            },
        );
        let changes = apply("ALTER TABLE t FROBNICATE COLUMN id", "shop", &mut |n| base.get(n).cloned());
        assert!(
            matches!(&changes[..], [Change::Unparsed(n, reason)] if *n == t("t") && reason.contains("FROBNICATE"))
        );
        let changes = apply("ALTER TABLE t DROP COLUMN nope", "shop", &mut |n| base.get(n).cloned());
        assert!(matches!(&changes[..], [Change::Unparsed(_, reason)] if reason.contains("nope")));
        let changes = apply("ALTER TABLE t ADD z geography", "shop", &mut |n| base.get(n).cloned());
        assert!(matches!(&changes[..], [Change::Unparsed(_, reason)] if reason.contains("GEOGRAPHY")));
        // A table Ferry knows nothing of: the server's definition is all there is.
        let changes = apply("ALTER TABLE other ADD z int", "shop", &mut |n| base.get(n).cloned());
        assert_eq!(changes, [Change::Unknown(t("other"))]);
        // Not table DDL.
        assert!(apply("CREATE INDEX i ON t (id)", "shop", &mut |n| base.get(n).cloned()).is_empty());
        assert!(apply("TRUNCATE TABLE t", "shop", &mut |n| base.get(n).cloned()).is_empty());
    }
}
