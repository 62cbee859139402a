//! OData v4 `$filter` expressions: a lexer and a recursive-descent parser
//! into an [`Expr`], and [`Expr`]'s `Display`, which prints it back as
//! `$filter` text that parses to the same tree.
//!
//! The grammar is the subset of the URL conventions' ABNF (OData v4.01
//! Part 2, §5.1.1 and the `boolCommonExpr` rules) that the feed serves:
//!
//! ```text
//! or    = and *( "or" and )
//! and   = cmp *( "and" cmp )
//! cmp   = unary [ ( "eq" / "ne" / "gt" / "ge" / "lt" / "le" ) unary ]
//! unary = "not" unary / primary
//! primary = "(" or ")" / function "(" or "," or ")" / literal / column
//! function = "contains" / "startswith" / "endswith"
//! ```
//!
//! Precedence is the specification's (§5.1.1.15): `not` binds tighter than
//! the comparisons, which bind tighter than `and`, then `or`; so
//! `not a eq b` is `(not a) eq b`, and a negated comparison needs
//! parentheses: `not (a eq b)`. Operators and keywords are lowercase, as
//! OData 4.0 writes them. A comparison does not chain (`a eq b eq c` is an
//! error). Literals: strings in single quotes with `''` for a quote,
//! integers, decimals (`1.5`, `-2e3`), `true`, `false`, `null`,
//! DateTimeOffset (`2026-03-10T20:00:00Z`, `2026-03-10T20:00:00.250+05:30`)
//! and dates (`2026-03-10`).

use std::fmt;

use super::ODataError;

/// How deeply parentheses, `not` and function calls may nest: deeper
/// input is an error, not a stack overflow.
const MAX_DEPTH: usize = 64;

/// A parsed `$filter` expression.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Expr {
    /// `left or right`.
    Or(Box<Expr>, Box<Expr>),
    /// `left and right`.
    And(Box<Expr>, Box<Expr>),
    /// `not operand`.
    Not(Box<Expr>),
    /// `left op right`.
    Compare(Box<Expr>, CompareOp, Box<Expr>),
    /// `function(first, second)`.
    Call(Function, Box<Expr>, Box<Expr>),
    /// A property (column) by name.
    Column(String),
    /// A literal value.
    Literal(Literal),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

impl CompareOp {
    /// Every operator.
    pub const ALL: [CompareOp; 6] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    /// Its OData keyword (`eq`, …).
    pub fn keyword(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    fn from_keyword(word: &str) -> Option<CompareOp> {
        CompareOp::ALL.into_iter().find(|op| op.keyword() == word)
    }
}

/// A string function of the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// `contains(column, 'text')`
    Contains,
    /// `startswith(column, 'text')`
    StartsWith,
    /// `endswith(column, 'text')`
    EndsWith,
}

impl Function {
    /// Every function.
    pub const ALL: [Function; 3] = [Function::Contains, Function::StartsWith, Function::EndsWith];

    /// Its OData name.
    pub fn name(self) -> &'static str {
        match self {
            Function::Contains => "contains",
            Function::StartsWith => "startswith",
            Function::EndsWith => "endswith",
        }
    }
}

/// A literal of the filter.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Literal {
    /// `null`
    Null,
    /// `true` or `false`
    Boolean(bool),
    /// An integer (`Edm.Int64`).
    Integer(i64),
    /// A decimal or floating-point number, as a `f64` (`1.5`, `2e-3`).
    Decimal(f64),
    /// A string, unquoted (`'it''s'` is `it's`).
    String(String),
    /// A DateTimeOffset: an instant.
    DateTimeOffset(jiff::Timestamp),
    /// A Date: a calendar day, without a time.
    Date(jiff::civil::Date),
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("null"),
            Literal::Boolean(b) => write!(f, "{b}"),
            Literal::Integer(n) => write!(f, "{n}"),
            // Debug keeps a `.0` or an exponent: it reads back as a decimal.
            Literal::Decimal(x) => write!(f, "{x:?}"),
            Literal::String(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Literal::DateTimeOffset(t) => write!(f, "{t}"),
            Literal::Date(d) => write!(f, "{d}"),
        }
    }
}

impl Expr {
    /// Parses `$filter` text.
    pub fn parse(text: &str) -> Result<Expr, ODataError> {
        let tokens = lex(text)?;
        let mut parser = Parser {
            tokens,
            next: 0,
            depth: 0,
        };
        let expr = parser.or()?;
        let token = parser.peek();
        if token.kind != Kind::End {
            return Err(syntax(
                token.position,
                format!("expected 'and', 'or' or the end, found {}", token.kind),
            ));
        }
        Ok(expr)
    }

