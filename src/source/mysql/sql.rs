//! Statement classification for QUERY events: which tables a DDL statement redefines, which
//! tables a data-changing statement logged as a statement (not as rows) writes. Just enough of
//! a SQL tokenizer for statement heads: keywords, identifiers, quotes and comments.

use crate::model::{DdlKind, TableName};

/// The tables a statement changes the definition of.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ddl {
    /// Not DDL (or DDL that changes no table: users, grants, views, routines).
    None,
    Tables(Vec<TableName>),
    /// DROP/ALTER DATABASE: every table of it.
    Database(String),
    /// DDL we cannot attribute to tables: forget every schema.
    Unknown,
}

/// What kind of DDL a statement is (for the DDL records downstream).
pub(crate) fn ddl_kind(query: &str) -> DdlKind {
    let mut t = Tokens::new(query);
    let first = t.keyword().unwrap_or_default();
    let object = object_kind(&mut t);
    match (first.as_str(), object.as_str()) {
        ("CREATE", "TABLE") => DdlKind::CreateTable,
        ("ALTER", "TABLE") => DdlKind::AlterTable,
        ("DROP", "TABLE") => DdlKind::DropTable,
        ("RENAME", _) => DdlKind::RenameTable,
        ("TRUNCATE", _) => DdlKind::TruncateTable,
        ("CREATE", "INDEX" | "KEY") => DdlKind::CreateIndex,
        ("DROP", "INDEX" | "KEY") => DdlKind::DropIndex,
        _ => DdlKind::Other,
    }
}

/// After `CREATE`/`ALTER`/`DROP`: skips the modifiers and returns the object kind (`TABLE`,
/// `INDEX`, `DATABASE` ...; empty when the statement ends first).
fn object_kind(t: &mut Tokens) -> String {
    while let Some(k) = t.keyword() {
        match k.as_str() {
            "OR" | "REPLACE" | "TEMPORARY" | "ONLINE" | "OFFLINE" | "IGNORE" | "UNIQUE" | "FULLTEXT"
            | "SPATIAL" => continue,
            "DEFINER" => t.skip_user(),
            _ => return k,
        }
    }
    String::new()
}

/// Classifies a QUERY event's statement. `default_db` is the event's current database.
pub(crate) fn parse_ddl(query: &str, default_db: &str) -> Ddl {
    let mut t = Tokens::new(query);
    let Some(first) = t.keyword() else {
        return Ddl::None;
    };
    let name = |t: &mut Tokens| t.table_name(default_db);
    match first.as_str() {
        "CREATE" | "ALTER" | "DROP" => {
            let kind = object_kind(&mut t);
            match kind.as_str() {
                "TABLE" => {
                    t.skip_if_exists();
                    let mut out = Vec::new();
                    while let Some(n) = name(&mut t) {
                        out.push(n);
                        // DROP TABLE a, b
                        if first == "DROP" && t.eat(',') {
                            continue;
                        }
                        break;
                    }
                    if out.is_empty() {
                        Ddl::Unknown
                    } else {
                        Ddl::Tables(out)
                    }
                }
                "INDEX" | "KEY" => {
                    t.skip_if_exists();
                    let _index = t.ident();
                    while let Some(k) = t.keyword() {
                        if k == "ON" {
                            return name(&mut t).map_or(Ddl::Unknown, |n| Ddl::Tables(vec![n]));
                        }
                    }
                    Ddl::Unknown
                }
                "DATABASE" | "SCHEMA" if first == "CREATE" => Ddl::None,
                "DATABASE" | "SCHEMA" => {
                    t.skip_if_exists();
                    match t.ident() {
                        Some(db) => Ddl::Database(db),
                        None => Ddl::Database(default_db.to_string()),
                    }
                }
                "USER" | "ROLE" | "VIEW" | "TRIGGER" | "PROCEDURE" | "FUNCTION" | "EVENT" | "SERVER"
                | "ALGORITHM" | "SQL" | "AGGREGATE" | "LOGFILE" | "TABLESPACE" | "RESOURCE"
                | "SPATIAL_REF_SYS" => Ddl::None,
                "SEQUENCE" => Ddl::None,
                _ => Ddl::Unknown,
            }
        }
        "RENAME" => {
            if t.keyword().as_deref() != Some("TABLE") {
                return Ddl::None; // RENAME USER
            }
            // RENAME TABLE a TO b [, c TO d ...]
            let mut out = Vec::new();
            while let Some(a) = name(&mut t) {
                out.push(a);
                if t.keyword().as_deref() != Some("TO") {
                    break;
                }
                let Some(b) = name(&mut t) else { break };
                out.push(b);
                if !t.eat(',') {
                    break;
                }
            }
            if out.is_empty() {
                Ddl::Unknown
            } else {
                Ddl::Tables(out)
            }
        }
        "TRUNCATE" => {
            let mut probe = t.clone();
            if probe.keyword().as_deref() == Some("TABLE") {
                t = probe;
            }
            name(&mut t).map_or(Ddl::Unknown, |n| Ddl::Tables(vec![n]))
        }
        _ => Ddl::None,
    }
}

