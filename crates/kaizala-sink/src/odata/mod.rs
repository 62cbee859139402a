//! The OData v4 query layer of the feed over the stable `kz_*` views and
//! the survey pivot views:
//! `$filter` parsed into an [`Expr`] ([`filter`]), and a query
//! ([`ODataQuery`]) of an entity set (a view) with `$select`, `$filter`,
//! `$orderby`, `$top`, `$skip` and `$count` made into **parameterised**
//! SQL for a [`Backend`]: every literal of the filter is a bound
//! parameter, never text in the SQL, and column names come only from the
//! entity set's declaration; the entity sets ([`Model`]: the stable
//! views and the survey pivot views, [`Sink::odata_model`]); and the
//! entity data model, `$metadata`'s CSDL ([`edm`]). No HTTP here:
//! `kaizala serve` puts it on the wire.
//!
//! ```
//! use kaizala_sink::Backend;
//! use kaizala_sink::odata::{ODataQuery, QueryOptions};
//! // Run them with `select.query().fetch_all(sink.pool())`.
//!
//! let options = QueryOptions {
//!     filter: Some("sender_name eq 'Asha' and (contains(text,'50%') or sent_at ge 2026-03-10T20:00:00Z)"),
//!     orderby: Some("sent_at desc"),
//!     top: Some("10"),
//!     ..QueryOptions::default()
//! };
//! let query = ODataQuery::new(Backend::Sqlite, "kz_messages", &options)?;
//! let select = query.select_sql();
//! assert!(select.sql().starts_with(r#"SELECT "event_id", "group_id", "#));
//! assert!(select.sql().contains(r#"WHERE (("sender_name" = $1) AND (("text" LIKE $2 ESCAPE '\')"#));
//! assert!(!select.sql().contains("Asha"));
//! assert_eq!(select.parameters(), 4); // 'Asha', '%50\%%', the instant, the limit
//! assert_eq!(query.count_sql().parameters(), 3); // no limit
//!
//! // A malformed filter, or an unknown column: an error for a 400.
//! let bad = QueryOptions { filter: Some("(sender_name eq 'Asha'"), ..QueryOptions::default() };
//! assert_eq!(
//!     ODataQuery::new(Backend::Sqlite, "kz_messages", &bad).unwrap_err().to_string(),
//!     "expected ')', found the end at position 22"
//! );
//! # Ok::<(), kaizala_sink::odata::ODataError>(())
//! ```

pub mod edm;
pub mod filter;
mod model;
mod query;

pub use filter::{CompareOp, Expr, Function, Literal};
pub use model::{EntitySet, Model};
pub(crate) use model::{entity_set, load};
pub use query::{ODataQuery, QueryOptions, Sql};

#[cfg(doc)]
use crate::{Backend, Sink};

/// Why a query cannot be served: each is a client's mistake (an OData
/// 400), with a one-line message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ODataError {
    /// `$filter` text that does not parse: where (a byte offset, from 0)
    /// and what was wrong.
    #[error("{message} at position {position}")]
    Syntax {
        /// The byte offset in the option's text.
        position: usize,
        /// What was wrong there.
        message: String,
    },
    /// An entity set that is not one of the views.
    #[error("no entity set '{name}'")]
    UnknownEntitySet {
        /// The name asked for.
        name: String,
    },
    /// A column the entity set does not have.
    #[error("'{entity_set}' has no property '{column}'")]
    UnknownColumn {
        /// The entity set queried.
        entity_set: String,
        /// The column named.
        column: String,
    },
    /// A well-formed expression that does not type: a number column
    /// compared with a string, a function of a non-text column, ….
    #[error("{message}")]
    Type {
        /// What does not fit.
        message: String,
    },
    /// A malformed `$select`, `$orderby`, `$top`, `$skip` or `$count`.
    #[error("invalid {option}: {message}")]
    BadOption {
        /// The option (`$top`, …).
        option: &'static str,
        /// What is wrong with it.
        message: String,
    },
}