    /// How tightly it binds, loosest first: `or`, `and`, a comparison,
    /// `not`, then what never needs parentheses (a column, a literal, a
    /// call).
    fn precedence(&self) -> u8 {
        match self {
            Expr::Or(..) => 0,
            Expr::And(..) => 1,
            Expr::Compare(..) => 2,
            Expr::Not(_) => 3,
            Expr::Column(_) | Expr::Literal(_) | Expr::Call(..) => 4,
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the parentheses the tree needs: each one counts against the
        // parser's depth limit, so a filter that parsed must print no
        // deeper than it was written. `and` and `or` are left-associative
        // (their left operand may bind as tightly as they do, their right
        // one must bind tighter); `not` takes another `not` bare; the
        // operands of a comparison must bind tighter than it.
        let operand = |f: &mut fmt::Formatter<'_>, expr: &Expr, least: u8| {
            if expr.precedence() >= least {
                write!(f, "{expr}")
            } else {
                write!(f, "({expr})")
            }
        };
        let own = self.precedence();
        match self {
            Expr::Or(l, r) | Expr::And(l, r) => {
                let word = if matches!(self, Expr::Or(..)) {
                    "or"
                } else {
                    "and"
                };
                operand(f, l, own)?;
                write!(f, " {word} ")?;
                operand(f, r, own + 1)
            }
            Expr::Not(e) => {
                f.write_str("not ")?;
                operand(f, e, own)
            }
            Expr::Compare(l, op, r) => {
                operand(f, l, own + 1)?;
                write!(f, " {} ", op.keyword())?;
                operand(f, r, own + 1)
            }
            Expr::Call(function, a, b) => write!(f, "{}({a},{b})", function.name()),
            Expr::Column(name) => f.write_str(name),
            Expr::Literal(literal) => write!(f, "{literal}"),
        }
    }
}

fn syntax(position: usize, message: impl Into<String>) -> ODataError {
    ODataError::Syntax {
        position,
        message: message.into(),
    }
}

// ---- the lexer ----------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Word(String),
    Literal(Literal),
    Open,
    Close,
    Comma,
    End,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Word(w) => write!(f, "'{w}'"),
            Kind::Literal(l) => write!(f, "{l}"),
            Kind::Open => f.write_str("'('"),
            Kind::Close => f.write_str("')'"),
            Kind::Comma => f.write_str("','"),
            Kind::End => f.write_str("the end"),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    /// The byte offset it starts at.
    position: usize,
}

fn lex(text: &str) -> Result<Vec<Token>, ODataError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let c = bytes[i];
        let kind = match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'(' => {
                i += 1;
                Kind::Open
            }
            b')' => {
                i += 1;
                Kind::Close
            }
            b',' => {
                i += 1;
                Kind::Comma
            }
            b'\'' => {
                let mut value = String::new();
                i += 1;
                loop {
                    let Some(rest) = text.get(i..) else {
                        return Err(syntax(start, "unterminated string"));
                    };
                    let Some(quote) = rest.find('\'') else {
                        return Err(syntax(start, "unterminated string"));
                    };
                    value.push_str(&rest[..quote]);
                    i += quote + 1;
                    if bytes.get(i) == Some(&b'\'') {
                        value.push('\'');
                        i += 1;
                    } else {
                        break;
                    }
                }
                Kind::Literal(Literal::String(value))
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                Kind::Word(text[start..i].to_owned())
            }
            b'0'..=b'9' | b'-' => {
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || matches!(bytes[i], b'.' | b':' | b'+' | b'-'))
                {
                    i += 1;
                }
                Kind::Literal(number_or_time(&text[start..i], start)?)
            }
            _ => {
                let ch = text[start..].chars().next().unwrap_or('?');
                return Err(syntax(start, format!("unexpected character '{ch}'")));
            }
        };
        tokens.push(Token {
            kind,
            position: start,
        });
    }
    tokens.push(Token {
        kind: Kind::End,
        position: text.len(),
    });
    Ok(tokens)
}