/// `s` cut at its top-level commas (not inside parentheses, quotes or comments), trimmed.
pub(crate) fn split_top_level(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut quoting = Quoting::default();
    let mut comment = false;
    let mut start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let closes_comment = c == '*' && chars.peek().map(|&(_, n)| n) == Some('/');
        if comment {
            if closes_comment {
                chars.next();
                comment = false;
            }
            continue;
        }
        if quoting.inside(c) {
            continue;
        }
        match c {
            '/' if chars.peek().map(|&(_, n)| n) == Some('*') => {
                chars.next();
                comment = true;
            }
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s[start..].trim());
    out.retain(|p| !p.is_empty());
    out
}

/// Where a scan over statement text is with respect to quoted strings and identifiers.
#[derive(Default)]
struct Quoting {
    quote: Option<char>,
    escaped: bool,
}

impl Quoting {
    /// Whether `c` (the next character) is part of a quoted string or identifier, delimiters
    /// included.
    fn inside(&mut self, c: char) -> bool {
        if let Some(q) = self.quote {
            if self.escaped {
                self.escaped = false;
            } else if c == '\\' && q != '`' {
                self.escaped = true;
            } else if c == q {
                self.quote = None;
            }
            return true;
        }
        if matches!(c, '\'' | '"' | '`') {
            self.quote = Some(c);
            return true;
        }
        false
    }
}

/// One token of any kind, for scanning past what the statement heads do not name.
#[derive(Debug, PartialEq)]
pub(crate) enum Token {
    /// A bare word, uppercased.
    Word(String),
    /// A backquoted identifier.
    Quoted(String),
    /// A string or number literal (its text is not kept).
    Literal,
    Punct(char),
}

