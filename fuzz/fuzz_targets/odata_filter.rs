//! The OData `$filter` parser and its translation to SQL, on any input.
//!
//! For every byte string: parsing never panics; a syntax error points
//! inside the text; a parsed filter prints as text that parses back to the
//! same expression; and made into SQL for every entity set on both
//! backends, the SQL text does not change when every string literal of the
//! filter is replaced by another: values are bound as parameters, never
//! pasted into the query.

#![no_main]

use kaizala_sink::Backend;
use kaizala_sink::odata::{EntitySet, Expr, Literal, Model, ODataError, ODataQuery, QueryOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let expr = match Expr::parse(text) {
        Ok(expr) => expr,
        Err(ODataError::Syntax { position, message }) => {
            assert!(position <= text.len(), "position {position} past the end");
            assert!(!message.is_empty(), "a syntax error without a message");
            return;
        }
        Err(other) => panic!("parsing gave a non-syntax error: {other:?}"),
    };
    let printed = expr.to_string();
    assert_eq!(
        Expr::parse(&printed).as_ref(),
        Ok(&expr),
        "{text:?} printed as {printed:?}"
    );
    let other = replace_strings(&expr).to_string();
    let model = Model::stable();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        for entity_set in model.sets() {
            let (Some(query), Some(twin)) = (
                sql(backend, entity_set, text),
                sql(backend, entity_set, &other),
            ) else {
                continue;
            };
            assert_eq!(
                query,
                twin,
                "{text:?} and {other:?} on {}",
                entity_set.name()
            );
        }
    }
});

/// The SQL texts of a filter on an entity set, if it types there.
fn sql(backend: Backend, entity_set: &EntitySet, filter: &str) -> Option<[String; 2]> {
    let options = QueryOptions {
        filter: Some(filter),
        count: Some("true"),
        ..QueryOptions::default()
    };
    let query = ODataQuery::of(backend, entity_set, &options).ok()?;
    Some([
        query.select_sql().sql().to_owned(),
        query.count_sql().sql().to_owned(),
    ])
}

/// `expr` with each string literal replaced by a different string.
fn replace_strings(expr: &Expr) -> Expr {
    let boxed = |e: &Expr| Box::new(replace_strings(e));
    match expr {
        Expr::Or(l, r) => Expr::Or(boxed(l), boxed(r)),
        Expr::And(l, r) => Expr::And(boxed(l), boxed(r)),
        Expr::Not(e) => Expr::Not(boxed(e)),
        Expr::Compare(l, op, r) => Expr::Compare(boxed(l), *op, boxed(r)),
        Expr::Call(f, l, r) => Expr::Call(*f, boxed(l), boxed(r)),
        Expr::Literal(Literal::String(s)) => Expr::Literal(Literal::String(format!("{s}~x"))),
        other => other.clone(),
    }
}
