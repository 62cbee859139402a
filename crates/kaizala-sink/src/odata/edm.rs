//! The entity data model of the feed: each entity set's Edm types and
//! key, and the CSDL XML document `$metadata` serves.

use std::fmt::Write as _;

use super::Model;
use crate::export::ColumnType;

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

/// The CSDL (OData v4 XML) of `model`: one `EntityType` per entity set,
/// with its `Key` ([`EntitySet::key`](super::EntitySet::key)) and a `Property` per column typed
/// by [`edm_type`] (the key's not nullable), and an `EntityContainer`
/// named `Container` with one `EntitySet` per entity set.
pub fn metadata_xml(model: &Model) -> String {
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
    for set in model.sets() {
        let key = set.key();
        let _ = writeln!(xml, r#"<EntityType Name="{}">"#, set.name());
        xml.push_str("<Key>");
        for name in key {
            let _ = write!(xml, r#"<PropertyRef Name="{name}"/>"#);
        }
        xml.push_str("</Key>\n");
        for (name, ty) in set.properties() {
            let nullable = if key.contains(name) {
                r#" Nullable="false""#
            } else {
                ""
            };
            let _ = writeln!(
                xml,
                r#"<Property Name="{name}" Type="{}"{nullable}/>"#,
                edm_type(*ty)
            );
        }
        xml.push_str("</EntityType>\n");
    }
    xml.push_str("<EntityContainer Name=\"Container\">\n");
    for set in model.sets() {
        let name = set.name();
        let _ = writeln!(
            xml,
            r#"<EntitySet Name="{name}" EntityType="{NAMESPACE}.{name}"/>"#
        );
    }
    xml.push_str("</EntityContainer>\n</Schema>\n</edmx:DataServices>\n</edmx:Edmx>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::super::EntitySet;
    use super::*;

    #[test]
    fn metadata_declares_every_view_typed_and_keyed() {
        let model = Model::stable();
        let xml = metadata_xml(&model);
        for set in model.sets().iter().map(EntitySet::name) {
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