/// A literal starting with a digit or `-`: a DateTimeOffset, a date, an
/// integer or a decimal.
fn number_or_time(word: &str, position: usize) -> Result<Literal, ODataError> {
    let bad = |what: &str| syntax(position, format!("invalid {what} '{word}'"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let is_date = |s: &str| {
        s.len() == 10
            && s.as_bytes()[4] == b'-'
            && s.as_bytes()[7] == b'-'
            && digits(&s[..4])
            && digits(&s[5..7])
            && digits(&s[8..])
    };
    if word.len() > 10 && word.as_bytes()[10] == b'T' && is_date(&word[..10]) {
        // The ABNF's dateTimeOffsetValue: an offset (`Z` or ±hh:mm) is required.
        let rest = &word[11..];
        let ends_with_offset = rest.ends_with('Z')
            || (rest.len() > 6 && matches!(rest.as_bytes()[rest.len() - 6], b'+' | b'-'));
        if !ends_with_offset {
            return Err(syntax(
                position,
                format!("a DateTimeOffset needs 'Z' or an offset: '{word}'"),
            ));
        }
        return word
            .parse::<jiff::Timestamp>()
            .map(Literal::DateTimeOffset)
            .map_err(|_| bad("DateTimeOffset"));
    }
    if is_date(word) {
        return word
            .parse::<jiff::civil::Date>()
            .map(Literal::Date)
            .map_err(|_| bad("date"));
    }
    let unsigned = word.strip_prefix('-').unwrap_or(word);
    if digits(unsigned) {
        return word
            .parse::<i64>()
            .map(Literal::Integer)
            .map_err(|_| bad("integer (out of range)"));
    }
    // decimalValue = [SIGN] 1*DIGIT ["." 1*DIGIT] ["e" [SIGN] 1*DIGIT]
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(e) => (&unsigned[..e], Some(&unsigned[e + 1..])),
        None => (unsigned, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => digits(int) && digits(frac),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    match word.parse::<f64>() {
        Ok(x) if mantissa_ok && exponent_ok && x.is_finite() => Ok(Literal::Decimal(x)),
        _ => Err(bad("number")),
    }
}

// ---- the parser ---------------------------------------------------------

struct Parser {
    tokens: Vec<Token>,
    next: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // The last token is always `End`, and is never consumed.
        &self.tokens[self.next.min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let token = self.peek().clone();
        if token.kind != Kind::End {
            self.next += 1;
        }
        token
    }

    fn at_word(&self, word: &str) -> bool {
        matches!(&self.peek().kind, Kind::Word(w) if w == word)
    }

    fn expect(&mut self, kind: Kind) -> Result<(), ODataError> {
        let token = self.bump();
        if token.kind == kind {
            Ok(())
        } else {
            Err(syntax(
                token.position,
                format!("expected {kind}, found {}", token.kind),
            ))
        }
    }

    fn nested<T>(
        &mut self,
        parse: impl FnOnce(&mut Parser) -> Result<T, ODataError>,
    ) -> Result<T, ODataError> {
        if self.depth >= MAX_DEPTH {
            return Err(syntax(
                self.peek().position,
                format!("nested more than {MAX_DEPTH} deep"),
            ));
        }
        self.depth += 1;
        let result = parse(self);
        self.depth -= 1;
        result
    }

    fn or(&mut self) -> Result<Expr, ODataError> {
        let mut left = self.and()?;
        while self.at_word("or") {
            self.bump();
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ODataError> {
        let mut left = self.compare()?;
        while self.at_word("and") {
            self.bump();
            let right = self.compare()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn compare(&mut self) -> Result<Expr, ODataError> {
        let left = self.unary()?;
        let op = match &self.peek().kind {
            Kind::Word(w) => CompareOp::from_keyword(w),
            _ => None,
        };
        let Some(op) = op else {
            return Ok(left);
        };
        self.bump();
        let right = self.unary()?;
        let token = self.peek();
        let chained = matches!(&token.kind, Kind::Word(w) if CompareOp::from_keyword(w).is_some());
        if chained {
            return Err(syntax(
                token.position,
                "comparisons do not chain: add parentheses",
            ));
        }
        Ok(Expr::Compare(Box::new(left), op, Box::new(right)))
    }

    fn unary(&mut self) -> Result<Expr, ODataError> {
        if self.at_word("not") {
            self.bump();
            return self.nested(|p| p.unary().map(|e| Expr::Not(Box::new(e))));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ODataError> {
        let token = self.bump();
        match token.kind {
            Kind::Open => {
                let expr = self.nested(Parser::or)?;
                self.expect(Kind::Close)?;
                Ok(expr)
            }
            Kind::Literal(literal) => Ok(Expr::Literal(literal)),
            Kind::Word(word) => match word.as_str() {
                "true" => Ok(Expr::Literal(Literal::Boolean(true))),
                "false" => Ok(Expr::Literal(Literal::Boolean(false))),
                "null" => Ok(Expr::Literal(Literal::Null)),
                "and" | "or" | "not" | "eq" | "ne" | "gt" | "ge" | "lt" | "le" => Err(syntax(
                    token.position,
                    format!("expected a value, found '{word}'"),
                )),
                _ if self.peek().kind == Kind::Open => {
                    let Some(function) = Function::ALL.into_iter().find(|f| f.name() == word)
                    else {
                        return Err(syntax(
                            token.position,
                            format!("unknown function '{word}' (contains, startswith, endswith)"),
                        ));
                    };
                    self.bump();
                    self.nested(|p| {
                        let first = p.or()?;
                        p.expect(Kind::Comma)?;
                        let second = p.or()?;
                        p.expect(Kind::Close)?;
                        Ok(Expr::Call(function, Box::new(first), Box::new(second)))
                    })
                }
                _ => Ok(Expr::Column(word)),
            },
            kind => Err(syntax(
                token.position,
                format!("expected a value, found {kind}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn col(name: &str) -> Box<Expr> {
        Box::new(Expr::Column(name.to_owned()))
    }

    fn lit(literal: Literal) -> Box<Expr> {
        Box::new(Expr::Literal(literal))
    }

    #[test]
    fn precedence_is_not_then_comparison_then_and_then_or() {
        let a = Expr::Compare(col("a"), CompareOp::Eq, lit(Literal::Integer(1)));
        let b = Expr::Compare(col("b"), CompareOp::Gt, lit(Literal::Integer(2)));
        let c = Expr::Not(col("c"));
        assert_eq!(
            Expr::parse("a eq 1 or b gt 2 and not c").unwrap(),
            Expr::Or(
                Box::new(a.clone()),
                Box::new(Expr::And(Box::new(b.clone()), Box::new(c.clone())))
            )
        );
        assert_eq!(
            Expr::parse("(a eq 1 or b gt 2) and not c").unwrap(),
            Expr::And(
                Box::new(Expr::Or(Box::new(a.clone()), Box::new(b))),
                Box::new(c)
            )
        );
        // `not` binds tighter than `eq`.
        assert_eq!(
            Expr::parse("not a eq 1").unwrap(),
            Expr::Compare(
                Box::new(Expr::Not(col("a"))),
                CompareOp::Eq,
                lit(Literal::Integer(1))
            )
        );
        assert_eq!(Expr::parse("not (a eq 1)").unwrap(), Expr::Not(Box::new(a)));
    }

    /// Found by `cargo xtask fuzz odata_filter`: a filter within the
    /// depth limit printed with parentheses it did not need, deeper than
    /// the limit, so it did not parse back.
    #[test]
    fn a_filter_prints_no_deeper_than_it_was_written() {
        let nots = format!("{}x", "not ".repeat(MAX_DEPTH));
        let ors = (0..100)
            .map(|i| format!("c{i} eq {i}"))
            .collect::<Vec<_>>()
            .join(" or ");
        let ands = format!("{} or z", ors.replace(" or ", " and "));
        let compared = format!("{} eq x", "not ".repeat(MAX_DEPTH - 1) + "y");
        // Shaped like the fuzzer's input, carriage returns and all (the
        // input itself is the seed `nested-not-printed-deeper`).
        let found = "not not\rnot not\rnot not\rnot not not\rnot not\rnot\rnot not\rnot not not\r\
                     not not not\rnot not not\rnot not\rnot\rnot not\rnot not not not\rnot not\r\
                     not not\rnot not not\rnot not\rnot\rnot not\rnot not not\rnot not not\rnot x";
        for text in [nots.as_str(), &ors, &ands, &compared, found] {
            let expr = Expr::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            let printed = expr.to_string();
            assert_eq!(
                Expr::parse(&printed),
                Ok(expr),
                "{text:?} printed as {printed:?}"
            );
        }
        assert!(
            Expr::parse(&format!("not {nots}")).is_err(),
            "the limit still holds"
        );
    }

    #[test]
    fn literals() {
        let value = |text: &str| match Expr::parse(&format!("x eq {text}")).unwrap() {
            Expr::Compare(_, _, right) => match *right {
                Expr::Literal(l) => l,
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        };
        assert_eq!(value("'it''s'"), Literal::String("it's".into()));
        assert_eq!(value("''''"), Literal::String("'".into()));
        assert_eq!(value("'é ✓'"), Literal::String("é ✓".into()));
        assert_eq!(value("-42"), Literal::Integer(-42));
        assert_eq!(value("1.5"), Literal::Decimal(1.5));
        assert_eq!(value("-2e3"), Literal::Decimal(-2000.0));
        assert_eq!(value("true"), Literal::Boolean(true));
        assert_eq!(value("null"), Literal::Null);
        let Literal::DateTimeOffset(t) = value("2026-03-10T20:00:00Z") else {
            panic!()
        };
        assert_eq!(t.as_millisecond(), 1_773_172_800_000);
        let Literal::DateTimeOffset(t) = value("2026-03-11T01:30:00.250+05:30") else {
            panic!()
        };
        assert_eq!(t.as_millisecond(), 1_773_172_800_250);
        assert_eq!(
            value("2026-03-10"),
            Literal::Date(jiff::civil::date(2026, 3, 10))
        );
    }

    #[test]
    fn errors_name_the_position() {
        let err = |text: &str| Expr::parse(text).unwrap_err().to_string();
        assert_eq!(
            err("(a eq 1 or b eq 2"),
            "expected ')', found the end at position 17"
        );
        assert_eq!(err("a eq 'x"), "unterminated string at position 5");
        assert_eq!(
            err("a eq 1 b"),
            "expected 'and', 'or' or the end, found 'b' at position 7"
        );
        assert_eq!(err("a eq"), "expected a value, found the end at position 4");
        assert_eq!(
            err("a eq 2026-13-01"),
            "invalid date '2026-13-01' at position 5"
        );
        assert_eq!(
            err("a eq 2026-03-10T20:00:00"),
            "a DateTimeOffset needs 'Z' or an offset: '2026-03-10T20:00:00' at position 5"
        );
        assert_eq!(
            err("a eq 1 eq 2"),
            "comparisons do not chain: add parentheses at position 7"
        );
        assert_eq!(err("a # 1"), "unexpected character '#' at position 2");
        assert_eq!(
            err("lower(a) eq 'x'"),
            "unknown function 'lower' (contains, startswith, endswith) at position 0"
        );
        assert!(err(&"(".repeat(10_000)).contains("nested more than"));
        assert!(err(&"not ".repeat(10_000)).contains("nested more than"));
    }

    fn arb_literal() -> impl Strategy<Value = Literal> {
        prop_oneof![
            Just(Literal::Null),
            any::<bool>().prop_map(Literal::Boolean),
            any::<i64>().prop_map(Literal::Integer),
            any::<f64>()
                .prop_filter("finite", |x| x.is_finite())
                .prop_map(Literal::Decimal),
            ".*".prop_map(Literal::String),
            (-62_000_000_000_000_i64..200_000_000_000_000).prop_map(|ms| {
                Literal::DateTimeOffset(jiff::Timestamp::from_millisecond(ms).unwrap())
            }),
            (1_i16..9999, 1_i8..=12, 1_i8..=28)
                .prop_map(|(y, m, d)| Literal::Date(jiff::civil::date(y, m, d))),
        ]
    }

    fn arb_expr() -> impl Strategy<Value = Expr> {
        let leaf = prop_oneof![
            "[a-z_][a-z0-9_]{0,8}"
                .prop_filter("not a keyword", |w| {
                    ![
                        "and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "true", "false",
                        "null",
                    ]
                    .contains(&w.as_str())
                })
                .prop_map(Expr::Column),
            arb_literal().prop_map(Expr::Literal),
        ];
        leaf.prop_recursive(6, 48, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
                inner.clone().prop_map(|a| Expr::Not(Box::new(a))),
                (inner.clone(), 0..6_usize, inner.clone()).prop_map(|(a, op, b)| {
                    Expr::Compare(Box::new(a), CompareOp::ALL[op], Box::new(b))
                }),
                (0..3_usize, inner.clone(), inner).prop_map(|(f, a, b)| Expr::Call(
                    Function::ALL[f],
                    Box::new(a),
                    Box::new(b)
                )),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_parser_never_panics(text in "\\PC{0,64}") {
            let _ = Expr::parse(&text);
        }

        #[test]
        fn the_parser_never_panics_on_filter_like_text(
            text in "[a-z0-9 ()',.:+TZ-]{0,64}"
        ) {
            let _ = Expr::parse(&text);
        }

        #[test]
        fn printed_filters_parse_back(expr in arb_expr()) {
            let text = expr.to_string();
            prop_assert_eq!(Expr::parse(&text).map_err(|e| e.to_string()), Ok(expr), "{}", text);
        }
    }
}
