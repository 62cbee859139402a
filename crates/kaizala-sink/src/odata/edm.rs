//! The entity data model of the feed: each entity set's Edm types and
//! key, and the CSDL XML document `$metadata` serves.

use std::fmt::Write as _;

use super::ODataQuery;
use crate::export::{ColumnType, declared};
use crate::schema::{ViewBody, views};
use crate::table::Table;

/// The namespace of the entity types in `$metadata`.
pub const NAMESPACE: &str = "Kaizala";

/// The Edm type of a column of type `ty`: `Edm.String` (text and JSON),
/// `Edm.Int64`, `Edm.Double`, `Edm.Boolean`, `Edm.DateTimeOffset`,
/// `Edm.Date` or `Edm.Binary`.
pub fn edm_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Text | ColumnType::Json => "Edm.String",
        ColumnType::Integer => "Edm.Int64",
        ColumnType::Double => "Edm.Double",
        ColumnType::Boolean => "Edm.Boolean",
        ColumnType::Timestamp => "Edm.DateTimeOffset",
        ColumnType::Date => "Edm.Date",
        ColumnType::Bytes => "Edm.Binary",
    }
}

/// The key of entity set `entity_set`: the columns a row of the view is
/// ordered by (as exported), without its times, which only order it.
/// Empty for an unknown entity set.
pub fn key(entity_set: &str) -> Vec<&'static str> {
    let Some(columns) = stable_columns(entity_set) else {
        return Vec::new();
    };
    let Ok(table) = entity_set.parse::<Table>() else {
        return Vec::new();
    };
    let types = declared(entity_set);
    table
        .order_by()
        .split(',')
        .map(str::trim)
        .filter(|name| types.of(name) != ColumnType::Timestamp)
        .filter_map(|name| columns.iter().find(|c| **c == name).copied())
        .collect()
}

/// The columns of a stable view.
fn stable_columns(entity_set: &str) -> Option<Vec<&'static str>> {
    match views::by_name(entity_set)?.body {
        ViewBody::Stable(view) => Some(view.columns.iter().map(|(name, _)| *name).collect()),
        ViewBody::Sql { .. } => None,
    }
}

/// The CSDL (OData v4 XML) of every entity set ([`ODataQuery::entity_sets`]):
/// one `EntityType` per view, with its `Key` ([`key`]) and a `Property`
/// per column typed by [`edm_type`] (the key's not nullable), and an
/// `EntityContainer` named `Container` with one `EntitySet` per view.
pub fn metadata_xml() -> String {
    let mut xml = String::from(concat!(
        r#"<?xml version="1.0" encoding="utf-8"?>"#,
        "\n",
        r#"<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">"#,
        "\n<edmx:DataServices>\n",
    ));
    let _ = writeln!(
        xml,
        r#"<Schema Namespace="{NAMESPACE}" xmlns="http://docs.oasis-open.org/odata/ns/edm">"#
    );
    for set in ODataQuery::entity_sets() {
        let types = declared(set);
        let key = key(set);
        let _ = writeln!(xml, r#"<EntityType Name="{set}">"#);
        xml.push_str("<Key>");
        for name in &key {
            let _ = write!(xml, r#"<PropertyRef Name="{name}"/>"#);
        }
        xml.push_str("</Key>\n");
        for name in stable_columns(set).unwrap_or_default() {
            let nullable = if key.contains(&name) {
                r#" Nullable="false""#
            } else {
                ""
            };
            let _ = writeln!(
                xml,
                r#"<Property Name="{name}" Type="{}"{nullable}/>"#,
                edm_type(types.of(name))
            );
        }
        xml.push_str("</EntityType>\n");
    }
    xml.push_str("<EntityContainer Name=\"Container\">\n");
    for set in ODataQuery::entity_sets() {
        let _ = writeln!(
            xml,
            r#"<EntitySet Name="{set}" EntityType="{NAMESPACE}.{set}"/>"#
        );
    }
    xml.push_str("</EntityContainer>\n</Schema>\n</edmx:DataServices>\n</edmx:Edmx>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_export_order_without_times() {
        assert_eq!(key("kz_messages"), ["event_id"]);
        assert_eq!(key("kz_answers"), ["response_id", "question_index"]);
        assert_eq!(key("kz_responses_daily"), ["day", "action_id", "group_id"]);
        assert_eq!(key("kz_attachments"), ["event_id", "item_index"]);
        assert!(key("responses_per_day").is_empty());
        for set in ODataQuery::entity_sets() {
            assert!(!key(set).is_empty(), "{set}");
        }
    }

    #[test]
    fn metadata_declares_every_view_typed_and_keyed() {
        let xml = metadata_xml();
        for set in ODataQuery::entity_sets() {
            assert!(
                xml.contains(&format!(r#"<EntityType Name="{set}">"#)),
                "{set}"
            );
            assert!(
                xml.contains(&format!(
                    r#"<EntitySet Name="{set}" EntityType="Kaizala.{set}"/>"#
                )),
                "{set}"
            );
        }
        assert!(xml.contains(
            r#"<EntityType Name="kz_messages">
<Key><PropertyRef Name="event_id"/></Key>
<Property Name="event_id" Type="Edm.String" Nullable="false"/>"#
        ));
        assert!(xml.contains(r#"<Property Name="sent_at" Type="Edm.DateTimeOffset"/>"#));
        assert!(xml.contains(r#"<Property Name="is_anonymous" Type="Edm.Boolean"/>"#));
        assert!(xml.contains(r#"<Property Name="number_value" Type="Edm.Double"/>"#));
        assert!(xml.contains(r#"<Property Name="day" Type="Edm.Date" Nullable="false"/>"#));
        assert!(xml.contains(r#"<Property Name="likes" Type="Edm.Int64"/>"#));
        assert_eq!(
            xml.matches("<EntityType ").count(),
            xml.matches("</EntityType>").count()
        );
    }
}