/// The tokenizer: a cursor over the statement text.
#[derive(Clone)]
pub(crate) struct Tokens<'a> {
    s: &'a str,
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Self { s }
    }

    fn skip_space(&mut self) {
        loop {
            let t = self.s.trim_start();
            if let Some(rest) = t.strip_prefix("/*") {
                // MariaDB's executable comments `/*!50100 ... */` hold real SQL: read inside.
                if let Some(body) = rest.strip_prefix('!').or_else(|| rest.strip_prefix("M!")) {
                    let digits = body.bytes().take_while(u8::is_ascii_digit).count();
                    self.s = &body[digits..];
                    continue;
                }
                self.s = rest.find("*/").map_or("", |p| &rest[p + 2..]);
            } else if let Some(rest) = t.strip_prefix("*/") {
                self.s = rest;
            } else if t.starts_with("-- ") || t.starts_with('#') {
                self.s = t.find('\n').map_or("", |p| &t[p + 1..]);
            } else {
                self.s = t;
                return;
            }
        }
    }

    /// The next bare word, uppercased (`None` at a quote, punctuation or the end).
    pub(crate) fn keyword(&mut self) -> Option<String> {
        self.skip_space();
        self.word().map(str::to_ascii_uppercase)
    }

    /// A bare word at the cursor (letters, digits, `_`, `$`).
    fn word(&mut self) -> Option<&'a str> {
        let end =
            self.s.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')).unwrap_or(self.s.len());
        if end == 0 {
            return None;
        }
        let (w, rest) = self.s.split_at(end);
        self.s = rest;
        Some(w)
    }

    pub(crate) fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        match self.s.strip_prefix(c) {
            Some(rest) => {
                self.s = rest;
                true
            }
            None => false,
        }
    }

    /// `= user@host` after DEFINER, in any quoting (`CURRENT_USER` too).
    fn skip_user(&mut self) {
        self.eat('=');
        self.user_part();
        if self.eat('@') {
            self.user_part();
        }
        if self.eat('(') {
            self.eat(')');
        }
    }

    fn user_part(&mut self) {
        self.skip_space();
        match self.s.chars().next() {
            Some(q @ ('\'' | '"')) => {
                let rest = &self.s[1..];
                self.s = rest.find(q).map_or("", |p| &rest[p + 1..]);
            }
            _ => {
                self.ident();
            }
        }
    }

    pub(crate) fn skip_if_exists(&mut self) {
        let mut probe = self.clone();
        if probe.keyword().as_deref() == Some("IF") {
            let mut not = probe.clone();
            if not.keyword().as_deref() == Some("NOT") {
                probe = not;
            }
            if probe.keyword().as_deref() == Some("EXISTS") {
                *self = probe;
            }
        }
    }

    /// An identifier, bare or in backquotes.
    pub(crate) fn ident(&mut self) -> Option<String> {
        self.skip_space();
        if let Some(rest) = self.s.strip_prefix('`') {
            let mut out = String::new();
            let mut it = rest.char_indices();
            while let Some((i, c)) = it.next() {
                if c == '`' {
                    if rest[i + 1..].starts_with('`') {
                        out.push('`');
                        it.next();
                    } else {
                        self.s = &rest[i + 1..];
                        return Some(out);
                    }
                } else {
                    out.push(c);
                }
            }
            None
        } else {
            self.word().map(str::to_string)
        }
    }

    /// `db.table`, `table`, with or without backquotes.
    pub(crate) fn table_name(&mut self, default_db: &str) -> Option<TableName> {
        let a = self.ident()?;
        if self.s.starts_with('.') {
            self.s = &self.s[1..];
            let b = self.ident()?;
            Some(TableName::new(a, b))
        } else {
            Some(TableName::new(default_db, a))
        }
    }

    /// Whether an identifier (bare or backquoted) comes next.
    pub(crate) fn at_ident(&mut self) -> bool {
        self.skip_space();
        self.s.starts_with('`') || self.s.starts_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$')
    }

    /// After an opening parenthesis (not consumed yet): the text up to its matching closing
    /// one, which is consumed; `None` when no parenthesis comes next or it is never closed.
    pub(crate) fn parenthesized(&mut self) -> Option<&'a str> {
        self.skip_space();
        let body = self.s.strip_prefix('(')?;
        self.s = body;
        self.parenthesized_rest()
    }

    /// Inside parentheses (the opening one consumed): the text up to the matching closing one,
    /// which is consumed; `None` (and the cursor at the end) when it is never closed.
    pub(crate) fn parenthesized_rest(&mut self) -> Option<&'a str> {
        let body = self.s;
        let mut depth = 0usize;
        let mut quoting = Quoting::default();
        for (i, c) in body.char_indices() {
            if quoting.inside(c) {
                continue;
            }
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    self.s = &body[i + 1..];
                    return Some(&body[..i]);
                }
                ')' => depth -= 1,
                _ => {}
            }
        }
        self.s = "";
        None
    }

    /// Where the cursor is in `whole`, the text it was made from (spaces not skipped).
    pub(crate) fn offset_in(&self, whole: &str) -> usize {
        whole.len() - self.s.len()
    }

    /// What is left of the statement.
    pub(crate) fn rest(&mut self) -> &'a str {
        self.skip_space();
        self.s
    }

    /// Whether the statement has nothing more (comments and spaces aside).
    pub(crate) fn at_end(&mut self) -> bool {
        self.skip_space();
        self.s.is_empty() || self.s == ";"
    }

    /// Consumes the next token, whatever it is; `None` at the end.
    pub(crate) fn token(&mut self) -> Option<Token> {
        self.skip_space();
        let c = self.s.chars().next()?;
        if c == '`' {
            return match self.ident() {
                Some(name) => Some(Token::Quoted(name)),
                None => {
                    self.s = "";
                    None
                }
            };
        }
        if c == '\'' || c == '"' {
            let rest = &self.s[1..];
            let mut escaped = false;
            let end = rest.char_indices().find(|&(_, ch)| {
                let closes = ch == c && !escaped;
                escaped = ch == '\\' && !escaped;
                closes
            });
            self.s = end.map_or("", |(i, _)| &rest[i + 1..]);
            return Some(Token::Literal);
        }
        if let Some(w) = self.keyword() {
            return Some(if w.starts_with(|c: char| c.is_ascii_digit()) {
                Token::Literal
            } else {
                Token::Word(w)
            });
        }
        self.s = &self.s[c.len_utf8()..];
        Some(Token::Punct(c))
    }
}

