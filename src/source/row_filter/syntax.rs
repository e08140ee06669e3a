//! Row filter text into an expression: the lexer, then a recursive-descent parser of the
//! grammar the module's documentation gives, each error at the byte offset it was found.

use super::values::Number;
use super::{CmpOp, Expr, FilterError, Literal, Predicate, KEYWORDS, MAX_NESTING};

/// The expression `text` spells (not empty: the caller checks).
pub(super) fn parse(text: &str) -> Result<Expr<String, Literal>, FilterError> {
    let mut parser = Parser { tokens: lex(text), pos: 0 };
    let expr = parser.or(0)?;
    match parser.peek() {
        Tok::End => Ok(expr),
        Tok::RParen => Err(parser.error("unbalanced `)`: there is no `(` for it to close")),
        _ => Err(parser.unexpected("AND, OR or the end of the filter")),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// An unquoted identifier or keyword.
    Word(String),
    /// A backquoted identifier, unescaped.
    Quoted(String),
    /// `[-]digits[.digits]`.
    Num(String),
    /// A single-quoted string, unescaped.
    Str(String),
    LParen,
    RParen,
    Comma,
    Cmp(CmpOp),
    /// A character that starts no token.
    Other(char),
    /// A malformed token; the parser reports `reason` when it reaches it.
    Bad(String),
    End,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    tok: Tok,
    /// Byte offset in the text.
    at: usize,
}

pub(super) fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

/// Splits `text` into tokens, ending with `End`. Never fails: malformed pieces become `Bad` or
/// `Other` tokens, reported only if the parser gets that far, so the first error in reading
/// order is the one reported.
pub(super) fn lex(text: &str) -> Vec<Token> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |i: usize| chars.get(i).map_or(text.len(), |&(at, _)| at);
    let ch = |i: usize| chars.get(i).map(|&(_, c)| c);
    let digit = |i: usize| ch(i).is_some_and(|c| c.is_ascii_digit());
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(c) = ch(i) {
        let start = at(i);
        let tok = match c {
            c if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            '(' => {
                i += 1;
                Tok::LParen
            }
            ')' => {
                i += 1;
                Tok::RParen
            }
            ',' => {
                i += 1;
                Tok::Comma
            }
            '=' => {
                i += 1;
                Tok::Cmp(CmpOp::Eq)
            }
            '!' if ch(i + 1) == Some('=') => {
                i += 2;
                Tok::Cmp(CmpOp::Ne)
            }
            '<' if ch(i + 1) == Some('=') && ch(i + 2) == Some('>') => {
                i += 3;
                Tok::Bad("`<=>` is not supported: use `=` for values and IS NULL for NULL".to_string())
            }
            '<' if ch(i + 1) == Some('=') => {
                i += 2;
                Tok::Cmp(CmpOp::Le)
            }
            '<' if ch(i + 1) == Some('>') => {
                i += 2;
                Tok::Cmp(CmpOp::Ne)
            }
            '<' => {
                i += 1;
                Tok::Cmp(CmpOp::Lt)
            }
            '>' if ch(i + 1) == Some('=') => {
                i += 2;
                Tok::Cmp(CmpOp::Ge)
            }
            '>' => {
                i += 1;
                Tok::Cmp(CmpOp::Gt)
            }
            '\'' | '`' => {
                let quote = c;
                let mut value = String::new();
                i += 1;
                loop {
                    match ch(i) {
                        None => {
                            break if quote == '\'' {
                                Tok::Bad(format!(
                                    "the string starting at byte {start} has no closing quote (')"
                                ))
                            } else {
                                Tok::Bad(format!(
                                    "the column name starting at byte {start} has no closing backquote (`)"
                                ))
                            };
                        }
                        Some(q) if q == quote && ch(i + 1) == Some(quote) => {
                            value.push(quote);
                            i += 2;
                        }
                        Some(q) if q == quote => {
                            i += 1;
                            break if quote == '\'' {
                                Tok::Str(value)
                            } else if value.is_empty() {
                                Tok::Bad("an empty backquoted name (``) is not a column".to_string())
                            } else {
                                Tok::Quoted(value)
                            };
                        }
                        Some(other) => {
                            value.push(other);
                            i += 1;
                        }
                    }
                }
            }
            '"' => {
                i += 1;
                Tok::Bad(
                    "double quotes are not supported: write strings in single quotes ('text') \
                     and column names plain or in backquotes (`name`)"
                        .to_string(),
                )
            }
            c if c.is_ascii_digit()
                || (c == '.' && digit(i + 1))
                || (c == '-' && (digit(i + 1) || (ch(i + 1) == Some('.') && digit(i + 2)))) =>
            {
                if c == '-' {
                    i += 1;
                }
                while digit(i) {
                    i += 1;
                }
                if ch(i) == Some('.') {
                    i += 1;
                    while digit(i) {
                        i += 1;
                    }
                }
                if ch(i).is_some_and(|c| is_word_char(c) || c == '.') {
                    while ch(i).is_some_and(|c| is_word_char(c) || c == '.') {
                        i += 1;
                    }
                    Tok::Bad(format!(
                        "`{}` is not a number Ferry reads: write plain decimal digits such as \
                         -12.50 (no exponent, no suffix)",
                        &text[start..at(i)]
                    ))
                } else {
                    Tok::Num(text[start..at(i)].to_string())
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                while ch(i).is_some_and(is_word_char) {
                    i += 1;
                }
                Tok::Word(text[start..at(i)].to_string())
            }
            other => {
                i += 1;
                Tok::Other(other)
            }
        };
        tokens.push(Token { tok, at: start });
    }
    tokens.push(Token { tok: Tok::End, at: text.len() });
    tokens
}

// Parsing.

/// A recursive-descent parser over the grammar in the module's doc: `OR` binds loosest, then
/// `AND`, then `NOT`; a primary is `( expr )` or a column predicate.
pub(super) struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

pub(super) fn keyword(tok: &Tok, kw: &str) -> bool {
    matches!(tok, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
}

pub(super) fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Word(w) if KEYWORDS.iter().any(|k| w.eq_ignore_ascii_case(k)) => {
            format!("keyword {}", w.to_ascii_uppercase())
        }
        Tok::Word(w) => format!("`{w}`"),
        Tok::Quoted(name) => format!("column `{name}`"),
        Tok::Num(n) => format!("number {n}"),
        Tok::Str(s) => format!("string '{s}'"),
        Tok::LParen => "`(`".to_string(),
        Tok::RParen => "`)`".to_string(),
        Tok::Comma => "`,`".to_string(),
        Tok::Cmp(op) => format!("`{}`", op.symbol()),
        Tok::Other(c) => format!("{c:?}"),
        Tok::Bad(reason) => reason.clone(),
        Tok::End => "the end of the filter".to_string(),
    }
}

