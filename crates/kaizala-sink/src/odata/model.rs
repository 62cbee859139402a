//! The entity sets the feed serves: the stable views (`kz_*`), declared
//! in the schema, and the survey pivot views registered in the database
//! (`kaizala sql pivot`), whose columns are its questions.

use sqlx::{AnyConnection, Row};

use crate::db::{Backend, Db};
use crate::error::SinkError;
use crate::export::{ColumnType, declared};
use crate::schema::{ViewBody, views};
use crate::table::Table;

/// One entity set: a view, its properties (columns) with their types, and
/// its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitySet {
    name: String,
    properties: Vec<(String, ColumnType)>,
    key: Vec<String>,
}

impl EntitySet {
    /// The stable view `name` (`kz_*`) as an entity set; `None` for any
    /// other name.
    pub fn stable(name: &str) -> Option<EntitySet> {
        let ViewBody::Stable(view) = views::by_name(name)?.body else {
            return None;
        };
        let types = declared(name);
        let properties: Vec<(String, ColumnType)> = view
            .columns
            .iter()
            .map(|(column, _)| ((*column).to_owned(), types.of(column)))
            .collect();
        // The columns a row is exported in order of, without its times,
        // which only order it.
        let key = name
            .parse::<Table>()
            .map(|table| {
                table
                    .order_by()
                    .split(',')
                    .map(str::trim)
                    .filter(|column| types.of(column) != ColumnType::Timestamp)
                    .filter(|column| properties.iter().any(|(n, _)| n == column))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Some(EntitySet {
            name: name.to_owned(),
            properties,
            key,
        })
    }

    /// The entity set's (and its view's) name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its properties, in the view's column order, with their types.
    pub fn properties(&self) -> &[(String, ColumnType)] {
        &self.properties
    }

    /// The type of property `name`, if it has one.
    pub fn property(&self, name: &str) -> Option<(&str, ColumnType)> {
        self.properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(n, ty)| (n.as_str(), *ty))
    }

    /// The properties that tell its rows apart: the CSDL `Key`, and the
    /// last keys of every order, so that pages never overlap.
    pub fn key(&self) -> &[String] {
        &self.key
    }
}

/// Every entity set a feed serves: [`EntitySet::stable`]'s, then the
/// survey pivot views, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    sets: Vec<EntitySet>,
}

impl Model {
    /// The stable views only, as declared (no database needed).
    pub fn stable() -> Model {
        Model {
            sets: stable_names().filter_map(EntitySet::stable).collect(),
        }
    }

    /// The entity sets, in order.
    pub fn sets(&self) -> &[EntitySet] {
        &self.sets
    }

    /// The entity set `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<&EntitySet> {
        self.sets.iter().find(|set| set.name == name)
    }
}

/// The names of the stable views.
pub(crate) fn stable_names() -> impl Iterator<Item = &'static str> {
    views::ALL
        .into_iter()
        .filter(|view| matches!(view.body, ViewBody::Stable(_)))
        .map(|view| view.name)
}

/// The model of `db`: the stable views and every registered pivot view
/// that exists (one whose action nobody answered yet has none).
pub(crate) async fn load(db: &Db) -> Result<Model, SinkError> {
    let mut model = Model::stable();
    let mut conn = db.pool.acquire().await.map_err(|e| db.error(DOING, e))?;
    for (name, action) in crate::pivot::registered(&mut conn)
        .await
        .map_err(|e| db.error(DOING, e))?
    {
        if let Some(set) = pivot(&mut conn, db.backend, &name, &action)
            .await
            .map_err(|e| db.error(DOING, e))?
        {
            model.sets.push(set);
        }
    }
    model.sets[stable_names().count()..].sort_by(|a, b| a.name.cmp(&b.name));
    Ok(model)
}

/// The entity set `name` of `db`: a stable view, or a pivot view that
/// exists; `None` otherwise.
pub(crate) async fn entity_set(db: &Db, name: &str) -> Result<Option<EntitySet>, SinkError> {
    if let Some(set) = EntitySet::stable(name) {
        return Ok(Some(set));
    }
    let mut conn = db.pool.acquire().await.map_err(|e| db.error(DOING, e))?;
    let registered = crate::pivot::registered(&mut conn)
        .await
        .map_err(|e| db.error(DOING, e))?;
    let Some((_, action)) = registered.iter().find(|(n, _)| n == name) else {
        return Ok(None);
    };
    pivot(&mut conn, db.backend, name, action)
        .await
        .map_err(|e| db.error(DOING, e))
}

const DOING: &str = "reading the feed's entity sets";

/// Pivot view `name` of `action_id` as an entity set, its properties the
/// view's columns as the database has them (the questions of when it was
/// made), typed by the pivot's declaration; `None` when it does not exist.
async fn pivot(
    conn: &mut AnyConnection,
    backend: Backend,
    name: &str,
    action_id: &str,
) -> Result<Option<EntitySet>, sqlx::Error> {
    let existing = crate::schema::ensure::existing(conn, backend).await?;
    if existing.get(name) != Some(&true) {
        return Ok(None);
    }
    let types = crate::pivot::build(conn, backend, action_id, crate::pivot::Times::Native)
        .await?
        .map(|(_, types)| types)
        .unwrap_or_default();
    // Not from a prepared `SELECT *`: sqlx's `Any` driver cannot describe
    // a PostgreSQL `timestamptz` column.
    let sql = match backend {
        Backend::Sqlite => "SELECT name FROM pragma_table_info($1) ORDER BY cid",
        Backend::Postgres => {
            "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 \
             ORDER BY ordinal_position"
        }
    };
    let properties = sqlx::query(sql)
        .bind(name)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| {
            let column: String = row.try_get(0)?;
            let ty = types.of(&column);
            Ok((column, ty))
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(Some(EntitySet {
        name: name.to_owned(),
        properties,
        key: vec!["response_id".to_owned()],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_export_order_without_times() {
        let key = |name: &str| EntitySet::stable(name).map(|set| set.key().to_vec());
        assert_eq!(key("kz_messages").unwrap(), ["event_id"]);
        assert_eq!(
            key("kz_answers").unwrap(),
            ["response_id", "question_index"]
        );
        assert_eq!(
            key("kz_responses_daily").unwrap(),
            ["day", "action_id", "group_id"]
        );
        assert_eq!(key("kz_attachments").unwrap(), ["event_id", "item_index"]);
        assert_eq!(key("responses_per_day"), None);
        assert_eq!(key("messages"), None);
        let model = Model::stable();
        assert_eq!(model.sets().len(), 12);
        for set in model.sets() {
            assert!(!set.key().is_empty(), "{}", set.name());
            assert_eq!(model.get(set.name()), Some(set));
        }
        let messages = model.get("kz_messages").unwrap();
        assert_eq!(
            messages.property("sent_at"),
            Some(("sent_at", ColumnType::Timestamp))
        );
        assert_eq!(messages.property("nope"), None);
    }
}