/// The tables a data-changing statement (INSERT, REPLACE, UPDATE, DELETE, LOAD DATA) may write:
/// `None` for any other statement. Multi-table forms name every table they join (a superset of
/// what they write), so a caller checking synced tables errs on the side of stopping.
pub(crate) fn dml_tables(query: &str, default_db: &str) -> Option<Vec<TableName>> {
    let mut t = Tokens::new(query);
    let first = t.keyword()?;
    let mut out = Vec::new();
    match first.as_str() {
        "INSERT" | "REPLACE" => {
            while let Some(k) = t.clone().keyword() {
                if !matches!(k.as_str(), "LOW_PRIORITY" | "DELAYED" | "HIGH_PRIORITY" | "IGNORE" | "INTO") {
                    break;
                }
                t.keyword();
            }
            out.extend(t.table_name(default_db));
        }
        "UPDATE" | "DELETE" => {
            // Table references follow UPDATE, FROM, USING, JOIN and the commas between them.
            let stop: &[&str] =
                if first == "UPDATE" { &["SET"] } else { &["WHERE", "ORDER", "LIMIT", "RETURNING"] };
            let mut expect_table = first == "UPDATE";
            loop {
                if expect_table {
                    let mut probe = t.clone();
                    if let Some("LOW_PRIORITY" | "QUICK" | "IGNORE") = probe.keyword().as_deref() {
                        t = probe;
                        continue;
                    }
                    if t.at_ident() {
                        out.extend(t.table_name(default_db));
                    }
                    expect_table = false;
                    continue;
                }
                match t.token() {
                    None => break,
                    Some(Token::Word(w)) if stop.contains(&w.as_str()) => break,
                    Some(Token::Word(w)) => expect_table = matches!(w.as_str(), "FROM" | "USING" | "JOIN"),
                    Some(Token::Punct(',')) => expect_table = !out.is_empty(),
                    Some(_) => {}
                }
            }
        }
        "LOAD" => {
            while let Some(tok) = t.token() {
                if matches!(tok, Token::Word(ref w) if w == "TABLE") {
                    out.extend(t.table_name(default_db));
                    break;
                }
            }
        }
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(q: &str) -> Ddl {
        parse_ddl(q, "shop")
    }

    fn t(db: &str, table: &str) -> TableName {
        TableName::new(db, table)
    }

    #[test]
    fn ddl_names_its_tables() {
        assert_eq!(tables("ALTER TABLE orders ADD x INT"), Ddl::Tables(vec![t("shop", "orders")]));
        assert_eq!(
            tables("alter online ignore table `s`.`o``x` add y int"),
            Ddl::Tables(vec![t("s", "o`x")])
        );
        assert_eq!(tables("CREATE TABLE IF NOT EXISTS a.b (id int)"), Ddl::Tables(vec![t("a", "b")]));
        assert_eq!(tables("CREATE OR REPLACE TEMPORARY TABLE x (id int)"), Ddl::Tables(vec![t("shop", "x")]));
        assert_eq!(
            tables("DROP TABLE IF EXISTS `a`,b.c /* generated by server */"),
            Ddl::Tables(vec![t("shop", "a"), t("b", "c")])
        );
        assert_eq!(
            tables("RENAME TABLE a TO b, x.c TO x.d"),
            Ddl::Tables(vec![t("shop", "a"), t("shop", "b"), t("x", "c"), t("x", "d")])
        );
        assert_eq!(tables("TRUNCATE TABLE a"), Ddl::Tables(vec![t("shop", "a")]));
        assert_eq!(tables("truncate a"), Ddl::Tables(vec![t("shop", "a")]));
        assert_eq!(tables("CREATE UNIQUE INDEX i ON o (x)"), Ddl::Tables(vec![t("shop", "o")]));
        assert_eq!(tables("DROP INDEX i ON s.o"), Ddl::Tables(vec![t("s", "o")]));
        assert_eq!(tables("/* c */ ALTER TABLE a ADD b INT"), Ddl::Tables(vec![t("shop", "a")]));
    }

    #[test]
    fn other_statements() {
        assert_eq!(tables("CREATE USER x"), Ddl::None);
        assert_eq!(tables("GRANT SELECT ON *.* TO x"), Ddl::None);
        assert_eq!(tables("CREATE DATABASE d"), Ddl::None);
        assert_eq!(tables("DROP DATABASE IF EXISTS `d`"), Ddl::Database("d".into()));
        assert_eq!(tables("ALTER DATABASE d CHARACTER SET utf8mb4"), Ddl::Database("d".into()));
        assert_eq!(tables("ALTER SERVER s OPTIONS (HOST 'h')"), Ddl::None);
        assert_eq!(tables("DROP FROBNICATOR x"), Ddl::Unknown);
        assert_eq!(
            tables("CREATE DEFINER=`root`@`localhost` TRIGGER t BEFORE INSERT ON a FOR EACH ROW SET @x = 1"),
            Ddl::None
        );
        assert_eq!(tables("CREATE VIEW v AS SELECT 1"), Ddl::None);
        assert_eq!(tables("FLUSH PRIVILEGES"), Ddl::None);
    }

    fn writes(q: &str) -> Option<Vec<TableName>> {
        dml_tables(q, "shop")
    }

    #[test]
    fn dml_names_the_tables_it_may_write() {
        assert_eq!(writes("insert into t values (1)"), Some(vec![t("shop", "t")]));
        assert_eq!(
            writes("INSERT LOW_PRIORITY IGNORE INTO `a`.`b` (x) VALUES ('FROM c')"),
            Some(vec![t("a", "b")])
        );
        assert_eq!(writes("REPLACE x.y SELECT * FROM z"), Some(vec![t("x", "y")]));
        assert_eq!(writes("UPDATE t SET v = 'JOIN u' WHERE id = 1"), Some(vec![t("shop", "t")]));
        assert_eq!(
            writes("update ignore a x JOIN b.c y ON x.id = y.id, d SET x.v = 1"),
            Some(vec![t("shop", "a"), t("b", "c"), t("shop", "d")])
        );
        assert_eq!(writes("DELETE QUICK FROM t WHERE id IN (1, 2)"), Some(vec![t("shop", "t")]));
        assert_eq!(
            writes("DELETE a1, a2 FROM t1 AS a1 INNER JOIN t2 AS a2 WHERE a1.id = a2.id"),
            Some(vec![t("shop", "t1"), t("shop", "t2")])
        );
        assert_eq!(writes("DELETE FROM a1 USING t1 AS a1"), Some(vec![t("shop", "a1"), t("shop", "t1")]));
        assert_eq!(
            writes("LOAD DATA LOCAL INFILE '/tmp/TABLE x' INTO TABLE s.t FIELDS TERMINATED BY ','"),
            Some(vec![t("s", "t")])
        );
        assert_eq!(writes("/* c */ insert into t values (1)"), Some(vec![t("shop", "t")]));
        assert_eq!(writes("ALTER TABLE t ADD x INT"), None);
        assert_eq!(writes("SELECT 1"), None);
    }
}