impl Parser {
    fn peek(&self) -> &Tok {
        self.tokens.get(self.pos).map_or(&Tok::End, |t| &t.tok)
    }

    fn at(&self) -> usize {
        self.tokens.get(self.pos).or(self.tokens.last()).map_or(0, |t| t.at)
    }

    fn bump(&mut self) -> Tok {
        let tok = self.peek().clone();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        tok
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        if keyword(self.peek(), kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn error(&self, reason: impl Into<String>) -> FilterError {
        FilterError::Syntax { at: self.at(), reason: reason.into() }
    }

    /// An error at the current token: its own reason if it is malformed, else what was
    /// expected and what was found.
    fn unexpected(&self, expected: &str) -> FilterError {
        match self.peek() {
            Tok::Bad(reason) => self.error(reason.clone()),
            found => self.error(format!("expected {expected}, found {}", describe(found))),
        }
    }

    fn nest(&self, depth: usize) -> Result<usize, FilterError> {
        if depth >= MAX_NESTING {
            Err(self.error(format!("parentheses and NOTs nest more than {MAX_NESTING} deep")))
        } else {
            Ok(depth + 1)
        }
    }

    fn or(&mut self, depth: usize) -> Result<Expr<String, Literal>, FilterError> {
        let mut items = vec![self.and(depth)?];
        while self.eat_keyword("OR") {
            items.push(self.and(depth)?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::Or(items) })
    }

    fn and(&mut self, depth: usize) -> Result<Expr<String, Literal>, FilterError> {
        let mut items = vec![self.not(depth)?];
        while self.eat_keyword("AND") {
            items.push(self.not(depth)?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::And(items) })
    }

    fn not(&mut self, depth: usize) -> Result<Expr<String, Literal>, FilterError> {
        if keyword(self.peek(), "NOT") {
            let depth = self.nest(depth)?;
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.not(depth)?)));
        }
        self.primary(depth)
    }

    fn primary(&mut self, depth: usize) -> Result<Expr<String, Literal>, FilterError> {
        let column = match self.peek() {
            Tok::LParen => {
                let open = self.at();
                let depth = self.nest(depth)?;
                self.pos += 1;
                let inner = self.or(depth)?;
                if *self.peek() != Tok::RParen {
                    return Err(self.unexpected(&format!("`)` to close the `(` at byte {open}")));
                }
                self.pos += 1;
                return Ok(inner);
            }
            Tok::Word(w) if KEYWORDS.iter().any(|k| w.eq_ignore_ascii_case(k)) => {
                return Err(self.unexpected(
                    "a column name (backquote a column named like a keyword: `in`), `(` or NOT",
                ));
            }
            Tok::Word(name) | Tok::Quoted(name) => name.clone(),
            _ => return Err(self.unexpected("a column name, `(` or NOT")),
        };
        self.pos += 1;
        let predicate = self.predicate(&column)?;
        Ok(Expr::Test { column, predicate })
    }

    fn predicate(&mut self, column: &str) -> Result<Predicate<Literal>, FilterError> {
        match self.peek().clone() {
            Tok::Cmp(op) => {
                self.pos += 1;
                Ok(Predicate::Compare(op, self.literal(&format!("`{}`", op.symbol()))?))
            }
            Tok::LParen => Err(self.error(format!(
                "function calls are not supported (`{column}(`): compare a column with a literal, \
                 e.g. status = 'active'"
            ))),
            ref tok if keyword(tok, "IS") => {
                self.pos += 1;
                let negated = self.eat_keyword("NOT");
                if self.eat_keyword("NULL") {
                    Ok(Predicate::IsNull { negated })
                } else {
                    Err(self.unexpected(if negated {
                        "NULL after IS NOT"
                    } else {
                        "NULL or NOT NULL after IS"
                    }))
                }
            }
            ref tok if keyword(tok, "NOT") => {
                self.pos += 1;
                if self.eat_keyword("IN") {
                    self.in_list(true)
                } else if self.eat_keyword("BETWEEN") {
                    self.between(true)
                } else {
                    Err(self.unexpected(&format!("IN or BETWEEN after `{column} NOT`")))
                }
            }
            ref tok if keyword(tok, "IN") => {
                self.pos += 1;
                self.in_list(false)
            }
            ref tok if keyword(tok, "BETWEEN") => {
                self.pos += 1;
                self.between(false)
            }
            _ => Err(self.unexpected(&format!(
                "=, <>, !=, <, <=, >, >=, IS [NOT] NULL, [NOT] IN or [NOT] BETWEEN after column `{column}`"
            ))),
        }
    }

    fn in_list(&mut self, negated: bool) -> Result<Predicate<Literal>, FilterError> {
        if *self.peek() != Tok::LParen {
            return Err(self.unexpected("`(` to open the IN list"));
        }
        self.pos += 1;
        let mut list = vec![self.literal("IN (")?];
        loop {
            match self.peek() {
                Tok::Comma => {
                    self.pos += 1;
                    list.push(self.literal("`,`")?);
                }
                Tok::RParen => {
                    self.pos += 1;
                    return Ok(Predicate::In { negated, list });
                }
                _ => return Err(self.unexpected("`,` or `)` in the IN list")),
            }
        }
    }

    fn between(&mut self, negated: bool) -> Result<Predicate<Literal>, FilterError> {
        let low = self.literal("BETWEEN")?;
        if !self.eat_keyword("AND") {
            return Err(self.unexpected("AND between the two bounds of BETWEEN"));
        }
        let high = self.literal("BETWEEN ... AND")?;
        Ok(Predicate::Between { negated, low, high })
    }

    /// A literal after `after` (named in the error).
    fn literal(&mut self, after: &str) -> Result<Literal, FilterError> {
        let expected = format!("a literal (a number, a 'string', TRUE or FALSE) after {after}");
        let literal = match self.peek() {
            Tok::Num(text) => match Number::parse(text) {
                Some(value) => Literal::Num { value, text: text.clone() },
                None => return Err(self.unexpected(&expected)),
            },
            Tok::Str(s) => Literal::Str(s.clone()),
            tok if keyword(tok, "TRUE") => Literal::Num { value: Number::integer(1), text: "TRUE".into() },
            tok if keyword(tok, "FALSE") => Literal::Num { value: Number::integer(0), text: "FALSE".into() },
            tok if keyword(tok, "NULL") => {
                return Err(self.error(
                    "NULL is not a value to compare with (any comparison with it is unknown): \
                     test for it with `column IS NULL` or `column IS NOT NULL`",
                ));
            }
            Tok::Word(w) if !KEYWORDS.iter().any(|k| w.eq_ignore_ascii_case(k)) => {
                return Err(self.error(format!(
                    "expected {expected}, found `{w}` (comparing with another column, a function or \
                     a subquery is not supported)"
                )));
            }
            Tok::Quoted(name) => {
                return Err(self.error(format!(
                    "expected {expected}, found column `{name}`: comparing two columns is not supported"
                )));
            }
            _ => return Err(self.unexpected(&expected)),
        };
        self.bump();
        Ok(literal)
    }
}
